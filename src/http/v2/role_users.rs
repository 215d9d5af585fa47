//! `/api/v2/roles/{role_id}/users`: who holds a role; adding and removing holders.

use super::roles::{role_id, Linkage};
use super::users::{parse_list, user_id};
use crate::auth::Caller;
use crate::domain::user::User;
use crate::error::{Error, Result};
use crate::http::extract::{object, ApiJson, ApiPath};
use crate::http::jsonapi::{Included, RoleResource, UserResource};
use crate::http::params::QueryParams;
use crate::service::Services;
use axum::extract::{RawQuery, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
pub struct UserRequest {
    #[serde(deserialize_with = "object")]
    data: Linkage,
}

pub async fn list(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>> {
    let id = role_id(&id)?;
    let query = parse_list(&QueryParams::parse(query.as_deref()))?;
    let (role, users, filtered, total) = services.role_users(&who, id, &query).await?;
    let data: Vec<UserResource> = users.iter().map(UserResource::from).collect();
    Ok(Json(json!({
        "included": [Included::Role(RoleResource::new(&role, Some(total)))],
        "meta": {"page": {"total_filtered_count": filtered, "total_count": total}},
        "data": data,
    })))
}

fn members(users: &[User]) -> Json<Value> {
    let data: Vec<UserResource> = users.iter().map(UserResource::from).collect();
    Json(json!({"meta": {"page": {"total_count": users.len()}}, "data": data}))
}

async fn set(
    services: &Services,
    who: &crate::domain::principal::Principal,
    id: &str,
    request: UserRequest,
    held: bool,
) -> Result<Json<Value>> {
    let role = role_id(id)?;
    if request.data.kind.as_deref().is_some_and(|k| k != "users") {
        return Err(Error::invalid("data.type must be users"));
    }
    let user = user_id(
        request
            .data
            .id
            .as_deref()
            .ok_or_else(|| Error::invalid("data.id is required"))?,
    )?;
    let users = services.set_user_role(who, role, user, held).await?;
    Ok(members(&users))
}

pub async fn add(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<UserRequest>,
) -> Result<Json<Value>> {
    set(&services, &who, &id, request, true).await
}

pub async fn remove(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<UserRequest>,
) -> Result<Json<Value>> {
    set(&services, &who, &id, request, false).await
}
