//! Invitation links in the console. `POST /api/console/invitations` invites as
//! `POST /api/v2/user_invitations` does and also answers the link, which only this answer
//! and `keyplane admin invite` ever show. The invited user's page looks the link up and
//! accepts it, which sets their password and signs them in.

use super::session::body;
use crate::auth::session::set_cookie;
use crate::auth::{Caller, ClientAddr};
use crate::domain::invitation::link_path;
use crate::domain::time;
use crate::error::{Error, Result};
use crate::http::extract::ApiJson;
use crate::service::Services;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Deserialize)]
pub struct SendForm {
    user_id: String,
}

#[derive(Serialize)]
struct SentBody {
    id: Uuid,
    user_id: Uuid,
    invite_type: &'static str,
    expires_at: String,
    /// Relative to the console's origin: the console knows the address it is served at.
    link: String,
}

#[derive(Deserialize)]
pub struct LinkForm {
    secret: String,
}

#[derive(Deserialize)]
pub struct AcceptForm {
    secret: String,
    password: String,
}

#[derive(Serialize)]
struct LookupBody {
    email: String,
    name: Option<String>,
    org: String,
    expires_at: String,
}

pub async fn send(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiJson(form): ApiJson<SendForm>,
) -> Result<Response> {
    let id = Uuid::parse_str(&form.user_id)
        .map_err(|_| Error::invalid(format!("User {} not found", form.user_id)))?;
    let mut sent = services.send_invitations(&who, &[id]).await?;
    let sent = sent
        .pop()
        .ok_or_else(|| Error::internal("no invitation was sent"))?;
    let inv = &sent.invitation;
    let json = Json(SentBody {
        id: inv.id,
        user_id: inv.user_id,
        invite_type: inv.invite_type.as_str(),
        expires_at: time::format(inv.expires_at),
        link: link_path(&sent.secret),
    });
    Ok((StatusCode::CREATED, json).into_response())
}

pub async fn lookup(
    State(services): State<Services>,
    ApiJson(form): ApiJson<LinkForm>,
) -> Result<Response> {
    let (invitation, user) = services.pending_invitation(&form.secret).await?;
    let org = services.org_name(invitation.org_id).await?;
    Ok(Json(LookupBody {
        email: user.email,
        name: user.name,
        org,
        expires_at: time::format(invitation.expires_at),
    })
    .into_response())
}

pub async fn accept(
    State(services): State<Services>,
    ClientAddr(client): ClientAddr,
    ApiJson(form): ApiJson<AcceptForm>,
) -> Result<Response> {
    let signed_in = services
        .accept_invitation(&form.secret, &form.password, Some(client.to_string()))
        .await?;
    let who = signed_in.principal(Some(client.to_string()));
    let token = signed_in.token.expose();
    let json = body(&services, &who, &signed_in.session, token).await?;
    let cookie = set_cookie(&services.session_policy(), token);
    Ok((StatusCode::CREATED, [(SET_COOKIE, cookie)], json).into_response())
}
