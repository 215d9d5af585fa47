//! Operational endpoints: health, a static baseline, metrics.

use super::error::error_response;
use crate::domain::secret::Secret;
use crate::service::Services;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Liveness, the backend in use, how far behind this node's credential index may be, how
/// far behind it may go before keys are refused (`--max-staleness`), and whether it receives
/// change notifications (`connected`, `disconnected`: polling, `none`: the backend has
/// none); 503 when the database does not answer.
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
        "max_staleness_seconds": services.limits.max_staleness.as_secs(),
        "notifications": notifications,
    });
    (status, Json(body))
}

/// A static answer through the same stack: the benchmark's baseline.
pub async fn ping() -> &'static str {
    "ok"
}

/// Where and to whom `/metrics` answers (`--metrics-listen`, `--metrics-token-file`).
#[derive(Clone, Debug)]
pub struct MetricsAccess {
    /// Whether this listener serves it; with `--metrics-listen` the main one answers 404.
    pub served_here: bool,
    /// The bearer token a scrape must present, when set.
    pub token: Option<Arc<Secret>>,
}

impl Default for MetricsAccess {
    fn default() -> Self {
        Self {
            served_here: true,
            token: None,
        }
    }
}

impl MetricsAccess {
    fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())))
    }
}

/// Prometheus metrics (OpenMetrics text).
pub async fn metrics(
    State(services): State<Services>,
    access: Option<Extension<MetricsAccess>>,
    headers: HeaderMap,
) -> Response {
    let access = access.map(|Extension(a)| a).unwrap_or_default();
    if !access.served_here {
        return error_response(StatusCode::NOT_FOUND, "Not found");
    }
    if !access.allows(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            error_response(StatusCode::UNAUTHORIZED, "Unauthorized"),
        )
            .into_response();
    }
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    (
        [(header::CONTENT_TYPE, content_type)],
        services.metrics.render(),
    )
        .into_response()
}
