//! `/api/v2/api_keys`: Datadog's five API key operations, byte-compatible on the wire.

use crate::auth::{Caller, ValidApiKey};
use crate::domain::api_key::{ApiKey, ApiKeyFilter, ApiKeyQuery, ApiKeySortField};
use crate::domain::expiry::Expiry;
use crate::domain::leak::LeakedKey;
use crate::domain::name::KeyName;
use crate::domain::secret::Secret;
use crate::domain::time;
use crate::domain::time::Micros;
use crate::error::{Error, Result};
use crate::http::extract::{ApiJson, ApiPath, OptionalJson};
use crate::http::jsonapi::{
    present, with_leaks, Body, ChangedResource, Document, ListDocument, NewResource, PageMeta,
    Relationship,
};
use crate::http::params::QueryParams;
use crate::http::v2::rotation::{
    requested_grace, RotateRequest, RotatedDocument, RotationDocument,
};
use crate::http::v2::{creators_included, key_expiry};
use crate::service::api_keys::{parse_category, NewApiKey};
use crate::service::Services;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const TYPE: &str = "api_keys";
const NOT_FOUND: &str = "API key not found";
const SORT_FIELDS: &[&str] = &["created_at", "last4", "modified_at", "name"];
const INCLUDES: &[&str] = &["created_by", "modified_by"];
const LAST_USED_DESCRIPTION: &str =
    "Timestamp of when this key was last used in the past ninety (90) days, null if no recent usage";

// ---- wire shapes: requests ----

pub type CreateRequest = Body<NewResource<Attributes>>;
pub type UpdateRequest = Body<ChangedResource<Attributes>>;

#[derive(Deserialize)]
pub struct Attributes {
    name: Option<String>,
    category: Option<String>,
    remote_config_read_enabled: Option<bool>,
    /// Absent: unchanged (none on create); `null`: cleared.
    #[serde(default, deserialize_with = "present")]
    expires_at: Option<Option<String>>,
}

// ---- wire shapes: responses ----

#[derive(Serialize)]
struct Resource {
    #[serde(rename = "type")]
    kind: &'static str,
    attributes: ResourceAttributes,
    relationships: Relationships,
    id: Uuid,
}

#[derive(Serialize)]
struct ResourceAttributes {
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    last4: String,
    modified_at: String,
    remote_config_read_enabled: bool,
    category: String,
    name: String,
    #[serde(flatten)]
    usage: Option<Usage>,
    /// keyplane's own, only when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
}

/// Usage fields, sent by Datadog on reads but not on create.
#[derive(Serialize)]
struct Usage {
    date_last_used: Option<String>,
    used_in_last_24_hours: bool,
    last_used_date: LastUsedDate,
}

#[derive(Serialize)]
struct LastUsedDate {
    timestamp: Option<String>,
    description: &'static str,
}

#[derive(Serialize)]
struct Relationships {
    created_by: Relationship,
    modified_by: Relationship,
    leak_information: Relationship,
}

#[derive(Serialize)]
struct ListMeta {
    page: PageMeta,
    max_allowed: u64,
}

fn usage(key: &ApiKey) -> Usage {
    let last_used = key.date_last_used.map(time::format);
    let day_ago = time::now() - 86_400 * 1_000_000;
    Usage {
        used_in_last_24_hours: key.date_last_used.is_some_and(|t| t >= day_ago),
        last_used_date: LastUsedDate {
            timestamp: last_used.clone(),
            description: LAST_USED_DESCRIPTION,
        },
        date_last_used: last_used,
    }
}

fn resource(
    key: &ApiKey,
    secret: Option<&Secret>,
    with_usage: bool,
    leak: Option<&LeakedKey>,
) -> Resource {
    Resource {
        kind: TYPE,
        attributes: ResourceAttributes {
            created_at: time::format(key.created_at),
            key: secret.map(|s| s.expose().to_owned()),
            last4: key.last4.clone(),
            modified_at: time::format(key.modified_at),
            remote_config_read_enabled: key.remote_config_read_enabled,
            category: key.category.clone(),
            name: key.name.clone(),
            usage: with_usage.then(|| usage(key)),
            expires_at: key_expiry::shown(key.expires_at),
        },
        relationships: Relationships {
            created_by: Relationship::user(Some(key.created_by)),
            modified_by: Relationship::user(key.modified_by),
            leak_information: Relationship::leak(leak),
        },
        id: key.id,
    }
}

/// Datadog answers 404 for an id that is not a UUID at all.
fn key_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| Error::NotFound(NOT_FOUND))
}

// ---- parsing: the wire shapes to use-case input (also run by the fuzz targets) ----

pub(crate) fn parse_create(body: CreateRequest) -> Result<NewApiKey> {
    let attrs = body.data.attributes(TYPE)?;
    Ok(NewApiKey {
        name: KeyName::required(attrs.name.as_deref())?,
        category: parse_category(attrs.category)?,
        remote_config_read_enabled: attrs.remote_config_read_enabled,
        expiry: Expiry {
            asked: key_expiry::on_create(attrs.expires_at)?,
            limit: Default::default(),
        },
    })
}

/// A rename: the name, and the category and remote-config flag when given.
pub(crate) struct Update {
    pub name: KeyName,
    pub category: Option<String>,
    pub remote_config_read_enabled: Option<bool>,
    pub expires_at: Option<Option<Micros>>,
}

