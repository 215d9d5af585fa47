//! The intake gate's answer to a reverse proxy: an allowed request gets the tenant headers
//! the proxy passes to the backend; a refusal is `auth::middleware`'s 403.

use crate::auth::Intake;
use crate::service::intake::IntakeGrant;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

pub const ORG: HeaderName = HeaderName::from_static("x-keyplane-org");
pub const ORG_NUM: HeaderName = HeaderName::from_static("x-keyplane-org-num");
pub const KEY_ID: HeaderName = HeaderName::from_static("x-keyplane-key-id");
pub const KEY_TYPE: HeaderName = HeaderName::from_static("x-keyplane-key-type");
/// Envoy's `ext_authz` removes the headers named here before passing the request on.
const ENVOY_REMOVE: HeaderName = HeaderName::from_static("x-envoy-auth-headers-to-remove");

/// 200 with every header on every allow: Caddy and Traefik copy what they are told to, and
/// a header missing from the answer would let the client's own value through.
pub async fn authorize(Intake(grant): Intake) -> Response {
    allowed(&grant)
}

/// The gate's answer to an allowed request (the router's and the hot path's).
pub fn allowed(grant: &IntakeGrant) -> Response {
    let uuid = |id: uuid::Uuid| {
        let mut buf = uuid::Uuid::encode_buffer();
        HeaderValue::from_str(id.hyphenated().encode_lower(&mut buf))
    };
    let (Ok(org), Ok(key)) = (uuid(grant.org_id), uuid(grant.key_id)) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    headers.reserve(5);
    headers.insert(ORG, org);
    headers.insert(ORG_NUM, HeaderValue::from(grant.org_num));
    headers.insert(KEY_ID, key);
    headers.insert(KEY_TYPE, HeaderValue::from_static(grant.kind.as_str()));
    headers.insert(
        ENVOY_REMOVE,
        HeaderValue::from_static("dd-api-key, dd-client-token"),
    );
    response
}
