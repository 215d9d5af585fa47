//! `/api/v2/service_accounts/{service_account_id}/application_keys`.

use super::{CreateRequest, RotateRequest, Surface, UpdateRequest};
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::http::extract::{ApiJson, ApiPath, OptionalJson};
use crate::service::Services;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use uuid::Uuid;

fn surface(service_account_id: &str) -> Result<Surface> {
    Uuid::parse_str(service_account_id)
        .map(Surface::ServiceAccount)
        .map_err(|_| Error::NotFound("Service account not found"))
}

pub async fn list(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath(sa): ApiPath<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    super::list(&s, &who, surface(&sa)?, q.as_deref()).await
}

pub async fn create(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath(sa): ApiPath<String>,
    ApiJson(body): ApiJson<CreateRequest>,
) -> Result<Response> {
    super::create(&s, &who, surface(&sa)?, body).await
}

pub async fn get(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath((sa, id)): ApiPath<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    super::get(&s, &who, surface(&sa)?, &id, q.as_deref()).await
}

pub async fn update(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath((sa, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<UpdateRequest>,
) -> Result<Response> {
    super::update(&s, &who, surface(&sa)?, &id, body).await
}

pub async fn delete(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath((sa, id)): ApiPath<(String, String)>,
) -> Result<StatusCode> {
    super::delete(&s, &who, surface(&sa)?, &id).await
}

pub async fn rotate(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath((service_account_id, id)): ApiPath<(String, String)>,
    OptionalJson(body): OptionalJson<RotateRequest>,
) -> Result<Response> {
    super::rotate(&s, &who, surface(&service_account_id)?, &id, body).await
}
