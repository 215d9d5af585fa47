//! `/api/v2/application_keys`: every key of the organization (no create: keys are made
//! for a user or a service account).

use super::{RotateRequest, Surface::Org, UpdateRequest};
use crate::auth::Caller;
use crate::error::Result;
use crate::http::extract::{ApiJson, ApiPath, OptionalJson};
use crate::service::Services;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

pub async fn list(
    State(s): State<Services>,
    Caller(who): Caller,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    super::list(&s, &who, Org, q.as_deref()).await
}

pub async fn get(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    super::get(&s, &who, Org, &id, q.as_deref()).await
}

pub async fn update(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateRequest>,
) -> Result<Response> {
    super::update(&s, &who, Org, &id, body).await
}

pub async fn delete(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    super::delete(&s, &who, Org, &id).await
}

pub async fn rotate(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<RotateRequest>,
) -> Result<Response> {
    super::rotate(&s, &who, Org, &id, body).await
}
