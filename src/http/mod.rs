//! The HTTP edge: routing, request logging, limits and headers. Handlers translate wire
//! shapes to use-case calls; they hold no rule of their own.

pub mod console;
pub mod error;
pub mod extract;
pub mod fuzzing;
pub mod intake;
pub mod jsonapi;
pub mod params;
pub mod v1;
pub mod v2;

pub mod routes;

mod guard;
mod health;
mod hot_path;
mod middleware;
mod openapi;
mod rate_limit;
mod server;
pub mod tls;

use crate::service::Services;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::Router;
use error::error_response;

/// Bodies are small JSON documents; anything larger is refused before it is buffered.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub use health::MetricsAccess;
pub use server::{serve, serve_with_tls, App, ConnectionLimits};

/// The API and the console; the routes agents and proxies call per payload are answered
/// before the router (`hot_path`).
pub fn router(services: Services, metrics: MetricsAccess) -> App {
    App {
        hot: Some(hot_path::HotPath::new(services.clone())),
        router: routes_router(services, metrics),
    }
}

fn routes_router(services: Services, metrics: MetricsAccess) -> Router {
    let mut router = Router::new();
    let refunds = std::sync::Arc::new(rate_limit::Refunds::default());
    for route in routes::table() {
        let guard = guard::Guard {
            services: services.clone(),
            access: route.access,
            group: rate_limit::group(route.path),
            refunds: refunds.clone(),
        };
        router = router.route(
            route.path,
            route
                .handler
                .route_layer(axum::middleware::from_fn_with_state(guard, guard::guard)),
        );
    }
    router
        .fallback(|| async { error_response(StatusCode::NOT_FOUND, "Not found") })
        .method_not_allowed_fallback(|| async {
            error_response(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            services.clone(),
            middleware::edge,
        ))
        .layer(axum::Extension(metrics))
        .with_state(services)
}

/// `/metrics` alone, for its own listener (`--metrics-listen`).
pub fn metrics_router(services: Services, metrics: MetricsAccess) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(health::metrics))
        .fallback(|| async { error_response(StatusCode::NOT_FOUND, "Not found") })
        .layer(axum::Extension(metrics))
        .with_state(services)
}
