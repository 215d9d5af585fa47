//! `expires_at` on API keys, application keys and client tokens: read from a body (absent,
//! `null` or an RFC 3339 date-time) and answered only when set, so a key without expiry keeps
//! Datadog's exact attribute set.

use crate::domain::expiry;
use crate::domain::time::{self, Micros};
use crate::error::Result;

/// A create's `expires_at`: `null` is the same as absent.
pub(crate) fn on_create(raw: Option<Option<String>>) -> Result<Option<Micros>> {
    raw.flatten().as_deref().map(expiry::parse).transpose()
}

/// An update's `expires_at`: absent leaves it, `null` clears it, a date-time sets it.
pub(crate) fn on_update(raw: Option<Option<String>>) -> Result<Option<Option<Micros>>> {
    raw.map(|v| v.as_deref().map(expiry::parse).transpose())
        .transpose()
}

/// The attribute as answered, in the format of the key's other timestamps.
pub(crate) fn shown(expires_at: Option<Micros>) -> Option<String> {
    expires_at.map(time::format)
}
