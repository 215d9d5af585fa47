//! The HTTP edge: routing, request logging, limits and headers. Handlers translate wire
//! shapes to use-case calls; they hold no rule of their own.

pub mod error;
pub mod extract;
pub mod jsonapi;
pub mod params;
pub mod v1;
pub mod v2;

mod health;
mod middleware;

use crate::service::Services;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use error::error_response;

/// Bodies are small JSON documents; anything larger is refused before it is buffered.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn router(services: Services) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/api/v1/validate", get(v1::validate::validate))
        .route(
            "/api/v2/api_keys",
            get(v2::api_keys::list).post(v2::api_keys::create),
        )
        .route(
            "/api/v2/api_keys/{api_key_id}",
            get(v2::api_keys::get)
                .patch(v2::api_keys::update)
                .delete(v2::api_keys::delete),
        )
        .fallback(|| async { error_response(StatusCode::NOT_FOUND, "Not found") })
        .method_not_allowed_fallback(|| async {
            error_response(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(middleware::headers))
        .layer(axum::middleware::from_fn(middleware::log_request))
        .with_state(services)
}
