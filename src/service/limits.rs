//! Abuse limits kept in memory on each node: request rates per organization on management
//! endpoints (answered with Datadog's `X-RateLimit-*` headers), and a growing delay for a
//! source that keeps presenting unknown keys. Valid traffic never waits on either: the rate
//! check is one map lookup, and only failed authentications are delayed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Requests allowed per organization and endpoint group within one period; 0 turns it off.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub limit: u32,
    pub period: Duration,
}

/// Where a request stands in its organization's window: what the `X-RateLimit-*` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateStatus {
    pub limit: u32,
    pub period_secs: u64,
    pub remaining: u32,
    /// Whole seconds until the window starts over (at least 1).
    pub reset_secs: u64,
    pub allowed: bool,
}

/// When a window started and how many requests it has counted.
type Window = (Instant, u32);

pub struct RateLimiter {
    config: RateLimit,
    windows: Mutex<HashMap<(Uuid, &'static str), Window>>,
}

/// Windows older than this many periods are dropped when the map is swept.
const SWEEP_AT: usize = 100_000;

impl RateLimiter {
    pub fn new(config: RateLimit) -> Self {
        Self {
            config,
            windows: Mutex::default(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.config.limit > 0 && !self.config.period.is_zero()
    }

    /// Counts one request of `org` against `name`'s fixed window.
    pub fn check(&self, org: Uuid, name: &'static str) -> RateStatus {
        let RateLimit { limit, period } = self.config;
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, (start, _)| now.duration_since(*start) < period);
        }
        let window = windows.entry((org, name)).or_insert((now, 0));
        if now.duration_since(window.0) >= period {
            *window = (now, 0);
        }
        let allowed = window.1 < limit;
        if allowed {
            window.1 += 1;
        }
        let left = period.saturating_sub(now.duration_since(window.0));
        RateStatus {
            limit,
            period_secs: period.as_secs().max(1),
            remaining: limit.saturating_sub(window.1),
            reset_secs: left.as_secs_f64().ceil().max(1.0) as u64,
            allowed,
        }
    }
}

/// How many failed authentications a source may make per window before answers slow down;
/// 0 turns it off.
#[derive(Debug, Clone, Copy)]
pub struct FailureLimit {
    pub free_failures: u32,
    pub window: Duration,
}

pub struct FailurePenalty {
    config: FailureLimit,
    sources: Mutex<HashMap<IpAddr, Window>>,
}

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(2);

impl FailurePenalty {
    pub fn new(config: FailureLimit) -> Self {
        Self {
            config,
            sources: Mutex::default(),
        }
    }

    /// Records a failed authentication from `source` and says how long to hold its answer:
    /// nothing for the first `free_failures` of a window, then 100 ms doubling up to 2 s; and
    /// whether this failure is the one that began a burst (for the audit trail).
    pub fn failed(&self, source: IpAddr) -> (Duration, bool) {
        let FailureLimit {
            free_failures,
            window,
        } = self.config;
        if free_failures == 0 {
            return (Duration::ZERO, false);
        }
        let now = Instant::now();
        let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        if sources.len() >= SWEEP_AT {
            sources.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = sources.entry(source).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        let over = entry.1.saturating_sub(free_failures);
        if over == 0 {
            return (Duration::ZERO, false);
        }
        let delay = (FIRST_DELAY * 2u32.saturating_pow((over - 1).min(5))).min(MAX_DELAY);
        (delay, over == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_allows_the_limit_then_refuses() {
        let limiter = RateLimiter::new(RateLimit {
            limit: 3,
            period: Duration::from_secs(60),
        });
        let org = Uuid::new_v4();
        let seen: Vec<(bool, u32)> = (0..4)
            .map(|_| limiter.check(org, "api_keys"))
            .map(|s| (s.allowed, s.remaining))
            .collect();
        assert_eq!(seen, [(true, 2), (true, 1), (true, 0), (false, 0)]);
        // Another organization, or another endpoint group, has its own window.
        assert!(limiter.check(Uuid::new_v4(), "api_keys").allowed);
        assert!(limiter.check(org, "users").allowed);
        let status = limiter.check(org, "api_keys");
        assert_eq!((status.limit, status.period_secs), (3, 60));
        assert!((1..=60).contains(&status.reset_secs));
    }

    #[test]
    fn failures_slow_down_only_past_the_free_ones() {
        let penalty = FailurePenalty::new(FailureLimit {
            free_failures: 2,
            window: Duration::from_secs(10),
        });
        let ip: IpAddr = [10, 0, 0, 1].into();
        let seen: Vec<(u128, bool)> = (0..5)
            .map(|_| penalty.failed(ip))
            .map(|(d, began)| (d.as_millis(), began))
            .collect();
        assert_eq!(
            seen,
            [
                (0, false),
                (0, false),
                (100, true),
                (200, false),
                (400, false)
            ]
        );
        assert_eq!(
            penalty.failed([10, 0, 0, 2].into()),
            (Duration::ZERO, false)
        );
    }
}
