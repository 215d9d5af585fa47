//! Application keys on the wire. The three surfaces share these shapes and operations;
//! what differs (whose keys, which relationships, `key` or not) follows the reference's
//! per-surface recordings and is decided by `Surface` and `View`.

pub mod current_user;
pub mod org;
pub mod service_account;

use crate::domain::application_key::{
    parse_scopes, ApplicationKey, ApplicationKeyChange, ApplicationKeyFilter, ApplicationKeyQuery,
    ApplicationKeySortField, MAX_PER_USER,
};
use crate::domain::leak::LeakedKey;
use crate::domain::name::KeyName;
use crate::domain::principal::Principal;
use crate::domain::secret::Secret;
use crate::domain::time::{self, Micros};
use crate::error::{Error, Result};
use crate::http::jsonapi::{
    present, with_leaks, Body, ChangedResource, Document, Included, ListDocument, NewResource,
    PageMeta, Relationship,
};
use crate::http::params::{QueryParams, APP_KEY_PAGE_SIZE};
use crate::http::v2::key_expiry;
pub(super) use crate::http::v2::rotation::RotateRequest;
use crate::http::v2::rotation::{requested_grace, RotatedDocument};
use crate::service::application_keys::Surface;
use crate::service::Services;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const TYPE: &str = "application_keys";
const NOT_FOUND: &str = "Application key not found";
const SORT_FIELDS: &[&str] = &["created_at", "last4", "name"];

pub type CreateRequest = Body<NewResource<CreateAttributes>>;
pub type UpdateRequest = Body<ChangedResource<UpdateAttributes>>;

#[derive(Deserialize)]
pub struct CreateAttributes {
    name: Option<String>,
    scopes: Option<Vec<String>>,
    expires_at: Option<String>,
}

#[derive(Deserialize)]
pub struct UpdateAttributes {
    name: Option<String>,
    /// Absent: unchanged; `null`: all of the owner's permissions.
    #[serde(default, deserialize_with = "present")]
    scopes: Option<Option<Vec<String>>>,
    /// Absent: unchanged; `null`: cleared.
    #[serde(default, deserialize_with = "present")]
    expires_at: Option<Option<String>>,
}

#[derive(Serialize)]
struct Resource {
    #[serde(rename = "type")]
    kind: &'static str,
    id: Uuid,
    attributes: Attributes,
    relationships: Relationships,
}

#[derive(Serialize)]
struct Attributes {
    name: String,
    created_at: String,
    last4: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_at: Option<Option<String>>,
    /// keyplane's own, only when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
}

#[derive(Serialize)]
struct Relationships {
    #[serde(skip_serializing_if = "Option::is_none")]
    owned_by: Option<Relationship>,
    leak_information: Relationship,
}

#[derive(Serialize)]
struct ListMeta {
    page: PageMeta,
    max_allowed_per_user: u64,
}

/// Which optional parts a response carries, as each surface and operation was recorded.
#[derive(Clone, Copy)]
struct View {
    owned_by: bool,
    last_used_at: bool,
}

#[derive(Clone, Copy)]
enum Op {
    Create,
    Get,
    Patch,
    List,
}

fn view(surface: Surface, op: Op) -> View {
    let sa = matches!(surface, Surface::ServiceAccount(_));
    match op {
        Op::Create => View {
            owned_by: true,
            last_used_at: false,
        },
        Op::Get => View {
            owned_by: !sa,
            last_used_at: !sa,
        },
        Op::Patch => View {
            owned_by: !sa,
            last_used_at: false,
        },
        Op::List => View {
            owned_by: surface == Surface::Org,
            last_used_at: true,
        },
    }
}

