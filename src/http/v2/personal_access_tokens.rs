//! `/api/v2/personal_access_tokens`, and the wire shapes both token surfaces share (the
//! service-account routes are in `service_account_tokens.rs`), as Datadog records them.

use crate::auth::Caller;
use crate::domain::access_token::{
    parse_token_scopes, public_portion, AccessToken, AccessTokenChange, AccessTokenFilter,
    AccessTokenQuery, AccessTokenSortField, TokenKind,
};
use crate::domain::name::KeyName;
use crate::domain::secret::Secret;
use crate::domain::time::{self, Micros};
use crate::error::{Error, Result};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::jsonapi::{Body, ChangedResource, NewResource, PageMeta};
use crate::http::params::QueryParams;
use crate::service::access_tokens::TokenSurface;
use crate::service::Services;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const NOT_FOUND: &str = "Access token not found";
const SORT_FIELDS: &[&str] = &["name", "created_at", "expires_at", "last_used_at"];

pub type CreateRequest = Body<NewResource<Attributes>>;
pub type UpdateRequest = Body<ChangedResource<Attributes>>;

#[derive(Deserialize)]
pub struct Attributes {
    name: Option<String>,
    scopes: Option<Vec<String>>,
    expires_at: Option<String>,
}

#[derive(Serialize)]
pub(super) struct Resource {
    id: Uuid,
    #[serde(rename = "type")]
    kind: &'static str,
    attributes: ResourceAttributes,
    relationships: Relationships,
}

#[derive(Serialize)]
struct ResourceAttributes {
    created_at: String,
    expires_at: Option<String>,
    /// Only in the create response: the token is shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    /// Absent from the create response, as recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_at: Option<Option<String>>,
    /// Absent until the first change.
    #[serde(skip_serializing_if = "Option::is_none")]
    modified_at: Option<String>,
    name: String,
    public_portion: String,
    scopes: Vec<String>,
}

#[derive(Serialize)]
struct Relationships {
    owned_by: Owner,
}

#[derive(Serialize)]
struct Owner {
    data: OwnerLinkage,
}

#[derive(Serialize)]
struct OwnerLinkage {
    id: Uuid,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
pub(super) struct ListBody {
    data: Vec<Resource>,
    meta: ListMeta,
}

#[derive(Serialize)]
struct ListMeta {
    page: PageMeta,
}

/// The JSON:API type of a token resource.
pub(super) fn type_of(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Personal => "personal_access_tokens",
        TokenKind::ServiceAccount => "service_access_tokens",
    }
}

/// RFC 3339 in UTC with `Z` and the fraction's trailing zeros trimmed, as Datadog echoes
/// `expires_at` (Terraform compares the echo with what it sent, to the second).
fn timestamp(micros: Micros) -> String {
    let full = time::format(micros);
    let Some(base) = full.strip_suffix("+00:00") else {
        return full;
    };
    let base = base.trim_end_matches('0').trim_end_matches('.');
    format!("{base}Z")
}

pub(super) fn resource(token: &AccessToken, secret: Option<&Secret>) -> Resource {
    Resource {
        id: token.id,
        kind: type_of(token.kind),
        attributes: ResourceAttributes {
            created_at: timestamp(token.created_at),
            expires_at: token.expires_at.map(timestamp),
            key: secret.map(|s| s.expose().to_owned()),
            last_used_at: secret.is_none().then(|| token.last_used_at.map(timestamp)),
            modified_at: token.modified_at.map(timestamp),
            name: token.name.clone(),
            public_portion: public_portion(token.kind, token.id),
            scopes: token.scopes.clone(),
        },
        relationships: Relationships {
            owned_by: Owner {
                data: OwnerLinkage {
                    id: token.owner_id,
                    kind: match token.kind {
                        TokenKind::Personal => "users",
                        TokenKind::ServiceAccount => "service_account",
                    },
                },
            },
        },
    }
}

pub(super) fn token_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| Error::NotFound(NOT_FOUND))
}

