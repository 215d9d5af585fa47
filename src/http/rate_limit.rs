//! Per-organization request limits on management endpoints, with the headers Datadog's
//! clients read (`X-RateLimit-Limit`, `-Period`, `-Remaining`, `-Reset`, `-Name`) and a 429
//! in Datadog's error shape when a window is used up.
//!
//! Only requests that pass authorization spend the organization's window: a request refused
//! for want of a permission (403) is given back, so a role-less user or a narrow key cannot
//! keep the admins at 429. Each caller also has a window of its own, which every request
//! spends, so refused requests stay bounded per credential.

use super::error::error_response;
use crate::auth::Caller;
use crate::service::limits::RateStatus;
use crate::service::Services;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Credits of one organization's window for one group: until when, and how many.
type Credit = (Instant, u32);

/// Refused requests given back to their organization's window, usable until that window
/// ends. Bounded like the windows themselves: one entry per organization and group.
#[derive(Default)]
pub struct Refunds {
    credits: Mutex<HashMap<(Uuid, &'static str), Credit>>,
}

/// Entries past their window are dropped when the map reaches this size.
const SWEEP_AT: usize = 100_000;

impl Refunds {
    fn give(&self, org: Uuid, name: &'static str, until: Instant) {
        let now = Instant::now();
        let mut credits = self.credits.lock().unwrap_or_else(PoisonError::into_inner);
        if credits.len() >= SWEEP_AT {
            credits.retain(|_, (end, _)| *end > now);
        }
        let entry = credits.entry((org, name)).or_insert((until, 0));
        if entry.0 <= now {
            *entry = (until, 0);
        }
        entry.1 += 1;
    }

    /// Spends one credit of the organization's current window, if it has any.
    fn take(&self, org: Uuid, name: &'static str) -> bool {
        let now = Instant::now();
        let mut credits = self.credits.lock().unwrap_or_else(PoisonError::into_inner);
        match credits.get_mut(&(org, name)) {
            Some((end, n)) if *end > now && *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }
}

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

pub(super) fn put_headers(headers: &mut HeaderMap, status: &RateStatus, name: &'static str) {
    let number = |n: u64| HeaderValue::from(n);
    headers.insert("x-ratelimit-limit", number(u64::from(status.limit)));
    headers.insert("x-ratelimit-period", number(status.period_secs));
    headers.insert("x-ratelimit-remaining", number(u64::from(status.remaining)));
    headers.insert("x-ratelimit-reset", number(status.reset_secs));
    headers.insert("x-ratelimit-name", HeaderValue::from_static(name));
}

/// Runs after authentication: only authenticated callers of an organization are counted.
pub async fn limit(
    services: &Services,
    name: &'static str,
    refunds: &Refunds,
    request: Request,
    next: Next,
) -> Response {
    let caller = request
        .extensions()
        .get::<Caller>()
        .map(|c| (c.0.org_id, c.0.user_id));
    let (Some((org, user)), true) = (caller, services.rate.enabled()) else {
        return next.run(request).await;
    };
    // The caller's own window (user ids never equal organization ids).
    let own = services.rate.check(user, name);
    if !own.allowed {
        let mut response = error_response(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
        put_headers(response.headers_mut(), &own, name);
        return response;
    }
    let mut status = services.rate.check(org, name);
    if !status.allowed && refunds.take(org, name) {
        status.allowed = true;
    }
    let mut response = if status.allowed {
        let response = next.run(request).await;
        if response.status() == StatusCode::FORBIDDEN {
            let until = Instant::now() + Duration::from_secs(status.reset_secs);
            refunds.give(org, name, until);
            status.remaining = status.remaining.saturating_add(1).min(status.limit);
        }
        response
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
