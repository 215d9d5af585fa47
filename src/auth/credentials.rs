//! Resolving presented keys. Keys are found by digest and the digest is re-checked in
//! constant time; every failure is the same `Forbidden`, whichever key was wrong.

use crate::domain::api_key::ApiKey;
use crate::domain::principal::Principal;
use crate::domain::secret::KeyDigest;
use crate::error::{Error, Result};
use crate::service::Services;
use crate::store::StoreError;

/// The API key behind `presented`, or `Forbidden`.
pub async fn api_key(services: &Services, presented: &str) -> Result<ApiKey> {
    let digest = KeyDigest::of(presented);
    match services.store.find_api_key(&digest).await {
        Ok(Some(key)) if key.digest.matches(&digest) => Ok(key),
        Ok(_) => Err(Error::Forbidden),
        Err(e) => Err(Error::internal(e)),
    }
}

/// The caller: the application key's owner, within the API key's organization.
pub async fn key_pair(services: &Services, api: &str, app: &str) -> Result<Principal> {
    let org_key = api_key(services, api).await?;
    let digest = KeyDigest::of(app);
    let app_key = match services.store.find_application_key(&digest).await {
        Ok(Some(key)) if key.digest.matches(&digest) => key,
        Ok(_) => return Err(Error::Forbidden),
        Err(e) => return Err(Error::internal(e)),
    };
    // Keys of two organizations never combine.
    if app_key.org_id != org_key.org_id {
        return Err(Error::Forbidden);
    }
    let owner = match services
        .store
        .get_user(app_key.org_id, app_key.owner_id)
        .await
    {
        Ok(user) => user,
        Err(StoreError::NotFound) => return Err(Error::Forbidden),
        Err(e) => return Err(Error::internal(e)),
    };
    if owner.disabled() {
        return Err(Error::Forbidden);
    }
    Ok(Principal {
        org_id: app_key.org_id,
        user_id: owner.id,
        roles: owner.roles,
        app_key_id: app_key.id,
        scopes: app_key.scopes,
    })
}
