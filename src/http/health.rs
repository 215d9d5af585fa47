use crate::service::Services;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

/// Liveness and the backend in use; 503 when the database does not answer.
pub async fn healthz(State(services): State<Services>) -> (StatusCode, Json<Value>) {
    let backend = services.store.backend();
    match services.store.org_count().await {
        Ok(_) => (
            StatusCode::OK,
            Json(json!({"status": "ok", "backend": backend})),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "backend": backend})),
        ),
    }
}
