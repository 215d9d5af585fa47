//! Per-organization request limits on management endpoints, with the headers Datadog's
//! clients read (`X-RateLimit-Limit`, `-Period`, `-Remaining`, `-Reset`, `-Name`) and a 429
//! in Datadog's error shape when a window is used up.

use super::error::error_response;
use crate::auth::Caller;
use crate::service::limits::RateStatus;
use crate::service::Services;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// The endpoint group a route counts against: the first path segment after the API version
/// (`api_keys`, `application_keys`, `users`, …), so one busy resource cannot starve another.
pub fn group(path: &'static str) -> &'static str {
    let mut segments = path.split('/').filter(|s| !s.is_empty()).skip(1);
    match segments.next() {
        Some(version) if is_version(version) => segments.next().unwrap_or(version),
        Some(other) => other,
        None => "root",
    }
}

fn is_version(segment: &str) -> bool {
    segment
        .strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

fn put_headers(headers: &mut HeaderMap, status: &RateStatus, name: &'static str) {
    let number = |n: u64| HeaderValue::from(n);
    headers.insert("x-ratelimit-limit", number(u64::from(status.limit)));
    headers.insert("x-ratelimit-period", number(status.period_secs));
    headers.insert("x-ratelimit-remaining", number(u64::from(status.remaining)));
    headers.insert("x-ratelimit-reset", number(status.reset_secs));
    headers.insert("x-ratelimit-name", HeaderValue::from_static(name));
}

/// Runs after authentication: only authenticated callers of an organization are counted.
pub async fn limit(
    State((services, name)): State<(Services, &'static str)>,
    request: Request,
    next: Next,
) -> Response {
    let org = request.extensions().get::<Caller>().map(|c| c.0.org_id);
    let (Some(org), true) = (org, services.rate.enabled()) else {
        return next.run(request).await;
    };
    let status = services.rate.check(org, name);
    let mut response = if status.allowed {
        next.run(request).await
    } else {
        error_response(StatusCode::TOO_MANY_REQUESTS, "Too many requests")
    };
    put_headers(response.headers_mut(), &status, name);
    response
}

#[cfg(test)]
mod tests {
    use super::group;

    #[test]
    fn groups_are_the_resource_segment() {
        assert_eq!(group("/api/v2/api_keys/{api_key_id}"), "api_keys");
        assert_eq!(group("/api/v1/application_key"), "application_key");
        assert_eq!(
            group("/api/v2/current_user/application_keys"),
            "current_user"
        );
        assert_eq!(group("/api/console/session"), "console");
        assert_eq!(group("/api/v1/validate"), "validate");
        assert_eq!(group("/healthz"), "root");
    }
}
