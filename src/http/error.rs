//! The one place an `Error` becomes a status code and Datadog's `{"errors":[...]}` body.

use crate::error::Error;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

#[derive(Serialize)]
pub struct ErrorBody {
    pub errors: Vec<String>,
}

pub fn error_response(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(ErrorBody {
            errors: vec![message.into()],
        }),
    )
        .into_response()
}

/// A body that needs no serializing, for the refusals a flood of bad keys produces.
fn static_error(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match &self {
            Error::Forbidden => {
                return static_error(StatusCode::FORBIDDEN, r#"{"errors":["Forbidden"]}"#)
            }
            Error::ApiKeyRequired => {
                return static_error(StatusCode::FORBIDDEN, r#"{"errors":["API key required"]}"#)
            }
            _ => {}
        }
        let status = match &self {
            Error::Invalid(_) | Error::Refused(_) => StatusCode::BAD_REQUEST,
            Error::NotFound(_) | Error::NotFoundText(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Mismatch(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Forbidden | Error::ApiKeyRequired | Error::Disabled(_) | Error::CsrfRejected => {
                StatusCode::FORBIDDEN
            }
            Error::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                return error_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
            }
        };
        error_response(status, self.to_string())
    }
}
