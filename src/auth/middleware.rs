//! Enforces a route's declared `Access` before its handler runs.

use super::extractors::{Caller, ValidApiKey};
use super::{credentials, Access, API_KEY_HEADER, APP_KEY_HEADER};
use crate::error::Error;
use crate::service::Services;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

fn header(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// `name` from the query string, percent-decoded.
fn query_param(parts: &Parts, name: &str) -> Option<String> {
    let query = parts.uri.query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

async fn check(services: &Services, access: Access, parts: &mut Parts) -> Result<(), Error> {
    let from_query = matches!(access, Access::ApiKey | Access::KeyPairOrQuery);
    let presented = |parts: &Parts, header_name: &str, query_name: &str| {
        header(parts, header_name)
            .or_else(|| from_query.then(|| query_param(parts, query_name)).flatten())
    };
    match access {
        Access::Public => {}
        Access::ApiKey => {
            let key = presented(parts, API_KEY_HEADER, "api_key").ok_or(Error::ApiKeyRequired)?;
            let key = credentials::api_key(services, &key)?;
            parts.extensions.insert(ValidApiKey(key));
        }
        Access::KeyPair | Access::KeyPairOrQuery => {
            let api = presented(parts, API_KEY_HEADER, "api_key");
            let app = presented(parts, APP_KEY_HEADER, "application_key");
            let (Some(api), Some(app)) = (api, app) else {
                return Err(Error::Forbidden);
            };
            let principal = credentials::key_pair(services, &api, &app)?;
            parts.extensions.insert(Caller(principal));
        }
    }
    Ok(())
}

pub async fn authenticate(
    State((services, access)): State<(Services, Access)>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    if let Err(err) = check(&services, access, &mut parts).await {
        return err.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}
