//! How many console sign-ins are checked, and when: per account and per source, in memory,
//! with a bounded number of argon2 checks at once.

use crate::service::limits::{entry, source_bucket, Bounded};
use argon2::Block;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Attempts an account may make at full speed. A source gets more: many people may share
/// one address (an office, a reverse proxy).
const FREE_PER_ACCOUNT: u32 = 3;
const FREE_PER_SOURCE: u32 = 10;
/// The pause after the first attempt past the free ones, doubling up to `MAX_PAUSE`.
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const MAX_PAUSE: Duration = Duration::from_secs(8);
/// A source or account is forgiven this long after its last attempt.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Accounts and sources tracked at once; past it the least used go (O(1)).
const MAX_TRACKED: usize = 100_000;
/// Password checks run at once, at most (each holds 19 MiB while it runs, and keeps it).
const MAX_SLOTS: usize = 8;
/// Password checks allowed to wait for a free slot, per slot.
const QUEUE_PER_SLOT: usize = 4;

/// What the throttle counts: an account by a digest of its email (a fixed size whatever was
/// sent), a source by its address (IPv6 by its /64).
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) enum ThrottleKey {
    Account([u8; 32]),
    Source(IpAddr),
}

#[derive(Clone, Copy)]
struct Attempts {
    count: u32,
    last: Instant,
    /// No attempt is admitted before this instant.
    locked_until: Instant,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Failed,
    Succeeded,
    /// Admitted, then refused before its password was checked (the line was full).
    Unchecked,
}

/// Sign-in attempts are over the limit: refused, with no password check, for this long.
#[derive(Debug, Clone, Copy)]
pub struct Locked(pub Duration);

/// Limits console sign-in, in memory. Each admitted attempt counts at once (before its
/// password is checked), so parallel guesses gain nothing; past the free attempts the next
/// one is admitted only after a pause that doubles up to `MAX_PAUSE`, and every attempt in
/// that pause is refused at once, without any argon2 work. A success forgives the account.
///
/// argon2id is slow and large (19 MiB) on purpose, so only a few checks run at once (two
/// per core, at most `MAX_SLOTS`) and a short queue waits for them; past it a sign-in is answered
/// 503 at once instead of piling up memory and threads.
pub struct SignInThrottle {
    attempts: Bounded<ThrottleKey, Attempts>,
    slots: Arc<Semaphore>,
    /// argon2 memory, one buffer per slot at most, kept for the next check.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
    in_line: Arc<AtomicUsize>,
    max_in_line: usize,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let slots = (cores * 2).clamp(2, MAX_SLOTS);
        Self {
            attempts: Bounded::new(MAX_TRACKED),
            slots: Arc::new(Semaphore::new(slots)),
            memory: Arc::default(),
            in_line: Arc::default(),
            max_in_line: slots * (1 + QUEUE_PER_SLOT),
        }
    }
}

/// Holds one place in line for a password check until dropped.
struct InLine(Arc<AtomicUsize>);

impl Drop for InLine {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The right to run one password check, with the argon2 memory it runs in; it moves into
/// the blocking task, so a client that hangs up cannot free it while argon2 still runs.
pub(super) struct Slot {
    pub(super) memory: Vec<Block>,
    pool: Arc<Mutex<Vec<Vec<Block>>>>,
    _permit: OwnedSemaphorePermit,
    _in_line: InLine,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let memory = std::mem::take(&mut self.memory);
        self.pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(memory);
    }
}

fn pause(over: u32) -> Duration {
    (FIRST_PAUSE * 2u32.saturating_pow(over.min(5))).min(MAX_PAUSE)
}

impl SignInThrottle {
    pub(super) fn keys(email: &str, source: Option<IpAddr>) -> Vec<(ThrottleKey, u32)> {
        let mut keys = vec![(
            ThrottleKey::Account(Sha256::digest(email.as_bytes()).into()),
            FREE_PER_ACCOUNT,
        )];
        if let Some(ip) = source {
            keys.push((ThrottleKey::Source(source_bucket(ip)), FREE_PER_SOURCE));
        }
        keys
    }

    /// Counts an attempt for every key, or refuses it (counting nothing) while any key is
    /// in its pause, saying how long that pause still lasts. An attempt past the free ones
    /// holds its keys until it is settled: one check at a time once the limit is reached.
    pub(super) fn admit(&self, keys: &[(ThrottleKey, u32)]) -> Result<(), Locked> {
        let now = Instant::now();
        let mut table = self.attempts.lock();
        let fresh = || Attempts {
            count: 0,
            last: now,
            locked_until: now,
        };
        let wait = keys
            .iter()
            .filter_map(|(key, _)| table.peek(key))
            .filter(|a| now.duration_since(a.last) < FORGET_AFTER)
            .map(|a| a.locked_until.saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if !wait.is_zero() {
            return Err(Locked(wait));
        }
        for (key, free) in keys {
            let Some(mut seen) = entry(&mut table, key, fresh) else {
                continue;
            };
            if now.duration_since(seen.last) >= FORGET_AFTER {
                *seen = fresh();
            }
            seen.count = seen.count.saturating_add(1);
            seen.last = now;
            if seen.count >= *free {
                seen.locked_until = now + MAX_PAUSE;
            }
        }
        Ok(())
    }

    /// Ends an admitted attempt: the pause starts now, after the check (a slow check must
    /// not use it up). A success forgives the account and gives the source its attempt
    /// back; an attempt never checked gives every count back.
    pub(super) fn settle(&self, keys: &[(ThrottleKey, u32)], outcome: Outcome) {
        let now = Instant::now();
        let mut table = self.attempts.lock();
        for (key, free) in keys {
            if outcome == Outcome::Succeeded && matches!(key, ThrottleKey::Account(_)) {
                table.remove(key);
                continue;
            }
            let Some(mut seen) = table.get_mut(key) else {
                continue;
            };
            if outcome != Outcome::Failed {
                seen.count = seen.count.saturating_sub(1);
            }
            seen.locked_until = match seen.count.checked_sub(*free) {
                Some(over) => now + pause(over),
                None => now,
            };
        }
    }

    /// A place for one password check, waiting in a short line; `None` when the line is
    /// full.
    pub(super) async fn slot(&self) -> Option<Slot> {
        if self.in_line.fetch_add(1, Ordering::AcqRel) >= self.max_in_line {
            self.in_line.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let in_line = InLine(self.in_line.clone());
        let permit = self.slots.clone().acquire_owned().await.ok()?;
        let memory = self
            .memory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_default();
        Some(Slot {
            memory,
            pool: self.memory.clone(),
            _permit: permit,
            _in_line: in_line,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_free_attempts_one_check_at_a_time_then_a_growing_pause() {
        let throttle = SignInThrottle::default();
        let keys = SignInThrottle::keys("a@example.com", Some([10, 0, 0, 1].into()));
        for _ in 1..FREE_PER_ACCOUNT {
            assert!(throttle.admit(&keys).is_ok());
        }
        // The third is admitted and holds the account while it is checked.
        assert!(throttle.admit(&keys).is_ok());
        assert!(throttle.admit(&keys).is_err());
        throttle.settle(&keys, Outcome::Failed);
        let Err(Locked(wait)) = throttle.admit(&keys) else {
            panic!("not paused");
        };
        assert!(wait <= FIRST_PAUSE && wait > FIRST_PAUSE / 2, "{wait:?}");
        // Another account from the same source is not paused.
        let other = SignInThrottle::keys("b@example.com", Some([10, 0, 0, 1].into()));
        assert!(throttle.admit(&other).is_ok());
        throttle.settle(&other, Outcome::Succeeded);
    }
}
