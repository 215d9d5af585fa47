//! Extractors for what `middleware::authenticate` established. A handler that names one on
//! a route declared with weaker access gets a 500, which the route tests catch.

use crate::domain::credential::{ApiKeyEntry, ClientTokenEntry};
use crate::domain::principal::Principal;
use crate::domain::secret::Secret;
use crate::domain::session::Session;
use crate::error::Error;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The caller of a management endpoint.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

/// The console session a request came with (routes declared `Access::Session`).
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub token: Secret,
    pub session: Session,
}

/// The client token a request presented, valid.
#[derive(Debug, Clone)]
pub struct ValidClientToken(pub ClientTokenEntry);

/// What the intake gate allowed a request as (routes declared `Access::Intake`).
#[derive(Debug, Clone)]
pub struct Intake(pub crate::service::intake::IntakeGrant);

/// The client's address: the peer, or the client a trusted proxy names.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::IpAddr);

/// The API key a request presented, valid.
#[derive(Debug, Clone)]
pub struct ValidApiKey(pub ApiKeyEntry);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| Error::internal("route reads a caller it does not authenticate"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ValidApiKey {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<ValidApiKey>()
            .cloned()
            .ok_or_else(|| Error::internal("route reads an API key it does not authenticate"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ConsoleSession {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<ConsoleSession>()
            .cloned()
            .ok_or_else(|| Error::internal("route reads a session it does not authenticate"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Intake {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Intake>()
            .cloned()
            .ok_or_else(|| Error::internal("route reads a gate decision it does not make"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .ok_or_else(|| Error::internal("no client address on this request"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ValidClientToken {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<ValidClientToken>()
            .cloned()
            .ok_or_else(|| Error::internal("route reads a client token it does not authenticate"))
    }
}
