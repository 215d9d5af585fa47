//! `/api/console/session`: sign in, who am I, sign out.

use crate::auth::session::{clear_cookie, set_cookie};
use crate::auth::{Caller, ClientAddr, ConsoleSession};
use crate::domain::audit::Action;
use crate::domain::principal::Principal;
use crate::domain::session::{csrf_token, Session};
use crate::domain::time;
use crate::domain::user::{Permission, User};
use crate::error::Result;
use crate::http::error::error_response;
use crate::http::extract::ApiJson;
use crate::service::sessions::{Locked, SignInError};
use crate::service::Services;
use axum::extract::State;
use axum::http::header::{RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Deserialize)]
pub struct SignIn {
    email: String,
    password: String,
}

#[derive(Serialize)]
pub(super) struct SessionBody {
    user: UserBody,
    org: OrgBody,
    csrf_token: String,
    limits: LimitsBody,
    expires_at: String,
}

#[derive(Serialize)]
struct UserBody {
    id: Uuid,
    email: String,
    name: Option<String>,
    handle: String,
    roles: Vec<&'static str>,
    permissions: Vec<&'static str>,
}

#[derive(Serialize)]
struct OrgBody {
    id: Uuid,
    name: String,
}

#[derive(Serialize)]
struct LimitsBody {
    max_api_keys_per_org: u64,
}

pub(super) async fn body(
    services: &Services,
    who: &Principal,
    session: &Session,
    token: &str,
) -> Result<Json<SessionBody>> {
    let (user, org): (User, _) = services.whoami(who).await?;
    let permissions = Permission::ALL
        .into_iter()
        .filter(|p| who.can(*p))
        .map(Permission::as_str)
        .collect();
    Ok(Json(SessionBody {
        user: UserBody {
            id: user.id,
            email: user.email,
            name: user.name,
            handle: user.handle,
            roles: user.roles.iter().map(|r| r.display_name()).collect(),
            permissions,
        },
        org: OrgBody {
            id: org.id,
            name: org.name,
        },
        csrf_token: csrf_token(token),
        limits: LimitsBody {
            max_api_keys_per_org: services.max_api_keys(),
        },
        expires_at: time::format(session.expires_at(&services.session_policy())),
    }))
}

pub async fn create(
    State(services): State<Services>,
    ClientAddr(client): ClientAddr,
    ApiJson(form): ApiJson<SignIn>,
) -> Result<Response> {
    let signed_in = match services
        .sign_in(&form.email, &form.password, Some(client))
        .await
    {
        Ok(signed_in) => signed_in,
        Err(SignInError::Locked(Locked(wait))) => return Ok(locked(wait)),
        Err(SignInError::Other(err)) => return Err(err),
    };
    let who = signed_in.principal(Some(client.to_string()));
    services
        .audit(&who, Action::SignedIn, Some(signed_in.user.id))
        .await;
    let token = signed_in.token.expose();
    let json = body(&services, &who, &signed_in.session, token).await?;
    let cookie = set_cookie(&services.session_policy(), token);
    // 201: signing in creates a session resource, as POST creates keys.
    Ok((StatusCode::CREATED, [(SET_COOKIE, cookie)], json).into_response())
}

/// 429 in Datadog's shape, with the wait in `Retry-After` and `X-RateLimit-Reset` (the
/// header Datadog's clients read) and in the message the console shows.
fn locked(wait: std::time::Duration) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let message = format!("Too many failed sign-ins; try again in {secs} s");
    let mut response = error_response(StatusCode::TOO_MANY_REQUESTS, message);
    let headers = response.headers_mut();
    headers.insert(RETRY_AFTER, HeaderValue::from(secs));
    headers.insert("x-ratelimit-reset", HeaderValue::from(secs));
    response
}

pub async fn get(
    State(services): State<Services>,
    Caller(who): Caller,
    ConsoleSession { token, session }: ConsoleSession,
) -> Result<Response> {
    Ok(body(&services, &who, &session, token.expose())
        .await?
        .into_response())
}

pub async fn delete(
    State(services): State<Services>,
    ConsoleSession { token, .. }: ConsoleSession,
) -> Result<Response> {
    services.sign_out(token.expose()).await?;
    let cookie = clear_cookie(&services.session_policy());
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, cookie)]).into_response())
}
