//! Datadog API v2: JSON:API resources.

pub mod api_keys;
pub mod application_keys;
pub mod client_tokens;
pub mod roles;
pub mod service_accounts;
pub mod users;

use crate::auth::Caller;
use axum::Json;
use serde_json::{json, Value};

/// `GET /api/v2/validate_keys`: the API and application key pair is valid.
pub async fn validate_keys(_: Caller) -> Json<Value> {
    Json(json!({"status": "ok"}))
}
