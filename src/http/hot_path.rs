//! The routes agents and proxies call with every payload, answered before the router.
//!
//! `/api/v1/validate` and the intake gate are asked once per metric batch, log and trace.
//! Through axum's router each such request paid for its route's boxed services (cloned per
//! request), two middleware futures and an extension map: about as much CPU as the whole
//! bare HTTP exchange (see bench/results.md). Here they get the same check (`authenticate`
//! with the route's declared `Access`), the same answer, and the same headers, access line
//! and metric (`middleware::finish`). Anything unusual (a body, a method keyplane does not
//! answer) goes on to the router, which answers it as it always has.

use super::intake::allowed;
use super::middleware::{finish, known_method, Started};
use super::v1::validate::valid;
use crate::auth::middleware::{authenticate_from, INTAKE_PATH};
use crate::auth::{Access, Intake};
use crate::service::Services;
use axum::body::{Body, Bytes, HttpBody};
use axum::http::{Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::net::SocketAddr;

/// The Agent's validate call (the route table's path, so the metric label is the same).
pub const VALIDATE: &str = "/api/v1/validate";
/// The gate with the original request's path below it (Envoy's `path_prefix`).
pub const INTAKE_BELOW: &str = "/intake/authorize/{*original}";

#[derive(Clone)]
pub struct HotPath {
    services: Services,
}

#[derive(Clone, Copy)]
enum Hot {
    Validate,
    Intake { below: bool },
}

impl Hot {
    /// The hot route `request` is for, if the router would send it to one.
    fn of<B: HttpBody>(request: &Request<B>) -> Option<Self> {
        // A body would have to be read first (the edge's rule): rare here, left to the router.
        if request.body().size_hint().exact() != Some(0) {
            return None;
        }
        let path = request.uri().path();
        if path == VALIDATE {
            return (request.method() == Method::GET).then_some(Self::Validate);
        }
        let below = match path.strip_prefix(INTAKE_PATH)? {
            "" => false,
            rest if rest.len() > 1 && rest.starts_with('/') => true,
            _ => return None,
        };
        known_method(request.method())?;
        Some(Self::Intake { below })
    }

    fn route(self) -> &'static str {
        match self {
            Self::Validate => VALIDATE,
            Self::Intake { below: false } => INTAKE_PATH,
            Self::Intake { below: true } => INTAKE_BELOW,
        }
    }

    fn access(self) -> Access {
        match self {
            Self::Validate => Access::ApiKey,
            Self::Intake { .. } => Access::Intake,
        }
    }
}

impl HotPath {
    pub fn new(services: Services) -> Self {
        Self { services }
    }

    /// The answer to `request` from `peer` if it is for a hot route; else the request back,
    /// for the router.
    // The request comes back as it is: boxing it would cost every routed request an allocation.
    #[allow(clippy::result_large_err)]
    pub fn answer<B>(
        &self,
        request: Request<B>,
        peer: SocketAddr,
    ) -> Result<impl Future<Output = Response> + Send + 'static, Request<B>>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<axum::BoxError>,
    {
        let Some(hot) = Hot::of(&request) else {
            return Err(request);
        };
        let services = self.services.clone();
        let method = known_method(request.method()).unwrap_or("other");
        let request = request.map(Body::new);
        Ok(async move {
            let started = Started::now();
            let response =
                match authenticate_from(&services, hot.access(), request, Some(peer)).await {
                    Ok(request) => respond(hot, &request),
                    Err(refused) => refused,
                };
            let to_proxy = matches!(hot, Hot::Intake { .. });
            finish(&services, method, hot.route(), to_proxy, started, response)
        })
    }
}

/// What the route's handler answers once `authenticate` let the request through.
fn respond(hot: Hot, request: &Request<Body>) -> Response {
    match hot {
        Hot::Validate => valid(),
        Hot::Intake { .. } => match request.extensions().get::<Intake>() {
            Some(Intake(grant)) => allowed(grant),
            // `authenticate` leaves the grant of every request it lets through the gate.
            None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
    }
}
