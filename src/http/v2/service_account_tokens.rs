//! `/api/v2/service_accounts/{service_account_id}/access_tokens`: a service account's
//! tokens, in the shapes of `personal_access_tokens.rs`.

use super::personal_access_tokens::{
    created, list_body, one, parse_create, parse_list, parse_update, token_id, CreateRequest,
    UpdateRequest,
};
use crate::auth::Caller;
use crate::domain::access_token::TokenKind;
use crate::error::{Error, Result};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::params::QueryParams;
use crate::service::access_tokens::TokenSurface;
use crate::service::Services;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use uuid::Uuid;

fn surface(raw: &str) -> Result<TokenSurface> {
    Uuid::parse_str(raw)
        .map(TokenSurface::ServiceAccount)
        .map_err(|_| Error::NotFound("Service account not found"))
}

pub async fn create(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(sa): ApiPath<String>,
    ApiJson(body): ApiJson<CreateRequest>,
) -> Result<Response> {
    let surface = surface(&sa)?;
    let (name, scopes, expires_at) = parse_create(body, TokenKind::ServiceAccount)?;
    let (token, secret) = services
        .create_access_token(&who, surface, name, scopes, expires_at)
        .await?;
    Ok(created(&token, &secret))
}

pub async fn list(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(sa): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let surface = surface(&sa)?;
    let query = parse_list(&QueryParams::parse(query.as_deref()))?;
    let (tokens, total) = services.list_access_tokens(&who, surface, query).await?;
    Ok(list_body(&tokens, total))
}

pub async fn get(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath((sa, id)): ApiPath<(String, String)>,
) -> Result<Response> {
    let surface = surface(&sa)?;
    let token = services
        .get_access_token(&who, surface, token_id(&id)?)
        .await?;
    Ok(one(&token))
}

pub async fn update(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath((sa, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<UpdateRequest>,
) -> Result<Response> {
    let surface = surface(&sa)?;
    let id = token_id(&id)?;
    let change = parse_update(body, id, TokenKind::ServiceAccount)?;
    let token = services
        .update_access_token(&who, surface, id, change)
        .await?;
    Ok(one(&token))
}

pub async fn delete(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath((sa, id)): ApiPath<(String, String)>,
) -> Result<StatusCode> {
    let surface = surface(&sa)?;
    if let Ok(id) = Uuid::parse_str(&id) {
        services.revoke_access_token(&who, surface, id).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
