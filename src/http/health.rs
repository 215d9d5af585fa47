//! Operational endpoints: health, a static baseline, metrics.

use crate::service::Services;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

/// Liveness, the backend in use, how far behind this node's credential index may be, and
/// whether it receives change notifications (`connected`, `disconnected`: polling, `none`:
/// the backend has none); 503 when the database does not answer.
pub async fn healthz(State(services): State<Services>) -> (StatusCode, Json<Value>) {
    let backend = services.store.backend();
    let lag = services.index.lag().as_secs_f64();
    let notifications = services.notifications.get().as_str();
    let (status, text) = match services.store.org_count().await {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    let body = json!({
        "status": text,
        "backend": backend,
        "invalidation_lag_seconds": lag,
        "notifications": notifications,
    });
    (status, Json(body))
}

/// A static answer through the same stack: the benchmark's baseline.
pub async fn ping() -> &'static str {
    "ok"
}

/// Prometheus metrics (OpenMetrics text).
pub async fn metrics(State(services): State<Services>) -> impl IntoResponse {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    (
        [(header::CONTENT_TYPE, content_type)],
        services.metrics.render(),
    )
}
