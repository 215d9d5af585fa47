//! Bare axum: the limit keyplane is measured against (bench/bench.py).
//!
//! `GET /` and `GET /validate` answer `{"valid":true}` (no middleware, no lookup): the most an
//! HTTP server on this stack can answer. `ANY /intake/authorize[/*]` answers 200 with fixed
//! tenant headers: a "static authorization service" in keyplane's place behind nginx. Any
//! other path answers like `/`, so the same binary is the proxies' static backend.
//! Usage: keyplane-bench-baseline 127.0.0.1:PORT

use axum::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use axum::Router;

const VALID: &str = r#"{"valid":true}"#;

async fn valid() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        VALID,
    )
}

async fn authorize() -> impl IntoResponse {
    [
        (
            HeaderName::from_static("x-keyplane-org"),
            HeaderValue::from_static("6a1f0c3e-2b7d-4e59-9c1a-0d3f5e7b9a21"),
        ),
        (
            HeaderName::from_static("x-keyplane-org-num"),
            HeaderValue::from_static("1"),
        ),
        (
            HeaderName::from_static("x-keyplane-key-id"),
            HeaderValue::from_static("0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f"),
        ),
        (
            HeaderName::from_static("x-keyplane-key-type"),
            HeaderValue::from_static("api_key"),
        ),
    ]
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8099".to_owned());
    let app = Router::new()
        .route("/", get(valid))
        .route("/validate", get(valid))
        .route("/intake/authorize", any(authorize))
        .route("/intake/authorize/{*rest}", any(authorize))
        .fallback(valid);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .expect("bind the listen address");
    axum::serve(listener, app).await.expect("serve");
}
