//! Each route's guard: authenticate as the route declares, then count the caller's
//! organization against its rate limit. One middleware, not two stacked: every layer costs
//! each request a boxed future and a clone of the service below it.

use super::rate_limit::{self, Refunds};
use crate::auth::middleware::authenticate;
use crate::auth::Access;
use crate::service::Services;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

#[derive(Clone)]
pub struct Guard {
    pub services: Services,
    pub access: Access,
    /// The route's rate-limit group.
    pub group: &'static str,
    pub refunds: Arc<Refunds>,
}

pub async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    match authenticate(&guard.services, guard.access, request).await {
        Ok(request) => {
            rate_limit::limit(&guard.services, guard.group, &guard.refunds, request, next).await
        }
        Err(refused) => refused,
    }
}
