//! `/api/v1/application_key`: application keys in v1's shapes, named by their value.

use super::NameBody;
use crate::auth::Caller;
use crate::domain::application_key::{ApplicationKey, ApplicationKeyChange};
use crate::domain::principal::Principal;
use crate::domain::secret::Secret;
use crate::error::{Error, Result};
use crate::http::extract::{ApiJson, ApiPath};
use crate::service::application_keys::Surface;
use crate::service::Services;
use axum::extract::State;
use axum::Json;
use serde::Serialize;

#[derive(Serialize)]
pub struct V1ApplicationKey {
    owner: String,
    hash: String,
    name: String,
    revoked: bool,
}

#[derive(Serialize)]
pub struct One {
    application_key: V1ApplicationKey,
}

#[derive(Serialize)]
pub struct All {
    application_keys: Vec<V1ApplicationKey>,
}

async fn render(
    services: &Services,
    who: &Principal,
    keys: Vec<(ApplicationKey, Secret)>,
    revoked: bool,
) -> Result<Vec<V1ApplicationKey>> {
    let ids: Vec<_> = keys.iter().map(|(k, _)| k.owner_id).collect();
    let owners = services.users_by_ids(who.org_id, &ids).await?;
    Ok(keys
        .into_iter()
        .map(|(key, secret)| V1ApplicationKey {
            owner: owners
                .iter()
                .find(|u| u.id == key.owner_id)
                .map(|u| u.email.clone())
                .unwrap_or_default(),
            hash: secret.expose().to_owned(),
            name: key.name,
            revoked,
        })
        .collect())
}

async fn one(
    services: &Services,
    who: &Principal,
    key: ApplicationKey,
    secret: Secret,
    revoked: bool,
) -> Result<Json<One>> {
    let rendered = render(services, who, vec![(key, secret)], revoked).await?;
    let application_key = rendered
        .into_iter()
        .next()
        .ok_or_else(|| Error::internal("rendered no key"))?;
    Ok(Json(One { application_key }))
}

/// The key named by `value`, as `surface` reaches it, with its secret (the value itself).
async fn by_value(
    s: &Services,
    who: &Principal,
    surface: Surface,
    value: &str,
) -> Result<ApplicationKey> {
    let id = s.application_key_id_by_value(who, value).await?;
    Ok(s.get_application_key(who, surface, id).await?.0)
}

/// Only the caller's own keys: v1 shows every listed key's value, and another owner's value
/// would let a read permission act as that owner.
pub async fn list(State(s): State<Services>, Caller(who): Caller) -> Result<Json<All>> {
    let keys = s.own_application_keys(&who).await?;
    Ok(Json(All {
        application_keys: render(&s, &who, keys, false).await?,
    }))
}

pub async fn create(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiJson(body): ApiJson<NameBody>,
) -> Result<Json<One>> {
    s.legacy_surface(&who, true).await?;
    // v1 cannot name scopes: the new key gets the caller's, so it is no wider than the caller.
    let (key, secret) = s
        .create_application_key(
            &who,
            Surface::CurrentUser,
            body.name()?,
            who.scopes.clone(),
            None,
        )
        .await?;
    one(&s, &who, key, secret, false).await
}

pub async fn get(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath(value): ApiPath<String>,
) -> Result<Json<One>> {
    let surface = s.legacy_surface(&who, false).await?;
    let key = by_value(&s, &who, surface, &value).await?;
    one(&s, &who, key, Secret::new(value), false).await
}

pub async fn update(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath(value): ApiPath<String>,
    ApiJson(body): ApiJson<NameBody>,
) -> Result<Json<One>> {
    let surface = s.legacy_surface(&who, true).await?;
    let key = by_value(&s, &who, surface, &value).await?;
    let change = ApplicationKeyChange {
        name: Some(body.name()?),
        scopes: None,
        expires_at: None,
    };
    let (key, _) = s
        .update_application_key(&who, surface, key.id, change)
        .await?;
    one(&s, &who, key, Secret::new(value), false).await
}

pub async fn delete(
    State(s): State<Services>,
    Caller(who): Caller,
    ApiPath(value): ApiPath<String>,
) -> Result<Json<One>> {
    let surface = s.legacy_surface(&who, true).await?;
    let key = by_value(&s, &who, surface, &value).await?;
    s.delete_application_key(&who, surface, key.id).await?;
    one(&s, &who, key, Secret::new(value), true).await
}
