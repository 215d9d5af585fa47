//! Abuse limits kept in memory on each node: request rates per organization on management
//! endpoints (answered with Datadog's `X-RateLimit-*` headers), and a count of a source's
//! failed authentications, which writes one audit record when a burst begins. Neither ever
//! delays an answer: a refusal held back would hold a reverse proxy's kept-alive connection,
//! and the valid requests queued behind it, while 128-bit keys cannot be guessed anyway.
//!
//! Every table here a stranger can grow is bounded, with O(1) eviction (`quick_cache`), and
//! counts IPv6 sources by their /64, so a pool of addresses cannot grow it without end.

use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A fixed-capacity table: past its capacity the least useful entry goes, in O(1). Behind
/// one mutex, since every use is a few O(1) steps (and several keys may change together).
pub struct Bounded<K, V>(Mutex<quick_cache::unsync::Cache<K, V>>);

impl<K: Eq + Hash + Clone, V: Clone> Bounded<K, V> {
    pub fn new(capacity: usize) -> Self {
        Self(Mutex::new(quick_cache::unsync::Cache::new(capacity)))
    }

    pub fn lock(&self) -> MutexGuard<'_, quick_cache::unsync::Cache<K, V>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `key`'s entry, made with `fresh` when absent. `None` when the table declines to keep a
/// new entry; callers then treat the key as unseen.
pub fn entry<'a, K: Eq + Hash + Clone, V: Clone>(
    table: &'a mut quick_cache::unsync::Cache<K, V>,
    key: &K,
    fresh: impl FnOnce() -> V,
) -> Option<impl std::ops::DerefMut<Target = V> + 'a> {
    table
        .get_mut_or_insert_with(key, || Ok::<_, std::convert::Infallible>(fresh()))
        .ok()
        .flatten()
}

/// The address a source is counted as: IPv4 as it is, IPv6 by its /64 (one subscriber's
/// allocation, which it can fill with addresses at will), IPv4-mapped IPv6 as IPv4.
pub fn source_bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

/// Entries each table keeps: rate windows, failure counters.
const TABLE_CAPACITY: usize = 100_000;

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
    windows: Bounded<(Uuid, &'static str), Window>,
}

impl RateLimiter {
    pub fn new(config: RateLimit) -> Self {
        Self {
            config,
            windows: Bounded::new(TABLE_CAPACITY),
        }
    }

    pub fn enabled(&self) -> bool {
        self.config.limit > 0 && !self.config.period.is_zero()
    }

    /// Counts one request of `org` against `name`'s fixed window.
    pub fn check(&self, org: Uuid, name: &'static str) -> RateStatus {
        let now = Instant::now();
        let mut windows = self.windows.lock();
        let mut unkept = (now, 0);
        let mut kept = entry(&mut windows, &(org, name), || (now, 0));
        let window = kept.as_deref_mut().unwrap_or(&mut unkept);
        count(self.config, window, now)
    }
}

/// Counts one request against `window` (started over once its period is past).
fn count(config: RateLimit, window: &mut Window, now: Instant) -> RateStatus {
    let RateLimit { limit, period } = config;
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

/// The same fixed windows, per source address (IPv6 by its /64), for endpoints anyone may
/// call without a credential, so there is no organization to count.
pub struct SourceRateLimiter {
    config: RateLimit,
    windows: Bounded<IpAddr, Window>,
}

impl SourceRateLimiter {
    pub fn new(config: RateLimit) -> Self {
        Self {
            config,
            windows: Bounded::new(TABLE_CAPACITY),
        }
    }

    pub fn check(&self, source: IpAddr) -> RateStatus {
        let now = Instant::now();
        let mut windows = self.windows.lock();
        let mut unkept = (now, 0);
        let mut kept = entry(&mut windows, &source_bucket(source), || (now, 0));
        let window = kept.as_deref_mut().unwrap_or(&mut unkept);
        count(self.config, window, now)
    }
}

/// How many failed authentications a source may make per window before the next one is
/// recorded as a burst in the audit trail; 0 turns the records off.
#[derive(Debug, Clone, Copy)]
pub struct FailureLimit {
    pub free_failures: u32,
    pub window: Duration,
}

pub struct FailurePenalty {
    config: FailureLimit,
    sources: Bounded<IpAddr, Window>,
}

impl FailurePenalty {
    pub fn new(config: FailureLimit) -> Self {
        Self {
            config,
            sources: Bounded::new(TABLE_CAPACITY),
        }
    }

    /// Records a failed authentication from `source` (IPv6 by its /64) and says whether it
    /// is the one that began a burst: the first past `free_failures` in its window. It
    /// never delays anything.
    pub fn failed(&self, source: IpAddr) -> bool {
        let FailureLimit {
            free_failures,
            window,
        } = self.config;
        if free_failures == 0 {
            return false;
        }
        let now = Instant::now();
        let mut sources = self.sources.lock();
        let Some(mut entry) = entry(&mut sources, &source_bucket(source), || (now, 0)) else {
            return false;
        };
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 == free_failures.saturating_add(1)
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
    fn a_source_window_counts_an_ipv6_subnet_as_one() {
        let limiter = SourceRateLimiter::new(RateLimit {
            limit: 2,
            period: Duration::from_secs(60),
        });
        let a: IpAddr = "2001:db8::1"
            .parse()
            .unwrap_or(IpAddr::V6(Ipv6Addr::LOCALHOST));
        let b: IpAddr = "2001:db8::2"
            .parse()
            .unwrap_or(IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert!(limiter.check(a).allowed);
        assert!(limiter.check(b).allowed);
        assert!(!limiter.check(a).allowed);
        assert!(limiter.check([10, 0, 0, 1].into()).allowed);
    }

    #[test]
    fn a_burst_begins_once_past_the_free_failures_and_never_waits() {
        let penalty = FailurePenalty::new(FailureLimit {
            free_failures: 2,
            window: Duration::from_secs(10),
        });
        let ip: IpAddr = [10, 0, 0, 1].into();
        let seen: Vec<bool> = (0..5).map(|_| penalty.failed(ip)).collect();
        assert_eq!(seen, [false, false, true, false, false]);
        assert!(!penalty.failed([10, 0, 0, 2].into()));
    }

    #[test]
    fn ipv6_sources_count_by_their_64() {
        let penalty = FailurePenalty::new(FailureLimit {
            free_failures: 2,
            window: Duration::from_secs(10),
        });
        let addr = |low: u16| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, low));
        let began: Vec<bool> = (1..=3).map(|low| penalty.failed(addr(low))).collect();
        assert_eq!(began, [false, false, true]);
        let other = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 0, 0, 0, 1));
        assert!(!penalty.failed(other));
        let mapped: IpAddr = "::ffff:10.0.0.9".parse().expect("mapped");
        assert_eq!(source_bucket(mapped), IpAddr::from([10, 0, 0, 9]));
    }

    #[test]
    fn the_tables_stay_within_their_capacity() {
        let penalty = FailurePenalty::new(FailureLimit {
            free_failures: 5,
            window: Duration::from_secs(10),
        });
        for n in 0..(TABLE_CAPACITY as u128 * 2) {
            penalty.failed(IpAddr::V6(Ipv6Addr::from(n << 64)));
        }
        assert!(penalty.sources.lock().len() <= TABLE_CAPACITY);
    }
}