fn resource(
    key: &ApplicationKey,
    secret: Option<&Secret>,
    view: View,
    leak: Option<&LeakedKey>,
) -> Resource {
    Resource {
        kind: TYPE,
        id: key.id,
        attributes: Attributes {
            name: key.name.clone(),
            created_at: time::format(key.created_at),
            last4: key.last4.clone(),
            key: secret.map(|s| s.expose().to_owned()),
            scopes: key.scopes.clone(),
            last_used_at: view
                .last_used_at
                .then(|| key.last_used_at.map(time::format)),
            expires_at: key_expiry::shown(key.expires_at),
        },
        relationships: Relationships {
            owned_by: view
                .owned_by
                .then(|| Relationship::user(Some(key.owner_id))),
            leak_information: Relationship::leak(leak),
        },
    }
}

/// Datadog answers 404 for an id that is not a UUID at all.
fn key_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| Error::NotFound(NOT_FOUND))
}

/// `include=owned_by`: the owners of `keys`.
async fn owners(
    services: &Services,
    who: &Principal,
    keys: &[&ApplicationKey],
    params: &QueryParams,
    allowed: bool,
) -> Result<Option<Vec<Included>>> {
    if !allowed || params.include(&["owned_by"])?.is_empty() {
        return Ok(None);
    }
    let ids: Vec<Uuid> = keys.iter().map(|k| k.owner_id).collect();
    let users = services.users_by_ids(who.org_id, &ids).await?;
    Ok(Some(Included::users(&users)))
}

// ---- parsing: the wire shapes to use-case input (also run by the fuzz targets) ----

/// A create's name, scopes and expiry.
pub(crate) type NewKey = (KeyName, Option<Vec<String>>, Option<Micros>);

pub(crate) fn parse_create(body: CreateRequest) -> Result<NewKey> {
    let attrs = body.data.attributes(TYPE)?;
    let name = KeyName::required(attrs.name.as_deref())?;
    let expires_at = key_expiry::on_create(Some(attrs.expires_at))?;
    Ok((name, parse_scopes(attrs.scopes)?, expires_at))
}

pub(crate) fn parse_update(body: UpdateRequest, id: Uuid) -> Result<ApplicationKeyChange> {
    let attrs = body.data.attributes(id, TYPE)?;
    Ok(ApplicationKeyChange {
        name: attrs.name.as_deref().map(KeyName::parse).transpose()?,
        scopes: attrs.scopes.map(parse_scopes).transpose()?,
        expires_at: key_expiry::on_update(attrs.expires_at)?,
    })
}

fn include_allowed(surface: Surface) -> bool {
    matches!(surface, Surface::Org | Surface::CurrentUser)
}

/// The list query of `surface`; `include` is checked here too, so a bad one is a 400 before
/// any read.
pub(crate) fn parse_list(params: &QueryParams, surface: Surface) -> Result<ApplicationKeyQuery> {
    let owner_id = match surface {
        Surface::Org => params.uuid("filter[owned_by]")?,
        _ => None,
    };
    let query = ApplicationKeyQuery {
        filter: ApplicationKeyFilter {
            name_contains: params.get("filter").map(str::to_owned),
            created_from: params.date("filter[created_at][start]")?,
            created_to: params.date("filter[created_at][end]")?,
            owner_id,
        },
        sort: params.sort(
            ApplicationKeySortField::Name,
            SORT_FIELDS,
            ApplicationKeySortField::parse,
        )?,
        page: params.page_within(APP_KEY_PAGE_SIZE, APP_KEY_PAGE_SIZE)?,
    };
    if include_allowed(surface) {
        params.include(&["owned_by"])?;
    }
    Ok(query)
}

async fn create(
    services: &Services,
    who: &Principal,
    surface: Surface,
    body: CreateRequest,
) -> Result<Response> {
    let (name, scopes, expires_at) = parse_create(body)?;
    let (key, secret) = services
        .create_application_key(who, surface, name, scopes, expires_at)
        .await?;
    let doc = Document::new(resource(
        &key,
        Some(&secret),
        view(surface, Op::Create),
        None,
    ));
    Ok((StatusCode::CREATED, Json(doc)).into_response())
}

