//! Timestamps are microseconds since the Unix epoch, UTC. Datadog renders them as
//! `2025-09-08T09:24:42.999350+00:00`; filters accept any RFC 3339 date-time or a plain date.

use std::time::{SystemTime, UNIX_EPOCH};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

pub type Micros = i64;

/// Read on every request (usage, expiry, staleness): straight from the system clock, as
/// `OffsetDateTime::now_utc` would add a calendar computation each time.
pub fn now() -> Micros {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_micros()).unwrap_or(Micros::MAX),
        // A clock set before 1970.
        Err(before) => -i64::try_from(before.duration().as_micros()).unwrap_or(Micros::MAX),
    }
}

fn micros_of(t: OffsetDateTime) -> Micros {
    // i128 -> i64 cannot overflow for any date the parser accepts (years 0..=9999).
    (t.unix_timestamp_nanos() / 1_000) as Micros
}

/// Datadog's wire format for key and user timestamps.
pub fn format(micros: Micros) -> String {
    let fmt = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00"
    );
    OffsetDateTime::from_unix_timestamp_nanos(micros as i128 * 1_000)
        .ok()
        .and_then(|t| t.to_offset(UtcOffset::UTC).format(fmt).ok())
        .unwrap_or_default()
}

/// Parses a filter bound: RFC 3339 (`2020-11-24T18:46:21+00:00`, `…Z`, fractional seconds)
/// or a plain `YYYY-MM-DD`, taken as midnight UTC.
pub fn parse(text: &str) -> Option<Micros> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(micros_of(t));
    }
    let date = Date::parse(text, format_description!("[year]-[month]-[day]")).ok()?;
    Some(micros_of(date.midnight().assume_utc()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_datadog() {
        assert_eq!(
            format(1_757_323_482_999_350),
            "2025-09-08T09:24:42.999350+00:00"
        );
    }

    #[test]
    fn parses_filter_bounds() {
        assert_eq!(
            parse("2025-09-08T09:24:42.999350+00:00"),
            Some(1_757_323_482_999_350)
        );
        assert_eq!(
            parse("2025-09-08T11:24:42.999350+02:00"),
            Some(1_757_323_482_999_350)
        );
        assert_eq!(parse("1970-01-02"), Some(86_400_000_000));
        assert_eq!(parse("yesterday"), None);
        assert_eq!(parse("2020-13-01"), None);
    }
}
