//! The one error type of the use cases. `http::error` maps it to a status and Datadog's
//! `{"errors":[...]}` body in a single `match`; nothing else decides a status code.

use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input the caller can fix (400).
    #[error("{0}")]
    Invalid(String),
    /// The resource does not exist for this caller (404). The text is Datadog's.
    #[error("{0}")]
    NotFound(&'static str),
    /// Not found, with a message naming the id (Datadog's users: `<id> not found`).
    #[error("{0}")]
    NotFoundText(String),
    /// A uniqueness rule was broken (409).
    #[error("{0}")]
    Conflict(String),
    /// A rule about the organization's keys refused the change (400), e.g. the key limits.
    #[error("{0}")]
    Refused(String),
    /// The body's id and the path's id differ (422, as Datadog answers for users).
    #[error("{0}")]
    Mismatch(String),
    /// The body is not JSON by its Content-Type (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body is larger than the server accepts (413).
    #[error("{0}")]
    TooLarge(String),
    /// A console sign-in failed or its session ended (401): the console signs in again.
    #[error("{0}")]
    Unauthorized(String),
    /// A console request that changes something came without its session's CSRF token (403).
    #[error("Missing or invalid CSRF token; reload the page and try again")]
    CsrfRejected,
    /// Missing, wrong or insufficient credentials (403).
    #[error("Forbidden")]
    Forbidden,
    /// The endpoint is turned off for this organization (403), e.g. v1 application keys in
    /// One-Time Read mode.
    #[error("{0}")]
    Disabled(String),
    /// This node cannot vouch for credentials right now (503).
    #[error("{0}")]
    Unavailable(String),
    /// `/api/v1/validate` without any key (403 `API key required`).
    #[error("API key required")]
    ApiKeyRequired,
    /// Anything the caller cannot fix. The cause is logged once, never sent.
    #[error("internal error: {0}")]
    Internal(#[source] anyhow::Error),
}

impl Error {
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }

    pub fn internal(cause: impl fmt::Display) -> Self {
        Error::Internal(anyhow::anyhow!("{cause}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
