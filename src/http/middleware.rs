//! Request logging and response headers.

use super::error::error_response;
use crate::auth::middleware::INTAKE_PATH;
use crate::error::Error;
use crate::metrics::RequestLabels;
use crate::service::Services;
use axum::body::Body;
use axum::extract::State;
use axum::extract::{MatchedPath, Request};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::{Duration, Instant};

/// The methods keyplane answers, as `&'static str`: a method is a free-form token of any
/// length, so one that is not in this set never reaches a metric label or the log (each
/// distinct one would be a new series kept for ever).
fn known_method(method: &Method) -> Option<&'static str> {
    Some(match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => return None,
    })
}

/// One line per request. It names the route template, never the raw path or query
/// string: v1 puts keys in paths and the Agent puts `api_key=` in the query. Any other
/// method is refused with 405 here, before routing, and counted as `other`.
pub async fn log_request(State(services): State<Services>, req: Request, next: Next) -> Response {
    let known = known_method(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(unmatched)".to_owned());
    let started = Instant::now();
    let response = match known {
        Some(_) => next.run(req).await,
        None => error_response(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
    };
    let method = known.unwrap_or("other");
    let status = response.status().as_u16();
    tracing::info!(
        target: crate::telemetry::ACCESS,
        method,
        route,
        status,
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    let labels = RequestLabels {
        method,
        route,
        status,
    };
    services.metrics.requests.get_or_create(&labels).inc();
    response
}

/// Responses carry secrets: no cache may keep them, and no browser may sniff them.
/// The console runs only its own files: no inline script or style, no other host, no frames.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub async fn headers(req: Request, next: Next) -> Response {
    // The intake gate answers a reverse proxy, never a browser, and nginx parses every
    // header of every sub-request: its answers carry only what the proxy uses.
    let to_proxy = req.uri().path().starts_with(INTAKE_PATH);
    let mut response = next.run(req).await;
    if to_proxy {
        return response;
    }
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// Reads the whole (bounded) body before routing. A request answered early, by auth (403)
/// or a content-type check (415), has then still been read in full, so the connection stays
/// usable for keep-alive; otherwise the server closes it and a pooling client can race it.
/// A body slower than `BODY_TIMEOUT` is refused, so a client trickling bytes cannot hold a
/// connection and a task for ever.
pub async fn read_body(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let read = tokio::time::timeout(
        BODY_TIMEOUT,
        axum::body::to_bytes(body, super::MAX_BODY_BYTES),
    );
    match read.await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(_)) => Error::TooLarge("Request body is too large".to_owned()).into_response(),
        Err(_) => error_response(
            StatusCode::REQUEST_TIMEOUT,
            "The request body was not received in time",
        ),
    }
}

const BODY_TIMEOUT: Duration = Duration::from_secs(30);
