//! `/api/v2/client_tokens`: keyplane's client token resource, in the style of the v2 key
//! resources (same envelope, paging, sorting, filters, name rules and errors).

use crate::auth::Caller;
use crate::domain::client_token::{
    ClientToken, ClientTokenFilter, ClientTokenQuery, ClientTokenSortField,
};
use crate::domain::name::KeyName;
use crate::domain::secret::Secret;
use crate::domain::time;
use crate::domain::time::Micros;
use crate::error::{Error, Result};
use crate::http::extract::{ApiJson, ApiPath, OptionalJson};
use crate::http::jsonapi::{
    present, Body, ChangedResource, Document, ListDocument, NewResource, PageMeta, Relationship,
};
use crate::http::params::QueryParams;
use crate::http::v2::rotation::{requested_grace, RotateRequest, RotatedDocument};
use crate::http::v2::{creators_included, key_expiry};
use crate::service::Services;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const TYPE: &str = "client_tokens";
const NOT_FOUND: &str = "Client token not found";
const SORT_FIELDS: &[&str] = &["created_at", "last4", "modified_at", "name"];
const INCLUDES: &[&str] = &["created_by", "modified_by"];

pub type CreateRequest = Body<NewResource<Attributes>>;
pub type UpdateRequest = Body<ChangedResource<Attributes>>;

#[derive(Deserialize)]
pub struct Attributes {
    name: Option<String>,
    /// Absent: unchanged (none on create); `null`: cleared.
    #[serde(default, deserialize_with = "present")]
    expires_at: Option<Option<String>>,
}

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
    key: String,
    last4: String,
    modified_at: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
}

#[derive(Serialize)]
struct Relationships {
    created_by: Relationship,
    modified_by: Relationship,
}

#[derive(Serialize)]
struct ListMeta {
    page: PageMeta,
}

fn resource(token: &ClientToken, secret: &Secret) -> Resource {
    Resource {
        kind: TYPE,
        attributes: ResourceAttributes {
            created_at: time::format(token.created_at),
            key: secret.expose().to_owned(),
            last4: token.last4.clone(),
            modified_at: time::format(token.modified_at),
            name: token.name.clone(),
            expires_at: key_expiry::shown(token.expires_at),
        },
        relationships: Relationships {
            created_by: Relationship::user(Some(token.created_by)),
            modified_by: Relationship::user(token.modified_by),
        },
        id: token.id,
    }
}

fn token_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| Error::NotFound(NOT_FOUND))
}

fn one(token: &ClientToken, secret: &Secret) -> Json<Document<Resource>> {
    Json(Document::new(resource(token, secret)))
}

// ---- parsing: the wire shapes to use-case input (also run by the fuzz targets) ----

pub(crate) fn parse_create(body: CreateRequest) -> Result<(KeyName, Option<Micros>)> {
    let attrs = body.data.attributes(TYPE)?;
    let name = KeyName::required(attrs.name.as_deref())?;
    Ok((name, key_expiry::on_create(attrs.expires_at)?))
}

/// The name (required, as for API keys) and a change of expiry, if any.
pub(crate) fn parse_update(
    body: UpdateRequest,
    id: Uuid,
) -> Result<(KeyName, Option<Option<Micros>>)> {
    let attrs = body.data.attributes(id, TYPE)?;
    let name = KeyName::required(attrs.name.as_deref())?;
    Ok((name, key_expiry::on_update(attrs.expires_at)?))
}

pub(crate) fn parse_list(params: &QueryParams) -> Result<(ClientTokenQuery, Vec<String>)> {
    let query = ClientTokenQuery {
        filter: ClientTokenFilter {
            name_contains: params.get("filter").map(str::to_owned),
            created_from: params.date("filter[created_at][start]")?,
            created_to: params.date("filter[created_at][end]")?,
        },
        sort: params.sort(
            ClientTokenSortField::Name,
            SORT_FIELDS,
            ClientTokenSortField::parse,
        )?,
        page: params.page()?,
    };
    Ok((query, params.include(INCLUDES)?))
}

pub async fn create(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiJson(body): ApiJson<CreateRequest>,
) -> Result<Response> {
    let (name, expires_at) = parse_create(body)?;
    let (token, secret) = services.create_client_token(&who, name, expires_at).await?;
    Ok((StatusCode::CREATED, one(&token, &secret)).into_response())
}

pub async fn get(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let id = token_id(&id)?;
    let include = QueryParams::parse(query.as_deref()).include(INCLUDES)?;
    let (token, secret) = services.get_client_token(&who, id).await?;
    let doc = Document {
        data: resource(&token, &secret),
        included: creators_included(
            &services,
            &who,
            [(token.created_by, token.modified_by)].into_iter(),
            &include,
        )
        .await?,
    };
    Ok(Json(doc).into_response())
}

pub async fn list(
    State(services): State<Services>,
    Caller(who): Caller,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let (query, include) = parse_list(&QueryParams::parse(query.as_deref()))?;
    let (tokens, total) = services.list_client_tokens(&who, &query).await?;
    let body = ListDocument {
        included: creators_included(
            &services,
            &who,
            tokens.iter().map(|(t, _)| (t.created_by, t.modified_by)),
            &include,
        )
        .await?,
        data: tokens.iter().map(|(t, s)| resource(t, s)).collect(),
        meta: ListMeta {
            page: PageMeta {
                total_filtered_count: total,
            },
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
    let id = token_id(&id)?;
    let (name, expires_at) = parse_update(body, id)?;
    let (token, secret) = services
        .rename_client_token(&who, id, name, expires_at)
        .await?;
    Ok(one(&token, &secret).into_response())
}

pub async fn delete(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    services.revoke_client_token(&who, token_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v2/client_tokens/{id}/rotate`: the token with its new value; the previous
/// value keeps working until `meta.previous_key_valid_until`.
pub async fn rotate(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<RotateRequest>,
) -> Result<Response> {
    let id = token_id(&id)?;
    let grace = requested_grace(body, TYPE)?;
    let rotated = services.rotate_client_token(&who, id, grace).await?;
    let doc = RotatedDocument::new(
        resource(&rotated.key, &rotated.secret),
        rotated.previous_valid_until,
    );
    Ok(Json(doc).into_response())
}
