//! Our own body and path extractors, so every rejection comes back in Datadog's error
//! shape (the official clients parse error bodies) rather than axum's plain text.

use crate::error::Error;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;

#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
pub struct ApiJson<T>(pub T);

/// A path segment as text; each handler decides what a malformed id means (Datadog: 404).
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Error))]
pub struct ApiPath<T>(pub T);

impl From<JsonRejection> for Error {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => {
                Error::UnsupportedMediaType("Content-Type must be application/json".to_owned())
            }
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Error::TooLarge("Request body is too large".to_owned())
            }
            JsonRejection::JsonSyntaxError(e) => Error::invalid(e.body_text()),
            JsonRejection::JsonDataError(e) => Error::invalid(e.body_text()),
            other => Error::invalid(other.body_text()),
        }
    }
}

impl From<PathRejection> for Error {
    fn from(_: PathRejection) -> Self {
        Error::NotFound("Not found")
    }
}