async fn get(
    services: &Services,
    who: &Principal,
    surface: Surface,
    id: &str,
    query: Option<&str>,
) -> Result<Response> {
    let id = key_id(id)?;
    let params = QueryParams::parse(query);
    let (key, secret) = services.get_application_key(who, surface, id).await?;
    let included = if surface == Surface::CurrentUser {
        // Datadog sends the owner and its roles here even without `include`.
        let owner = services.users_by_ids(who.org_id, &[key.owner_id]).await?;
        let held: Vec<_> = owner.iter().flat_map(|u| u.roles.iter().copied()).collect();
        let roles = services.roles_by_ids(who.org_id, &held).await?;
        Some(Included::users_with_roles(&owner, &roles))
    } else {
        owners(services, who, &[&key], &params, surface == Surface::Org).await?
    };
    let leaks = services.leaks_by_credential(who.org_id, &[key.id]).await?;
    let leak = leaks.get(&key.id);
    let doc = Document {
        data: resource(&key, secret.as_ref(), view(surface, Op::Get), leak),
        included: with_leaks(included, leak.into_iter()),
    };
    Ok(Json(doc).into_response())
}

async fn list(
    services: &Services,
    who: &Principal,
    surface: Surface,
    query: Option<&str>,
) -> Result<Response> {
    let params = QueryParams::parse(query);
    let query = parse_list(&params, surface)?;
    let include_allowed = include_allowed(surface);
    let (keys, total) = services.list_application_keys(who, surface, query).await?;
    let refs: Vec<&ApplicationKey> = keys.iter().collect();
    let v = view(surface, Op::List);
    let ids: Vec<Uuid> = keys.iter().map(|k| k.id).collect();
    let leaks = services.leaks_by_credential(who.org_id, &ids).await?;
    let owners = owners(services, who, &refs, &params, include_allowed).await?;
    let body = ListDocument {
        included: with_leaks(owners, keys.iter().filter_map(|k| leaks.get(&k.id))),
        data: keys
            .iter()
            .map(|k| resource(k, None, v, leaks.get(&k.id)))
            .collect(),
        meta: ListMeta {
            page: PageMeta {
                total_filtered_count: total,
            },
            max_allowed_per_user: MAX_PER_USER,
        },
    };
    Ok(Json(body).into_response())
}

async fn update(
    services: &Services,
    who: &Principal,
    surface: Surface,
    id: &str,
    body: UpdateRequest,
) -> Result<Response> {
    let id = key_id(id)?;
    let change = parse_update(body, id)?;
    let (key, secret) = services
        .update_application_key(who, surface, id, change)
        .await?;
    let leaks = services.leaks_by_credential(who.org_id, &[key.id]).await?;
    let leak = leaks.get(&key.id);
    let doc = Document {
        data: resource(&key, secret.as_ref(), view(surface, Op::Patch), leak),
        included: with_leaks(None, leak.into_iter()),
    };
    Ok(Json(doc).into_response())
}

async fn delete(
    services: &Services,
    who: &Principal,
    surface: Surface,
    id: &str,
) -> Result<StatusCode> {
    services
        .delete_application_key(who, surface, key_id(id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate(
    services: &Services,
    who: &Principal,
    surface: Surface,
    id: &str,
    body: Option<RotateRequest>,
) -> Result<Response> {
    let id = key_id(id)?;
    let grace = requested_grace(body, TYPE)?;
    let rotated = services
        .rotate_application_key(who, surface, id, grace)
        .await?;
    let leaks = services.leaks_by_credential(who.org_id, &[id]).await?;
    let data = resource(
        &rotated.key,
        Some(&rotated.secret),
        view(surface, Op::Patch),
        leaks.get(&id),
    );
    Ok(Json(RotatedDocument::new(data, rotated.previous_valid_until)).into_response())
}
