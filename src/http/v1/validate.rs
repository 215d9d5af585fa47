//! `GET /api/v1/validate`: the Datadog Agent's hourly check of its API key.

use crate::auth::ValidApiKey;
use axum::Json;
use serde_json::{json, Value};

pub async fn validate(_key: ValidApiKey) -> Json<Value> {
    Json(json!({ "valid": true }))
}
