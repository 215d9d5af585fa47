//! When an API key, application key or client token stops working: an optional instant,
//! checked against the clock at every request (never only when a node loads its keys), and
//! the organization's longest lifetime for new keys (`max_key_lifetime_days`).

use super::time::{self, Micros};
use crate::error::Error;

const DAY: Micros = 24 * 3_600 * 1_000_000;

/// Whether a key expiring at `expires_at` is refused at `now` (from that microsecond on).
pub fn expired(expires_at: Option<Micros>, now: Micros) -> bool {
    super::access_token::expired(expires_at, now)
}

/// An `expires_at` as sent: RFC 3339 / ISO 8601 (or a plain date, midnight UTC).
pub fn parse(raw: &str) -> Result<Micros, Error> {
    time::parse(raw).ok_or_else(|| {
        Error::invalid("expires_at must be an RFC 3339 date-time, such as 2027-01-31T12:00:00Z")
    })
}

/// The organization's longest lifetime of a key, in days; `None` when unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MaxLifetime(pub Option<u64>);

impl MaxLifetime {
    /// The org config's value: a positive whole number of days, else unlimited.
    pub fn of(value: &serde_json::Value) -> Self {
        Self(value.as_u64().filter(|d| *d > 0))
    }

    fn latest(self, from: Micros) -> Option<(u64, Micros)> {
        let days = self.0?;
        let span = i64::try_from(days).unwrap_or(i64::MAX).saturating_mul(DAY);
        Some((days, from.saturating_add(span)))
    }

    fn too_long(days: u64) -> Error {
        Error::invalid(format!(
            "expires_at is beyond this organization's max_key_lifetime_days ({days} days)"
        ))
    }

    /// The expiry of a key created at `now`: what was asked (in the future, within the
    /// limit), or `now` + the limit when nothing was asked.
    pub fn for_new(self, requested: Option<Micros>, now: Micros) -> Result<Option<Micros>, Error> {
        if let Some(at) = requested {
            in_future(at, now)?;
        }
        match (self.latest(now), requested) {
            (None, requested) => Ok(requested),
            (Some((_, latest)), None) => Ok(Some(latest)),
            (Some((days, latest)), Some(at)) if at > latest => Err(Self::too_long(days)),
            (Some(_), Some(at)) => Ok(Some(at)),
        }
    }

    /// A change of expiry at `now`: `Some(at)` sets it (in the future, at most the limit
    /// from now), `None` clears it, which a limit forbids.
    pub fn for_change(
        self,
        requested: Option<Micros>,
        now: Micros,
    ) -> Result<Option<Micros>, Error> {
        if let Some(at) = requested {
            in_future(at, now)?;
        }
        match (self.latest(now), requested) {
            (Some((days, _)), None) => Err(Error::invalid(format!(
                "expires_at cannot be cleared: this organization's max_key_lifetime_days is {days}"
            ))),
            (Some((days, latest)), Some(at)) if at > latest => Err(Self::too_long(days)),
            (_, requested) => Ok(requested),
        }
    }
}

/// A new key's expiry as asked, and the limit it is held to; resolved against the key's
/// `created_at`, so a key without one expires exactly `max_key_lifetime_days` after it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expiry {
    pub asked: Option<Micros>,
    pub limit: MaxLifetime,
}

impl Expiry {
    pub fn at(self, created_at: Micros) -> Result<Option<Micros>, Error> {
        self.limit.for_new(self.asked, created_at)
    }
}

fn in_future(at: Micros, now: Micros) -> Result<(), Error> {
    if at <= now {
        return Err(Error::invalid("expires_at must be in the future"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Micros = 1_800_000_000_000_000;

    #[test]
    fn refused_from_the_microsecond_it_is_reached() {
        assert!(!expired(None, NOW));
        assert!(!expired(Some(NOW + 1), NOW));
        assert!(expired(Some(NOW), NOW));
    }

    #[test]
    fn new_keys_follow_the_limit() {
        let unlimited = MaxLifetime::default();
        assert_eq!(unlimited.for_new(None, NOW).ok(), Some(None));
        assert!(unlimited.for_new(Some(NOW), NOW).is_err());
        let ninety = MaxLifetime(Some(90));
        assert_eq!(ninety.for_new(None, NOW).ok(), Some(Some(NOW + 90 * DAY)));
        assert_eq!(
            ninety.for_new(Some(NOW + DAY), NOW).ok(),
            Some(Some(NOW + DAY))
        );
        assert!(ninety.for_new(Some(NOW + 90 * DAY + 1), NOW).is_err());
    }

    #[test]
    fn a_limit_forbids_clearing() {
        let ninety = MaxLifetime(Some(90));
        assert!(ninety.for_change(None, NOW).is_err());
        assert_eq!(
            MaxLifetime::default().for_change(None, NOW).ok(),
            Some(None)
        );
        assert_eq!(MaxLifetime::of(&serde_json::json!(0)), MaxLifetime(None));
        assert_eq!(MaxLifetime::of(&serde_json::json!(7)), MaxLifetime(Some(7)));
    }
}
