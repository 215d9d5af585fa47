//! Our own body and path extractors, so every rejection comes back in Datadog's error
//! shape (the official clients parse error bodies) rather than axum's plain text.

use crate::error::Error;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::marker::PhantomData;

/// A JSON body, which must be an object (see `Object`).
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let axum::Json(Object(value)) = axum::Json::<Object<T>>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

/// A value that must be a JSON object. serde's derived structs also take arrays, filling the
/// fields by position, so `"attributes": ["x", null]` would pass for a name and `null` scopes;
/// every struct of a request body is read through this instead.
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OnlyMaps<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for OnlyMaps<T> {
            type Value = T;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(OnlyMaps(PhantomData))
            .map(Object)
    }
}

/// For `#[serde(deserialize_with = "object")]` on a struct-typed field: see `Object`.
pub fn object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Object::deserialize(deserializer).map(|Object(value)| value)
}

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

/// A JSON body that may be left out: `None` when the request has no body at all.
pub struct OptionalJson<T>(pub Option<T>);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let headers = req.headers();
        let length = headers
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok());
        let chunked = headers.contains_key(axum::http::header::TRANSFER_ENCODING);
        if !chunked && length.is_none_or(|l| l.trim() == "0") {
            return Ok(OptionalJson(None));
        }
        let ApiJson(value) = ApiJson::<T>::from_request(req, state).await?;
        Ok(OptionalJson(Some(value)))
    }
}
