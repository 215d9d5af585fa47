//! `/api/v2/users`: Datadog's users, as far as key management needs them.

use crate::auth::Caller;
use crate::domain::list::Sort;
use crate::domain::user::{User, UserChange, UserQuery, UserSortField, UserStatus};
use crate::error::{Error, Result};
use crate::http::extract::{object, ApiJson, ApiPath, Object};
use crate::http::jsonapi::{
    expect_type, present, Body, ChangedResource, Document, Included, UserResource,
};
use crate::http::params::{QueryParams, USER_MAX_PAGE_SIZE};
use crate::service::users::{parse_email, parse_text, NewUser};
use crate::service::Services;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const TYPE: &str = "users";
const SORT_FIELDS: &[&str] = &["name", "email", "created_at", "modified_at", "status"];

#[derive(Deserialize)]
pub struct CreateRequest {
    #[serde(deserialize_with = "object")]
    pub(super) data: CreateData,
}

#[derive(Deserialize)]
pub(super) struct CreateData {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(deserialize_with = "object")]
    pub attributes: CreateAttributes,
    pub relationships: Option<Object<CreateRelationships>>,
}

#[derive(Deserialize)]
pub(super) struct CreateAttributes {
    pub email: Option<String>,
    pub name: Option<String>,
    pub title: Option<String>,
    pub service_account: Option<bool>,
}

#[derive(Deserialize)]
pub(super) struct CreateRelationships {
    roles: Option<Object<RoleLinkages>>,
}

#[derive(Deserialize)]
struct RoleLinkages {
    data: Vec<Object<RoleLinkage>>,
}

#[derive(Deserialize)]
struct RoleLinkage {
    id: String,
    #[serde(rename = "type")]
    kind: Option<String>,
}

pub type UpdateRequest = Body<ChangedResource<UpdateAttributes>>;

#[derive(Deserialize)]
pub struct UpdateAttributes {
    disabled: Option<bool>,
    email: Option<String>,
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    title: Option<Option<String>>,
}

#[derive(Serialize)]
struct ListBody {
    meta: ListMeta,
    data: Vec<UserResource>,
}

#[derive(Serialize)]
struct ListMeta {
    page: PageMeta,
}

#[derive(Serialize)]
struct PageMeta {
    total_count: u64,
    total_filtered_count: u64,
}

/// The parsed body of a user or service-account creation.
pub(super) fn new_user(data: CreateData) -> Result<NewUser> {
    expect_type(&data.kind, TYPE)?;
    let attrs = data.attributes;
    let email = attrs
        .email
        .ok_or_else(|| Error::invalid("Required parameter 'email' is missing"))?;
    let mut roles = Vec::new();
    for Object(link) in data
        .relationships
        .and_then(|Object(r)| r.roles)
        .map(|Object(r)| r.data)
        .unwrap_or_default()
    {
        if link.kind.as_deref().is_some_and(|k| k != "roles") {
            return Err(Error::invalid("relationships.roles must name roles"));
        }
        // Whether the role exists in the organization is the service's to say.
        let role = Uuid::parse_str(&link.id)
            .map_err(|_| Error::invalid(format!("Role {} not found", link.id)))?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    Ok(NewUser {
        email: parse_email(&email)?,
        name: attrs.name.map(|n| parse_text("name", n)).transpose()?,
        title: attrs.title.map(|t| parse_text("title", t)).transpose()?,
        roles,
    })
}

/// A user and its roles, as Datadog answers a create or a get.
pub(super) async fn user_document(
    services: &Services,
    user: &User,
) -> Result<Json<Document<UserResource>>> {
    let roles = services.roles_by_ids(user.org_id, &user.roles).await?;
    let roles: Vec<Included> = Included::users_with_roles(std::slice::from_ref(user), &roles)
        .into_iter()
        .skip(1)
        .collect();
    Ok(Json(Document {
        data: user.into(),
        included: (!roles.is_empty()).then_some(roles),
    }))
}

/// Users answer `<id> not found` for unknown and malformed ids alike.
pub(super) fn user_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| Error::NotFoundText(format!("{raw} not found")))
}

pub(crate) fn parse_create(body: CreateRequest) -> Result<NewUser> {
    new_user(body.data)
}

pub(crate) fn parse_update(body: UpdateRequest, id: Uuid) -> Result<UserChange> {
    let attrs = body.data.attributes(id, TYPE)?;
    Ok(UserChange {
        email: attrs.email.as_deref().map(parse_email).transpose()?,
        name: attrs.name.map(|n| parse_text("name", n)).transpose()?,
        title: attrs
            .title
            .map(|t| t.map(|t| parse_text("title", t)).transpose())
            .transpose()?,
        disabled: attrs.disabled,
        password_hash: None,
    })
}

pub(crate) fn parse_list(params: &QueryParams) -> Result<UserQuery> {
    let mut sort = params.sort(UserSortField::Name, SORT_FIELDS, UserSortField::parse)?;
    match params.get("sort_dir") {
        None => {}
        Some(dir) if dir.eq_ignore_ascii_case("asc") => {}
        Some(dir) if dir.eq_ignore_ascii_case("desc") => {
            sort = Sort {
                descending: true,
                ..sort
            }
        }
        Some(_) => return Err(Error::invalid("sort_dir must be asc or desc")),
    }
    let statuses = params
        .get("filter[status]")
        .map(|raw| {
            raw.split(',')
                .map(|s| {
                    UserStatus::parse(s.trim()).ok_or_else(|| {
                        Error::invalid("filter[status] takes Active, Pending and Disabled")
                    })
                })
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?
        .unwrap_or_default();
    Ok(UserQuery {
        filter: params.get("filter").map(str::to_owned),
        statuses,
        sort,
        page: params.page_within(10, USER_MAX_PAGE_SIZE)?,
    })
}

pub async fn create(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiJson(body): ApiJson<CreateRequest>,
) -> Result<Response> {
    let user = services.create_user(&who, parse_create(body)?).await?;
    Ok((StatusCode::CREATED, user_document(&services, &user).await?).into_response())
}

pub async fn get(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    let user = services.get_user(&who, user_id(&id)?).await?;
    Ok(user_document(&services, &user).await?.into_response())
}

pub async fn list(
    State(services): State<Services>,
    Caller(who): Caller,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let query = parse_list(&QueryParams::parse(query.as_deref()))?;
    let (users, filtered, total) = services.list_users(&who, &query).await?;
    Ok(Json(ListBody {
        meta: ListMeta {
            page: PageMeta {
                total_count: total,
                total_filtered_count: filtered,
            },
        },
        data: users.iter().map(UserResource::from).collect(),
    })
    .into_response())
}

pub async fn update(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateRequest>,
) -> Result<Response> {
    let id = user_id(&id)?;
    let change = parse_update(body, id)?;
    let user = services.update_user(&who, id, change).await?;
    Ok(user_document(&services, &user).await?.into_response())
}

pub async fn disable(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    services.disable_user(&who, user_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
