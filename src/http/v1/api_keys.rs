//! `/api/v1/api_key`: API keys in v1's shapes.

use super::{created, NameBody};
use crate::auth::Caller;
use crate::domain::api_key::ApiKey;
use crate::domain::principal::Principal;
use crate::domain::secret::Secret;
use crate::error::Result;
use crate::http::extract::{ApiJson, ApiPath};
use crate::service::api_keys::NewApiKey;
use crate::service::Services;
use axum::extract::State;
use axum::Json;
use serde::Serialize;

#[derive(Serialize)]
pub struct V1ApiKey {
    created: String,
    created_by: String,
    key: String,
    name: String,
}

#[derive(Serialize)]
pub struct One {
    api_key: V1ApiKey,
}

#[derive(Serialize)]
pub struct All {
    api_keys: Vec<V1ApiKey>,
}

/// v1 names the creator by handle (email).
async fn render(
    services: &Services,
    who: &Principal,
    keys: Vec<(ApiKey, Secret)>,
) -> Result<Vec<V1ApiKey>> {
    let ids: Vec<_> = keys.iter().map(|(k, _)| k.created_by).collect();
    let users = services.users_by_ids(who.org_id, &ids).await?;
    Ok(keys
        .into_iter()
        .map(|(key, secret)| V1ApiKey {
            created: created(key.created_at),
            created_by: users
                .iter()
                .find(|u| u.id == key.created_by)
                .map(|u| u.handle.clone())
                .unwrap_or_default(),
            key: secret.expose().to_owned(),
            name: key.name,
        })
        .collect())
}

async fn one(services: &Services, who: &Principal, key: (ApiKey, Secret)) -> Result<Json<One>> {
    let api_key = render(services, who, vec![key]).await?.into_iter().next();
    Ok(Json(One {
        api_key: api_key.ok_or_else(|| crate::error::Error::internal("rendered no key"))?,
    }))
}

pub async fn list(State(s): State<Services>, Caller(who): Caller) -> Result<Json<All>> {
    let keys = s.all_api_keys(&who).await?;
    Ok(Json(All {
        api_keys: render(&s, &who, keys).await?,
    }))
}

pub async fn create(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiJson(body): ApiJson<NameBody>,
) -> Result<Json<One>> {
    let new = NewApiKey {
        name: body.name()?,
        category: None,
        remote_config_read_enabled: None,
        expiry: Default::default(),
    };
    let key = s.create_api_key(&who, new).await?;
    one(&s, &who, key).await
}

pub async fn get(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath(value): ApiPath<String>,
) -> Result<Json<One>> {
    let key = s.find_api_key_by_value(&who, &value).await?;
    one(&s, &who, key).await
}

pub async fn update(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath(value): ApiPath<String>,
    ApiJson(body): ApiJson<NameBody>,
) -> Result<Json<One>> {
    let (key, _) = s.find_api_key_by_value(&who, &value).await?;
    let updated = s
        .update_api_key(&who, key.id, body.name()?, None, None, None)
        .await?;
    one(&s, &who, updated).await
}

pub async fn delete(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath(value): ApiPath<String>,
) -> Result<Json<One>> {
    let key = s.find_api_key_by_value(&who, &value).await?;
    s.delete_api_key(&who, key.0.id).await?;
    one(&s, &who, key).await
}
