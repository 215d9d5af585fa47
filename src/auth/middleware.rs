//! Enforces a route's declared `Access` before its handler runs.

use super::extractors::{
    Caller, ClientAddr, ConsoleSession, Intake, ValidApiKey, ValidClientToken,
};
use super::{credentials, session, Access, API_KEY_HEADER, APP_KEY_HEADER, CLIENT_TOKEN_HEADER};
use crate::domain::access_token::looks_like_token;
use crate::domain::intake;
use crate::domain::rotation::Presenter;
use crate::domain::secret::Secret;
use crate::error::Error;
use crate::service::Services;
use axum::extract::{ConnectInfo, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

fn header(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The credential of `Authorization: Bearer <credential>`.
fn bearer(parts: &Parts) -> Option<String> {
    let value = header(parts, "authorization")?;
    let (scheme, credential) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credential.trim().to_owned())
        .filter(|c| !c.is_empty())
}

/// `name` from the query string, percent-decoded.
fn query_param(parts: &Parts, name: &str) -> Option<String> {
    let query = parts.uri.query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Who the request says it is, for the callers of a rotated key's previous secret.
fn presenter(parts: &Parts, client: Option<ClientAddr>) -> Presenter<'_> {
    let text = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    Presenter {
        source: client.map(|ClientAddr(ip)| ip),
        user_agent: text("user-agent"),
        hostname: text("x-dd-hostname").or_else(|| text("x-datadog-hostname")),
    }
}

/// The gate's own path; what follows it is the original request's (Envoy's `path_prefix`).
pub const INTAKE_PATH: &str = "/intake/authorize";

async fn check(
    services: &Services,
    access: Access,
    parts: &mut Parts,
    client: Option<ClientAddr>,
) -> Result<(), Error> {
    let from_query = matches!(access, Access::ApiKey | Access::KeyPairOrQuery);
    let presented = |parts: &Parts, header_name: &str, query_name: &str| {
        header(parts, header_name)
            .or_else(|| from_query.then(|| query_param(parts, query_name)).flatten())
    };
    match access {
        Access::Public => {}
        Access::ApiKey => {
            let key = presented(parts, API_KEY_HEADER, "api_key").ok_or(Error::ApiKeyRequired)?;
            let entry = credentials::api_key(services, &key)?;
            services.note_presented(&key, || presenter(parts, client));
            parts.extensions.insert(ValidApiKey(entry));
        }
        Access::ClientToken => {
            let token = header(parts, CLIENT_TOKEN_HEADER)
                .or_else(|| query_param(parts, "dd-api-key"))
                .ok_or(Error::Forbidden)?;
            let entry = services.validate_client_token(&token)?;
            services.note_presented(&token, || presenter(parts, client));
            parts.extensions.insert(ValidClientToken(entry));
        }
        Access::KeyPair | Access::KeyPairOrQuery => {
            let api = presented(parts, API_KEY_HEADER, "api_key");
            let app = presented(parts, APP_KEY_HEADER, "application_key");
            // A token authenticates alone: as a bearer token, or in the application-key
            // header, where any API key beside it is ignored (Datadog: "not evaluated").
            let token = bearer(parts).or_else(|| app.clone().filter(|a| looks_like_token(a)));
            if let Some(token) = token {
                let principal = credentials::access_token(services, &token)?;
                parts.extensions.insert(Caller(principal));
                return Ok(());
            }
            match (api, app) {
                (Some(api), Some(app)) => {
                    let principal = credentials::key_pair(services, &api, &app)?;
                    services.note_presented(&api, || presenter(parts, client));
                    services.note_presented(&app, || presenter(parts, client));
                    parts.extensions.insert(Caller(principal));
                }
                // Keys win over a cookie; a cookie alone is the console calling the API.
                (None, None) if access == Access::KeyPair => {
                    let policy = services.session_policy();
                    let token = session::token(parts, &policy).ok_or(Error::Forbidden)?;
                    console_session(services, parts, token).await?;
                }
                _ => return Err(Error::Forbidden),
            }
        }
        Access::Intake => {
            let own = parts.uri.path_and_query().map_or("", |pq| pq.as_str());
            let own = own.strip_prefix(INTAKE_PATH).unwrap_or(own);
            let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
            let uri = intake::original_uri(&header, own).ok_or(Error::Forbidden)?;
            let request = intake::inspect(header, uri);
            let source = client.map(|ClientAddr(ip)| ip);
            let grant = services.authorize_intake(&request, source).await?;
            if let Some(credential) = request.credential.as_deref() {
                services.note_presented(credential, || presenter(parts, client));
            }
            parts.extensions.insert(Intake(grant));
        }
        Access::Session => {
            let policy = services.session_policy();
            let token = session::token(parts, &policy)
                .ok_or_else(|| Error::Unauthorized("Not signed in".to_owned()))?;
            console_session(services, parts, token).await?;
        }
    }
    Ok(())
}

/// Authenticates a request by its session cookie, checking the CSRF token of any request
/// that can change something.
async fn console_session(
    services: &Services,
    parts: &mut Parts,
    token: String,
) -> Result<(), Error> {
    let (principal, found) = services.session_principal(&token).await?;
    if !session::csrf_ok(parts, &token) {
        return Err(Error::CsrfRejected);
    }
    parts.extensions.insert(Caller(principal));
    parts.extensions.insert(ConsoleSession {
        token: Secret::new(token),
        session: found,
    });
    Ok(())
}

/// Authenticates `request` as `access` requires: the request with what was established
/// (`Caller`, `ValidApiKey`, …) in its extensions, or the refusal to answer.
pub async fn authenticate(
    services: &Services,
    access: Access,
    request: Request,
) -> Result<Request, Response> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer);
    authenticate_from(services, access, request, peer).await
}

