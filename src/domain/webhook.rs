//! Webhook events: which audit actions leave keyplane, the body they carry and its signature.
//!
//! A body names the key (id, kind, name) and what happened to it, never a secret, digest or
//! any part of a key value. The signature follows Stripe's scheme so existing verifiers fit:
//! `X-Keyplane-Signature: t=<unix seconds>,v1=<hex HMAC-SHA-256(secret, "<t>.<body>")>`.

use super::audit::Action;
use super::time::{self, Micros};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use uuid::Uuid;

pub const SIGNATURE_HEADER: &str = "X-Keyplane-Signature";
pub const EVENT_HEADER: &str = "X-Keyplane-Event";
pub const DELIVERY_HEADER: &str = "X-Keyplane-Delivery";

/// What happened to a key, as the event type's second half.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happened {
    Created,
    Rotated,
    Revoked,
    Leaked,
    ExpiringSoon,
    Expired,
}

impl Happened {
    pub fn as_str(self) -> &'static str {
        match self {
            Happened::Created => "created",
            Happened::Rotated => "rotated",
            Happened::Revoked => "revoked",
            Happened::Leaked => "leaked",
            Happened::ExpiringSoon => "expiring_soon",
            Happened::Expired => "expired",
        }
    }
}

/// The kind of key an audit action names, when the action itself says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Known(&'static str),
    /// A leak record's target: its kind is in the leak record.
    Leaked,
    /// An expiry notice's target: an API key, application key or client token.
    Expiring,
}

/// The events an audit action stands for (a leak that revoked the key is two: leaked, then
/// revoked); empty for actions that are no webhook event.
pub fn events_of(action: Action) -> (Option<Subject>, &'static [Happened]) {
    use Happened::{Created, Leaked, Revoked, Rotated};
    const API: Subject = Subject::Known("api_key");
    const APP: Subject = Subject::Known("application_key");
    const TOKEN: Subject = Subject::Known("client_token");
    match action {
        Action::ApiKeyCreated => (Some(API), &[Created]),
        Action::ApiKeyRotated => (Some(API), &[Rotated]),
        Action::ApiKeyRevoked => (Some(API), &[Revoked]),
        Action::ApplicationKeyCreated => (Some(APP), &[Created]),
        Action::ApplicationKeyRotated => (Some(APP), &[Rotated]),
        Action::ApplicationKeyRevoked => (Some(APP), &[Revoked]),
        Action::ClientTokenCreated => (Some(TOKEN), &[Created]),
        Action::ClientTokenRotated => (Some(TOKEN), &[Rotated]),
        Action::ClientTokenRevoked => (Some(TOKEN), &[Revoked]),
        Action::LeakFlagged | Action::LeakKeptLastKey => (Some(Subject::Leaked), &[Leaked]),
        Action::LeakRevoked => (Some(Subject::Leaked), &[Leaked, Revoked]),
        Action::KeyExpiringSoon => (Some(Subject::Expiring), &[Happened::ExpiringSoon]),
        Action::KeyExpired => (Some(Subject::Expiring), &[Happened::Expired]),
        _ => (None, &[]),
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EventData {
    pub key_id: Uuid,
    pub kind: &'static str,
    /// `None` once the key is gone (revoked): its name went with it.
    pub name: Option<String>,
}

/// One event's body.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Event {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    pub occurred_at: String,
    pub org_id: Uuid,
    pub data: EventData,
}

impl Event {
    pub fn new(happened: Happened, at: Micros, org_id: Uuid, data: EventData) -> Self {
        Self {
            id: Uuid::new_v4(),
            event_type: format!("{}.{}", data.kind, happened.as_str()),
            occurred_at: time::format(at),
            org_id,
            data,
        }
    }
}

/// The `X-Keyplane-Signature` value of `body` sent at `unix` seconds.
pub fn signature(secret: &[u8], unix: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length; new_from_slice cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(unix.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={unix},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// What a receiver's answer means for the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Worth another attempt: 5xx, 408, 429, or no answer.
    Retry,
    /// The receiver refused it for good (other 4xx): no retry.
    Refused,
}

impl Outcome {
    pub fn of_status(status: u16) -> Self {
        match status {
            200..=299 => Outcome::Delivered,
            408 | 429 => Outcome::Retry,
            400..=499 => Outcome::Refused,
            _ => Outcome::Retry,
        }
    }
}

/// Whether `value` is a webhook URL an org config takes: null (none) or an http(s) URL.
pub fn accepts_url(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => true,
        serde_json::Value::String(s) => {
            s.len() <= 2048
                && reqwest::Url::parse(s)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_stripes_scheme() {
        // HMAC-SHA256("secret", "1700000000.{}") computed independently (openssl dgst).
        let sig = signature(b"secret", 1_700_000_000, b"{}");
        assert_eq!(
            sig,
            "t=1700000000,v1=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
        );
        assert_ne!(sig, signature(b"other", 1_700_000_000, b"{}"));
        assert_ne!(sig, signature(b"secret", 1_700_000_001, b"{}"));
    }

    #[test]
    fn only_key_events_leave() {
        assert_eq!(events_of(Action::UserCreated).1, &[] as &[Happened]);
        assert_eq!(
            events_of(Action::LeakRevoked).1,
            &[Happened::Leaked, Happened::Revoked]
        );
        assert_eq!(
            events_of(Action::ClientTokenRotated).0,
            Some(Subject::Known("client_token"))
        );
    }

    #[test]
    fn status_decides_retry() {
        assert_eq!(Outcome::of_status(204), Outcome::Delivered);
        assert_eq!(Outcome::of_status(500), Outcome::Retry);
        assert_eq!(Outcome::of_status(429), Outcome::Retry);
        assert_eq!(Outcome::of_status(410), Outcome::Refused);
    }

    #[test]
    fn urls_are_http_or_null() {
        use serde_json::json;
        assert!(accepts_url(&json!(null)));
        assert!(accepts_url(&json!("https://hooks.example.com/keyplane")));
        assert!(!accepts_url(&json!("ftp://example.com")));
        assert!(!accepts_url(&json!("not a url")));
        assert!(!accepts_url(&json!(3)));
    }
}
