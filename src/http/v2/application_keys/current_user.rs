//! `/api/v2/current_user/application_keys`: the caller's own keys.

use super::{CreateRequest, RotateRequest, Surface::CurrentUser, UpdateRequest};
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
    super::list(&s, &who, CurrentUser, q.as_deref()).await
}

pub async fn create(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiJson(body): ApiJson<CreateRequest>,
) -> Result<Response> {
    super::create(&s, &who, CurrentUser, body).await
}

pub async fn get(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    super::get(&s, &who, CurrentUser, &id, q.as_deref()).await
}

pub async fn update(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateRequest>,
) -> Result<Response> {
    super::update(&s, &who, CurrentUser, &id, body).await
}

pub async fn delete(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    super::delete(&s, &who, CurrentUser, &id).await
}

pub async fn rotate(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<RotateRequest>,
) -> Result<Response> {
    super::rotate(&s, &who, CurrentUser, &id, body).await
}