/// As `authenticate`, for a request from `peer` (the hot path has no `ConnectInfo` yet).
pub async fn authenticate_from(
    services: &Services,
    access: Access,
    request: Request,
    peer: Option<SocketAddr>,
) -> Result<Request, Response> {
    let (mut parts, body) = request.into_parts();
    let client = peer.map(|peer| ClientAddr(client_of(services, &parts, peer.ip())));
    if let Some(client) = client {
        parts.extensions.insert(client);
    }
    let peer = client.map(|ClientAddr(ip)| ip);
    if let Err(err) = check(services, access, &mut parts, client).await {
        if matches!(
            err,
            Error::Forbidden | Error::ApiKeyRequired | Error::Unauthorized(_)
        ) {
            // Counted per source (a bad session cookie too) for the audit trail's burst
            // record; never delayed.
            if let Some(peer) = peer {
                if services.penalty.failed(peer) {
                    // A valid API key names the organization whose admins should hear of it.
                    let org = header(&parts, API_KEY_HEADER)
                        .and_then(|key| credentials::api_key_org(services, &key));
                    services.audit_failure_burst_in(org, peer.to_string()).await;
                }
            }
        }
        return Err(err.into_response());
    }
    if let (Some(Caller(who)), Some(peer)) = (parts.extensions.get_mut::<Caller>(), peer) {
        who.source = Some(peer.to_string());
    }
    Ok(Request::from_parts(parts, body))
}

/// The client behind `peer`: a trusted proxy's `X-Forwarded-For` / `X-Real-IP`, else the peer.
fn client_of(services: &Services, parts: &Parts, peer: std::net::IpAddr) -> std::net::IpAddr {
    let trusted = &services.limits.trusted_proxies;
    if trusted.is_empty() {
        return peer;
    }
    let forwarded: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let real_ip = parts.headers.get("x-real-ip").and_then(|v| v.to_str().ok());
    trusted.client(peer, forwarded.into_iter(), real_ip)
}
