//! The edge of every request, in one middleware (each stacked layer would cost every request
//! a boxed future and a clone of the service below it): the method check, the bounded body
//! read, the response headers, the access line and the request metric.

use super::error::error_response;
use crate::auth::middleware::INTAKE_PATH;
use crate::error::Error;
use crate::metrics::RequestLabels;
use crate::service::Services;
use crate::telemetry::access::{self, AccessLine};
use axum::body::{Body, HttpBody};
use axum::extract::State;
use axum::extract::{MatchedPath, Request};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashSet;
use std::sync::{OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

/// The methods keyplane answers, as `&'static str`: a method is a free-form token of any
/// length, so one that is not in this set never reaches a metric label or the log (each
/// distinct one would be a new series kept for ever).
pub fn known_method(method: &Method) -> Option<&'static str> {
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
pub async fn edge(State(services): State<Services>, req: Request, next: Next) -> Response {
    let known = known_method(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, |p| route_template(p.as_str()));
    let to_proxy = req.uri().path().starts_with(INTAKE_PATH);
    let started = Started::now();
    let response = match known {
        Some(_) => read_body(req, next).await,
        None => error_response(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
    };
    finish(
        &services,
        known.unwrap_or("other"),
        route,
        to_proxy,
        started,
        response,
    )
}

/// When a request began, for its access line.
#[derive(Clone, Copy)]
pub struct Started {
    at: SystemTime,
    instant: Instant,
}

impl Started {
    pub fn now() -> Self {
        Self {
            at: SystemTime::now(),
            instant: Instant::now(),
        }
    }
}

/// What every answer gets on its way out, through the router or the hot path: the
/// response headers, the access line and the request metric.
pub fn finish(
    services: &Services,
    method: &'static str,
    route: &'static str,
    to_proxy: bool,
    started: Started,
    mut response: Response,
) -> Response {
    // The intake gate answers a reverse proxy, never a browser, and nginx parses every
    // header of every sub-request: its answers carry only what the proxy uses.
    if !to_proxy {
        protect(&mut response);
    }
    let status = response.status().as_u16();
    access::record(AccessLine {
        at: started.at,
        method,
        route,
        status,
        micros: u64::try_from(started.instant.elapsed().as_micros()).unwrap_or(u64::MAX),
    });
    let labels = RequestLabels {
        method,
        route,
        status,
    };
    services.metrics.requests.get_or_create(&labels).inc();
    response
}

const UNMATCHED: &str = "(unmatched)";

/// The route template as a `&'static str`, so neither the log nor the metric label copies it
/// per request. Templates are the router's own, a fixed set: what is kept stays bounded.
fn route_template(matched: &str) -> &'static str {
    static TEMPLATES: OnceLock<RwLock<HashSet<&'static str>>> = OnceLock::new();
    let templates = TEMPLATES.get_or_init(Default::default);
    if let Some(known) = templates
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(matched)
    {
        return known;
    }
    let mut templates = templates.write().unwrap_or_else(PoisonError::into_inner);
    match templates.get(matched) {
        Some(known) => known,
        None => {
            let kept: &'static str = Box::leak(matched.into());
            templates.insert(kept);
            kept
        }
    }
}

/// Responses carry secrets: no cache may keep them, and no browser may sniff them.
/// The console runs only its own files: no inline script or style, no other host, no frames.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn protect(response: &mut Response) {
    let headers = response.headers_mut();
    // One allocation for all of them, not a table grown twice on the way.
    headers.reserve(5);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

/// Reads the whole (bounded) body before routing. A request answered early, by auth (403)
/// or a content-type check (415), has then still been read in full, so the connection stays
/// usable for keep-alive; otherwise the server closes it and a pooling client can race it.
/// A body slower than `BODY_TIMEOUT` is refused, so a client trickling bytes cannot hold a
/// connection and a task for ever.
async fn read_body(req: Request, next: Next) -> Response {
    // Most requests (GET, DELETE, the gate, validate) have no body: nothing to wait for.
    if req.body().size_hint().exact() == Some(0) {
        return next.run(req).await;
    }
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
