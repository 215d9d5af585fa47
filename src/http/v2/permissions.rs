//! Permissions: Datadog's catalog, a role's permissions and a user's.

use super::roles::{permission_index, role_id, Linkage};
use super::users::user_id;
use crate::auth::Caller;
use crate::domain::permission::{catalog, Permission, PermissionSet};
use crate::error::Result;
use crate::http::extract::{object, ApiJson, ApiPath};
use crate::http::jsonapi::PermissionResource;
use crate::http::params::QueryParams;
use crate::service::Services;
use axum::extract::{RawQuery, State};
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub struct PermissionsBody {
    data: Vec<PermissionResource>,
}

fn body(set: &PermissionSet) -> Json<PermissionsBody> {
    Json(PermissionsBody {
        data: PermissionResource::list(set),
    })
}

#[derive(Deserialize)]
pub struct PermissionRequest {
    #[serde(deserialize_with = "object")]
    data: Linkage,
}

/// `GET /api/v2/permissions`: every permission Datadog lists for roles, in its order;
/// `include_scopes=true` adds those that are only scopes (`user_access_read`, …).
pub async fn list(Caller(who): Caller, RawQuery(query): RawQuery) -> Result<Json<PermissionsBody>> {
    who.require(Permission::UserAccessRead)?;
    let all = QueryParams::parse(query.as_deref())
        .boolean("include_scopes")?
        .unwrap_or(false);
    let catalog = catalog();
    let data = catalog
        .all()
        .iter()
        .filter(|p| all || p.listed)
        .map(PermissionResource::from)
        .collect();
    Ok(Json(PermissionsBody { data }))
}

pub async fn of_role(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PermissionsBody>> {
    let set = services.role_permissions(&who, role_id(&id)?).await?;
    Ok(body(&set))
}

async fn set(
    services: &Services,
    who: &crate::domain::principal::Principal,
    id: &str,
    request: &PermissionRequest,
    held: bool,
) -> Result<Json<PermissionsBody>> {
    let id = role_id(id)?;
    let permission = permission_index(&request.data)?;
    let set = services
        .set_role_permission(who, id, permission, held)
        .await?;
    Ok(body(&set))
}

pub async fn grant(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<PermissionRequest>,
) -> Result<Json<PermissionsBody>> {
    set(&services, &who, &id, &request, true).await
}

pub async fn revoke(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<PermissionRequest>,
) -> Result<Json<PermissionsBody>> {
    set(&services, &who, &id, &request, false).await
}

/// `GET /api/v2/users/{user_id}/permissions`: what the user's roles grant.
pub async fn of_user(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PermissionsBody>> {
    let set = services.user_permissions(&who, user_id(&id)?).await?;
    Ok(body(&set))
}
