//! `GET /api/v1/validate`: the Datadog Agent's hourly check of its API key.

use crate::auth::ValidApiKey;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

/// `{"valid":true}`; a static body, as this is the busiest route of all.
pub async fn validate(_key: ValidApiKey) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], r#"{"valid":true}"#)
}
