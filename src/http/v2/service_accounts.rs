//! `POST /api/v2/service_accounts`: a user that acts only through its application keys.

use super::users::{new_user, user_document, CreateRequest};
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::http::extract::ApiJson;
use crate::service::users::NewUser;
use crate::service::Services;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Also run by the fuzz targets.
pub(crate) fn parse_create(body: CreateRequest) -> Result<NewUser> {
    if body.data.attributes.service_account != Some(true) {
        return Err(Error::invalid("attributes.service_account must be true"));
    }
    new_user(body.data)
}

pub async fn create(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiJson(body): ApiJson<CreateRequest>,
) -> Result<Response> {
    let account = services
        .create_service_account(&who, parse_create(body)?)
        .await?;
    Ok((
        StatusCode::CREATED,
        user_document(&services, &account).await?,
    )
        .into_response())
}
