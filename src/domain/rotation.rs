//! Rotation with overlap: a key keeps its id, name and history and gets a new secret; the
//! secret it had keeps authenticating until its grace period ends, then is refused like any
//! unknown key (a 403, which makes agents refresh their secrets).

use super::secret::KeyDigest;
use super::time::Micros;
use crate::error::Error;
use uuid::Uuid;

/// What kind of key a previous secret belonged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RotatedKind {
    ApiKey,
    ApplicationKey,
    ClientToken,
}

impl RotatedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RotatedKind::ApiKey => "api_key",
            RotatedKind::ApplicationKey => "application_key",
            RotatedKind::ClientToken => "client_token",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::ApiKey, Self::ApplicationKey, Self::ClientToken]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// A secret a key had before its last rotations, still valid until `valid_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    pub digest: KeyDigest,
    pub kind: RotatedKind,
    pub org_id: Uuid,
    pub key_id: Uuid,
    /// The key's secret now: where a previous secret leads in the index.
    pub current_digest: KeyDigest,
    pub rotated_at: Micros,
    pub valid_until: Micros,
}

impl PreviousSecret {
    /// Valid up to, not including, the microsecond `valid_until`.
    pub fn valid_at(&self, now: Micros) -> bool {
        now < self.valid_until
    }
}

/// A key's new secret, as the store writes it over the old one.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub kind: RotatedKind,
    pub org_id: Uuid,
    pub key_id: Uuid,
    pub digest: KeyDigest,
    pub sealed_key: Vec<u8>,
    pub last4: String,
    pub rotated_by: Uuid,
    pub rotated_at: Micros,
    /// When the secret being replaced stops authenticating; `rotated_at` for no overlap.
    pub previous_valid_until: Micros,
}

/// How long the old secret may overlap the new one, by configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracePolicy {
    pub default_seconds: u64,
    pub max_seconds: u64,
}

impl GracePolicy {
    /// The grace period of a rotation that asked for `requested` seconds (`None`: the default).
    pub fn grace(&self, requested: Option<i64>) -> Result<u64, Error> {
        match requested {
            None => Ok(self.default_seconds.min(self.max_seconds)),
            Some(s) if s < 0 => Err(Error::invalid("grace_period_seconds must be zero or more")),
            Some(s) if s.unsigned_abs() > self.max_seconds => Err(Error::invalid(format!(
                "grace_period_seconds must be at most {}",
                self.max_seconds
            ))),
            Some(s) => Ok(s.unsigned_abs()),
        }
    }
}

/// Longest text kept of a caller's self-description (User-Agent, hostname header).
pub const CALLER_TEXT_CHARS: usize = 200;

/// Who presented a credential, as the request describes itself: enough to tell the agents
/// still using a previous secret apart.
#[derive(Debug, Clone, Copy, Default)]
pub struct Presenter<'a> {
    pub source: Option<std::net::IpAddr>,
    pub user_agent: Option<&'a str>,
    /// The Agent's `X-Dd-Hostname` / `X-Datadog-Hostname`, where present.
    pub hostname: Option<&'a str>,
}

/// One distinct caller of a key's previous secret; empty strings where it said nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Caller {
    pub source: String,
    pub user_agent: String,
    pub hostname: String,
}

impl Caller {
    pub fn of(presenter: &Presenter<'_>) -> Self {
        let text = |t: Option<&str>| {
            t.map(|t| t.chars().take(CALLER_TEXT_CHARS).collect())
                .unwrap_or_default()
        };
        Self {
            source: presenter
                .source
                .map(|ip| ip.to_string())
                .unwrap_or_default(),
            user_agent: text(presenter.user_agent),
            hostname: text(presenter.hostname),
        }
    }
}

/// How often, and when, a caller presented a key's previous secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerSeen {
    pub key_id: Uuid,
    pub org_id: Uuid,
    pub caller: Caller,
    pub first_seen: Micros,
    pub last_seen: Micros,
    pub requests: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_defaults_caps_and_refuses_negative() {
        let policy = GracePolicy {
            default_seconds: 3_600,
            max_seconds: 86_400,
        };
        assert_eq!(policy.grace(None).unwrap(), 3_600);
        assert_eq!(policy.grace(Some(0)).unwrap(), 0);
        assert_eq!(policy.grace(Some(86_400)).unwrap(), 86_400);
        assert!(policy.grace(Some(86_401)).is_err());
        assert!(policy.grace(Some(-1)).is_err());
        let tight = GracePolicy {
            default_seconds: 100,
            max_seconds: 10,
        };
        assert_eq!(tight.grace(None).unwrap(), 10);
    }

    #[test]
    fn a_previous_secret_dies_at_its_deadline() {
        let digest = KeyDigest::of("old");
        let previous = PreviousSecret {
            digest,
            kind: RotatedKind::ApiKey,
            org_id: Uuid::nil(),
            key_id: Uuid::nil(),
            current_digest: KeyDigest::of("new"),
            rotated_at: 10,
            valid_until: 20,
        };
        assert!(previous.valid_at(19));
        assert!(!previous.valid_at(20));
        for kind in [
            RotatedKind::ApiKey,
            RotatedKind::ApplicationKey,
            RotatedKind::ClientToken,
        ] {
            assert_eq!(RotatedKind::parse(kind.as_str()), Some(kind));
        }
    }
}
