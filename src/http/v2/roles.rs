//! `/api/v2/roles`: the managed roles and the organization's custom roles, and cloning.

use crate::auth::Caller;
use crate::domain::list::MAX_PAGE_SIZE;
use crate::domain::permission::{catalog, PermissionSet};
use crate::domain::role::{RoleName, RoleQuery, RoleSortField};
use crate::error::{Error, Result};
use crate::http::extract::{object, ApiJson, ApiPath, Object};
use crate::http::jsonapi::{expect_type, RoleResource};
use crate::http::params::QueryParams;
use crate::service::roles::{CountedRole, NewRole, RoleUpdate};
use crate::service::Services;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

pub const TYPE: &str = "roles";
const SORT_FIELDS: &[&str] = &["name", "modified_at", "user_count"];

#[derive(Deserialize)]
pub struct CreateRequest {
    #[serde(deserialize_with = "object")]
    data: CreateData,
}

#[derive(Deserialize)]
struct CreateData {
    #[serde(rename = "type")]
    kind: String,
    #[serde(deserialize_with = "object")]
    attributes: RoleAttributes,
    relationships: Option<Object<RoleRelationships>>,
}

#[derive(Deserialize)]
pub struct UpdateRequest {
    #[serde(deserialize_with = "object")]
    data: UpdateData,
}

#[derive(Deserialize)]
struct UpdateData {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    attributes: Option<Object<RoleAttributes>>,
    relationships: Option<Object<RoleRelationships>>,
}

/// `receives_permissions_from` is accepted and ignored: keyplane's managed roles never
/// gain permissions after a release, so there is nothing to inherit.
#[derive(Deserialize)]
struct RoleAttributes {
    name: Option<String>,
    default_permissions_opt_out: Option<bool>,
}

#[derive(Deserialize)]
struct RoleRelationships {
    permissions: Option<Object<PermissionLinkages>>,
}

#[derive(Deserialize)]
struct PermissionLinkages {
    data: Vec<Object<Linkage>>,
}

/// `{"id": …, "type": …}` naming a permission or a user.
#[derive(Deserialize)]
pub(super) struct Linkage {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// A permission named by its id. Datadog answers an unknown id with this exact text.
pub(super) fn permission_index(link: &Linkage) -> Result<usize> {
    if link.kind.as_deref().is_some_and(|k| k != "permissions") {
        return Err(Error::invalid("400 BAD REQUEST"));
    }
    link.id
        .as_deref()
        .and_then(|id| Uuid::parse_str(id).ok())
        .and_then(|id| catalog().index_of_id(id))
        .filter(|i| catalog().get(*i).is_some_and(|p| p.listed))
        .ok_or_else(|| Error::invalid("Invalid input "))
}

fn permissions(relationships: Option<Object<RoleRelationships>>) -> Result<Option<PermissionSet>> {
    relationships
        .and_then(|Object(r)| r.permissions)
        .map(|Object(links)| {
            links
                .data
                .iter()
                .map(|Object(link)| permission_index(link))
                .collect::<Result<PermissionSet>>()
        })
        .transpose()
}

/// Roles answer `<id> not found` for unknown and malformed ids alike.
pub(super) fn role_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| Error::NotFoundText(format!("{raw} not found")))
}

fn required_name(name: Option<String>) -> Result<RoleName> {
    RoleName::parse(&name.ok_or_else(|| Error::invalid("Required parameter 'name' is missing"))?)
}

fn role_body((role, count): &CountedRole) -> Json<serde_json::Value> {
    Json(json!({"data": RoleResource::new(role, Some(*count))}))
}

fn parse_list(params: &QueryParams) -> Result<RoleQuery> {
    let sort = params.sort(RoleSortField::Name, SORT_FIELDS, RoleSortField::parse)?;
    let ids = params
        .get("filter[id]")
        .map(|raw| {
            raw.split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    Uuid::parse_str(s.trim())
                        .map_err(|_| Error::invalid("filter[id] takes role ids"))
                })
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?
        .unwrap_or_default();
    Ok(RoleQuery {
        filter: params.get("filter").map(str::to_owned),
        ids,
        sort: sort.field,
        descending: sort.descending,
        page: params.page_within(10, MAX_PAGE_SIZE)?,
    })
}

pub async fn list(
    State(services): State<Services>,
    Caller(who): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<serde_json::Value>> {
    let query = parse_list(&QueryParams::parse(query.as_deref()))?;
    let (roles, total, filtered) = services.list_roles(&who, &query).await?;
    let data: Vec<RoleResource> = roles
        .iter()
        .map(|(r, count)| RoleResource::new(r, Some(*count)))
        .collect();
    Ok(Json(json!({
        "data": data,
        "meta": {"page": {"total_count": total, "total_filtered_count": filtered}}
    })))
}

pub async fn create(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiJson(body): ApiJson<CreateRequest>,
) -> Result<Json<serde_json::Value>> {
    expect_type(&body.data.kind, TYPE)?;
    let attrs = body.data.attributes;
    let new = NewRole {
        name: required_name(attrs.name)?,
        permissions: permissions(body.data.relationships)?.unwrap_or_default(),
        opt_out: attrs.default_permissions_opt_out.unwrap_or(false),
    };
    let role = services.create_role(&who, new).await?;
    Ok(role_body(&(role, 0)))
}

pub async fn get(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<serde_json::Value>> {
    let role = services.get_role(&who, role_id(&id)?).await?;
    Ok(role_body(&role))
}

pub async fn update(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateRequest>,
) -> Result<Json<serde_json::Value>> {
    let id = role_id(&id)?;
    let data = body.data;
    if Uuid::parse_str(&data.id).ok() != Some(id) {
        return Err(Error::Mismatch(
            "The id attribute in the request body does not match the role_id in the URL".to_owned(),
        ));
    }
    expect_type(&data.kind, TYPE)?;
    let attrs = data.attributes.map(|Object(a)| a);
    let opt_out = attrs
        .as_ref()
        .and_then(|a| a.default_permissions_opt_out)
        .unwrap_or(false);
    let update = RoleUpdate {
        name: attrs
            .and_then(|a| a.name)
            .map(|n| RoleName::parse(&n))
            .transpose()?,
        permissions: permissions(data.relationships)?,
        opt_out,
    };
    let role = services.update_role(&who, id, update).await?;
    Ok(role_body(&role))
}

pub async fn delete(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    services.delete_role(&who, role_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct CloneRequest {
    #[serde(deserialize_with = "object")]
    data: CloneData,
}

#[derive(Deserialize)]
struct CloneData {
    #[serde(rename = "type")]
    kind: String,
    #[serde(deserialize_with = "object")]
    attributes: RoleAttributes,
}

pub async fn clone(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CloneRequest>,
) -> Result<Response> {
    let id = role_id(&id)?;
    expect_type(&body.data.kind, TYPE)?;
    let name = required_name(body.data.attributes.name)?;
    let role = services.clone_role(&who, id, name).await?;
    Ok(role_body(&(role, 0)).into_response())
}