pub(super) fn created(token: &AccessToken, secret: &Secret) -> Response {
    let doc = crate::http::jsonapi::Document::new(resource(token, Some(secret)));
    (StatusCode::CREATED, Json(doc)).into_response()
}

pub(super) fn one(token: &AccessToken) -> Response {
    Json(crate::http::jsonapi::Document::new(resource(token, None))).into_response()
}

pub(super) fn list_body(tokens: &[AccessToken], total: u64) -> Response {
    Json(ListBody {
        data: tokens.iter().map(|t| resource(t, None)).collect(),
        meta: ListMeta {
            page: PageMeta {
                total_filtered_count: total,
            },
        },
    })
    .into_response()
}

// ---- parsing: the wire shapes to use-case input ----

pub(crate) fn parse_create(
    body: CreateRequest,
    kind: TokenKind,
) -> Result<(KeyName, Vec<String>, Option<Micros>)> {
    let attrs = body.data.attributes(type_of(kind))?;
    let name = KeyName::required(attrs.name.as_deref())?;
    let scopes = parse_token_scopes(attrs.scopes)?;
    let expires_at = attrs
        .expires_at
        .map(|raw| {
            time::parse(&raw)
                .ok_or_else(|| Error::invalid("expires_at must be an RFC 3339 date-time"))
        })
        .transpose()?;
    Ok((name, scopes, expires_at))
}

pub(crate) fn parse_update(
    body: UpdateRequest,
    id: Uuid,
    kind: TokenKind,
) -> Result<AccessTokenChange> {
    let attrs = body.data.attributes(id, type_of(kind))?;
    if attrs.expires_at.is_some() {
        return Err(Error::invalid("expires_at cannot be changed"));
    }
    Ok(AccessTokenChange {
        name: attrs
            .name
            .as_deref()
            .map(|n| KeyName::required(Some(n)))
            .transpose()?,
        scopes: attrs
            .scopes
            .map(|s| parse_token_scopes(Some(s)))
            .transpose()?,
    })
}

pub(crate) fn parse_list(params: &QueryParams) -> Result<AccessTokenQuery> {
    // Repeated (as the clients send an array) or comma-separated.
    let owners = params
        .all("filter[owned_by]")
        .into_iter()
        .flat_map(|raw| raw.split(','))
        .map(|id| {
            Uuid::parse_str(id.trim())
                .map_err(|_| Error::invalid("filter[owned_by] must list UUIDs"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(AccessTokenQuery {
        filter: AccessTokenFilter {
            name_contains: params.get("filter").map(str::to_owned),
            owners,
            kind: None,
        },
        sort: params.sort(
            AccessTokenSortField::Name,
            SORT_FIELDS,
            AccessTokenSortField::parse,
        )?,
        page: params.page()?,
    })
}

pub async fn create(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiJson(body): ApiJson<CreateRequest>,
) -> Result<Response> {
    let (name, scopes, expires_at) = parse_create(body, TokenKind::Personal)?;
    let (token, secret) = services
        .create_access_token(&who, TokenSurface::Personal, name, scopes, expires_at)
        .await?;
    Ok(created(&token, &secret))
}

pub async fn get(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    let token = services
        .get_access_token(&who, TokenSurface::Personal, token_id(&id)?)
        .await?;
    Ok(one(&token))
}

pub async fn list(
    State(services): State<Services>,
    Caller(who): Caller,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let query = parse_list(&QueryParams::parse(query.as_deref()))?;
    let (tokens, total) = services
        .list_access_tokens(&who, TokenSurface::Personal, query)
        .await?;
    Ok(list_body(&tokens, total))
}

pub async fn update(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateRequest>,
) -> Result<Response> {
    let id = token_id(&id)?;
    let change = parse_update(body, id, TokenKind::Personal)?;
    let token = services
        .update_access_token(&who, TokenSurface::Personal, id, change)
        .await?;
    Ok(one(&token))
}

pub async fn delete(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    // An id that is no UUID names no token: revoking it is done already.
    if let Ok(id) = Uuid::parse_str(&id) {
        services
            .revoke_access_token(&who, TokenSurface::Personal, id)
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
