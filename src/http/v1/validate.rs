//! `GET /api/v1/validate`: the Datadog Agent's hourly check of its API key; and
//! `GET /api/v1/validate_client_token`, the same for browser-intake proxies.

use crate::auth::{ValidApiKey, ValidClientToken};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

/// `{"valid":true}`; a static body, as this is the busiest route of all.
pub async fn validate(_key: ValidApiKey) -> Response {
    valid()
}

/// The answer to a valid key (the router's and the hot path's).
pub fn valid() -> Response {
    ([(CONTENT_TYPE, "application/json")], r#"{"valid":true}"#).into_response()
}

/// `{"valid":true}` for a client token (API keys and application keys are refused).
pub async fn validate_client_token(_token: ValidClientToken) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], r#"{"valid":true}"#)
}