pub(crate) fn parse_update(body: UpdateRequest, id: Uuid) -> Result<Update> {
    let attrs = body.data.attributes(id, TYPE)?;
    Ok(Update {
        name: KeyName::required(attrs.name.as_deref())?,
        category: parse_category(attrs.category)?,
        remote_config_read_enabled: attrs.remote_config_read_enabled,
        expires_at: key_expiry::on_update(attrs.expires_at)?,
    })
}

pub(crate) fn parse_list(params: &QueryParams) -> Result<(ApiKeyQuery, Vec<String>)> {
    let query = ApiKeyQuery {
        filter: ApiKeyFilter {
            name_contains: params.get("filter").map(str::to_owned),
            created_from: params.date("filter[created_at][start]")?,
            created_to: params.date("filter[created_at][end]")?,
            modified_from: params.date("filter[modified_at][start]")?,
            modified_to: params.date("filter[modified_at][end]")?,
            remote_config_read_enabled: params.boolean("filter[remote_config_read_enabled]")?,
            category: params.get("filter[category]").map(str::to_owned),
        },
        sort: params.sort(ApiKeySortField::Name, SORT_FIELDS, ApiKeySortField::parse)?,
        page: params.page()?,
    };
    Ok((query, params.include(INCLUDES)?))
}

// ---- handlers ----

pub async fn create(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiJson(body): ApiJson<CreateRequest>,
) -> Result<Response> {
    let new = parse_create(body)?;
    let (key, secret) = services.create_api_key(&who, new).await?;
    let doc = Document {
        data: resource(&key, Some(&secret), false, None),
        included: None,
    };
    Ok((StatusCode::CREATED, Json(doc)).into_response())
}

pub async fn get(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let id = key_id(&id)?;
    let include = QueryParams::parse(query.as_deref()).include(INCLUDES)?;
    let (key, secret) = services.get_api_key(&who, id).await?;
    let leaks = services.leaks_by_credential(who.org_id, &[key.id]).await?;
    let leak = leaks.get(&key.id);
    let creators = creators_included(
        &services,
        &who,
        [(key.created_by, key.modified_by)].into_iter(),
        &include,
    )
    .await?;
    let doc = Document {
        data: resource(&key, Some(&secret), true, leak),
        included: with_leaks(creators, leak.into_iter()),
    };
    Ok(Json(doc).into_response())
}

pub async fn list(
    State(services): State<Services>,
    Caller(who): Caller,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let (query, include) = parse_list(&QueryParams::parse(query.as_deref()))?;
    let (keys, total) = services.list_api_keys(&who, &query).await?;
    let ids: Vec<Uuid> = keys.iter().map(|k| k.id).collect();
    let leaks = services.leaks_by_credential(who.org_id, &ids).await?;
    let creators = creators_included(
        &services,
        &who,
        keys.iter().map(|k| (k.created_by, k.modified_by)),
        &include,
    )
    .await?;
    let body = ListDocument {
        included: with_leaks(creators, keys.iter().filter_map(|k| leaks.get(&k.id))),
        data: keys
            .iter()
            .map(|k| resource(k, None, true, leaks.get(&k.id)))
            .collect(),
        meta: ListMeta {
            page: PageMeta {
                total_filtered_count: total,
            },
            max_allowed: services.max_api_keys(),
        },
    };
    Ok(Json(body).into_response())
}

pub async fn update(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateRequest>,
) -> Result<Response> {
    let id = key_id(&id)?;
    let up = parse_update(body, id)?;
    let (key, secret) = services
        .update_api_key(
            &who,
            id,
            up.name,
            up.category,
            up.remote_config_read_enabled,
            up.expires_at,
        )
        .await?;
    let leaks = services.leaks_by_credential(who.org_id, &[key.id]).await?;
    let leak = leaks.get(&key.id);
    let doc = Document {
        data: resource(&key, Some(&secret), true, leak),
        included: with_leaks(None, leak.into_iter()),
    };
    Ok(Json(doc).into_response())
}

pub async fn delete(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    services.delete_api_key(&who, key_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v2/api_keys/{id}/rotate`: the key with its new secret; the previous secret
/// keeps working until `meta.previous_key_valid_until`.
pub async fn rotate(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<RotateRequest>,
) -> Result<Response> {
    let id = key_id(&id)?;
    let grace = requested_grace(body, TYPE)?;
    let rotated = services.rotate_api_key(&who, id, grace).await?;
    let leaks = services.leaks_by_credential(who.org_id, &[id]).await?;
    let doc = RotatedDocument::new(
        resource(&rotated.key, Some(&rotated.secret), true, leaks.get(&id)),
        rotated.previous_valid_until,
    );
    Ok(Json(doc).into_response())
}

/// `GET /api/v2/api_keys/{id}/rotation`: the previous secrets still accepted, and the
/// distinct callers still presenting them.
pub async fn rotation(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    let (key, previous, callers) = services.api_key_rotation(&who, key_id(&id)?).await?;
    Ok(Json(RotationDocument::new(key.id, &previous, &callers)).into_response())
}

/// `GET /api/v2/api_keys/self`: the presented API key with its current secret (keyplane's
/// own; the secret helper's source). Authenticated by the API key alone.
pub async fn own(
    State(services): State<Services>,
    ValidApiKey(entry): ValidApiKey,
) -> Result<Response> {
    let (key, secret) = services.own_api_key(&entry).await?;
    let leaks = services.leaks_by_credential(key.org_id, &[key.id]).await?;
    let data = resource(&key, Some(&secret), true, leaks.get(&key.id));
    Ok(Json(Document::new(data)).into_response())
}
