//! Axum extractors whose type is the route's credential requirement.

use super::{credentials, API_KEY_HEADER, APP_KEY_HEADER};
use crate::domain::api_key::ApiKey;
use crate::domain::principal::Principal;
use crate::error::Error;
use crate::service::Services;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// `name` from the query string (percent-decoded), as Datadog's v1 accepts keys.
pub fn query_param(parts: &Parts, name: &str) -> Option<String> {
    let query = parts.uri.query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A valid API key, from `DD-API-KEY` or, as the Datadog Agent sends it, `?api_key=`.
pub struct ApiKeyAuth(pub ApiKey);

impl<S> FromRequestParts<S> for ApiKeyAuth
where
    Services: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let services = Services::from_ref(state);
        let presented = match header(parts, API_KEY_HEADER) {
            Some(h) => h.to_owned(),
            None => query_param(parts, "api_key").ok_or(Error::ApiKeyRequired)?,
        };
        credentials::api_key(&services, &presented)
            .await
            .map(ApiKeyAuth)
    }
}

/// `DD-API-KEY` and `DD-APPLICATION-KEY` of one organization: every management endpoint.
pub struct KeyPairAuth(pub Principal);

impl<S> FromRequestParts<S> for KeyPairAuth
where
    Services: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let services = Services::from_ref(state);
        let (Some(api), Some(app)) = (header(parts, API_KEY_HEADER), header(parts, APP_KEY_HEADER))
        else {
            return Err(Error::Forbidden);
        };
        credentials::key_pair(&services, api, app)
            .await
            .map(KeyPairAuth)
    }
}
