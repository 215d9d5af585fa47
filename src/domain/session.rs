//! Console sessions. The cookie carries a random token; the database holds only its digest.
//! The CSRF token is derived from the session token, so it needs no storage, and a page can
//! only learn it from an authenticated response (never from the cookie, which is HttpOnly).

use super::secret::{KeyDigest, Secret};
use super::time::Micros;
use sha2::{Digest as _, Sha256};
use std::time::Duration;
use uuid::Uuid;

const TOKEN_BYTES: usize = 32;

/// How long a session lives without a request, and at most.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
    /// Whether the cookie is marked `Secure` (HTTPS only).
    pub secure_cookie: bool,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 3600),
            secure_cookie: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub digest: KeyDigest,
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub created_at: Micros,
    pub last_seen_at: Micros,
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl Session {
    /// When the session ends if no request comes first.
    pub fn expires_at(&self, policy: &SessionPolicy) -> Micros {
        (self.last_seen_at.saturating_add(micros(policy.idle)))
            .min(self.created_at.saturating_add(micros(policy.absolute)))
    }

    pub fn expired(&self, policy: &SessionPolicy, now: Micros) -> bool {
        now >= self.expires_at(policy)
    }

    /// Whether a request at `now` should move `last_seen_at`: at most once a minute (or a
    /// tenth of the idle timeout, if shorter), so a busy console does not write on every request.
    pub fn needs_touch(&self, policy: &SessionPolicy, now: Micros) -> bool {
        let every = micros(policy.idle / 10).min(60_000_000);
        now - self.last_seen_at >= every
    }
}

pub fn new_token() -> Secret {
    Secret::random_hex(TOKEN_BYTES)
}

/// A generated console password: 128 random bits, as hex.
pub fn new_password() -> Secret {
    Secret::random_hex(16)
}

/// The CSRF token that goes with a session token.
pub fn csrf_token(session_token: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"keyplane csrf v1\0");
    hasher.update(session_token.as_bytes());
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(created_at: Micros, last_seen_at: Micros) -> Session {
        Session {
            digest: KeyDigest::of("x"),
            user_id: Uuid::nil(),
            org_id: Uuid::nil(),
            created_at,
            last_seen_at,
        }
    }

    #[test]
    fn idle_and_absolute_expiry() {
        let policy = SessionPolicy {
            idle: Duration::from_secs(10),
            absolute: Duration::from_secs(100),
            secure_cookie: false,
        };
        let s = session(0, 0);
        assert!(!s.expired(&policy, 9_999_999));
        assert!(s.expired(&policy, 10_000_000));
        // Kept busy, it still ends at the absolute bound.
        let busy = session(0, 95_000_000);
        assert!(!busy.expired(&policy, 99_000_000));
        assert!(busy.expired(&policy, 100_000_000));
    }

    #[test]
    fn csrf_token_depends_on_the_session() {
        assert_ne!(csrf_token("a"), csrf_token("b"));
        assert_eq!(csrf_token("a"), csrf_token("a"));
        assert_eq!(csrf_token("a").len(), 64);
    }
}
