//! Bare axum: the limit keyplane is measured against (bench/bench.py).
//!
//! `GET /` and `GET /validate` answer `{"valid":true}` (no middleware, no lookup): the most an
//! HTTP server on this stack can answer. `ANY /intake/authorize[/*]` answers 200 with fixed
//! tenant headers: a "static authorization service" in keyplane's place behind nginx. Any
//! other path answers like `/`, so the same binary is the proxies' static backend.
//! Usage: keyplane-bench-baseline 127.0.0.1:PORT [--keyplane-headers]
//! `--keyplane-headers` adds the headers keyplane puts on every response (security headers,
//! and Envoy's header list on the gate's): the same bytes on the wire, no other work, to tell
//! what the response's size costs a proxy from what keyplane's work costs.

use axum::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
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

/// keyplane's per-response headers (src/http/middleware.rs) and the gate's Envoy header.
async fn keyplane_headers(req: Request<axum::body::Body>, next: Next) -> Response {
    let gate = req.uri().path().starts_with("/intake/authorize");
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    if gate {
        headers.insert(
            HeaderName::from_static("x-envoy-auth-headers-to-remove"),
            HeaderValue::from_static("dd-api-key, dd-client-token"),
        );
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8099".to_owned());
    let mut app = Router::new()
        .route("/", get(valid))
        .route("/validate", get(valid))
        .route("/intake/authorize", any(authorize))
        .route("/intake/authorize/{*rest}", any(authorize))
        .fallback(valid);
    if std::env::args().nth(2).as_deref() == Some("--keyplane-headers") {
        app = app.layer(middleware::from_fn(keyplane_headers));
    }
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .expect("bind the listen address");
    axum::serve(listener, app).await.expect("serve");
}
