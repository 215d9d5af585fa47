//! Resolving presented keys against the in-memory credential index (no database round
//! trip). Every failure is the same `Forbidden`, whichever key was wrong; successes are
//! counted for `date_last_used` / `last_used_at`.

use crate::domain::credential::ApiKeyEntry;
use crate::domain::principal::Principal;
use crate::domain::secret::KeyDigest;
use crate::error::{Error, Result};
use crate::service::Services;

fn count_failure(err: &Error, counter: &prometheus_client::metrics::counter::Counter) {
    if matches!(err, Error::Forbidden) {
        counter.inc();
    }
}

/// The API key behind `presented`, or `Forbidden`.
pub fn api_key(services: &Services, presented: &str) -> Result<ApiKeyEntry> {
    let digest = KeyDigest::of(presented);
    let found = services.index.api_key(&digest, &services.metrics);
    match &found {
        Ok(entry) => services.usage.api_key_used(entry.id),
        Err(err) => count_failure(err, &services.metrics.auth_failures.api_key),
    }
    found
}

/// The organization of `presented` if it is a live API key, without counting it as used or
/// refused: for naming the organization in a failure-burst record.
pub fn api_key_org(services: &Services, presented: &str) -> Option<uuid::Uuid> {
    let digest = KeyDigest::of(presented);
    services
        .index
        .api_key(&digest, &services.metrics)
        .ok()
        .map(|entry| entry.org_id)
}

/// The caller: the application key's owner, within the API key's organization.
pub fn key_pair(services: &Services, api: &str, app: &str) -> Result<Principal> {
    let found =
        services
            .index
            .principal(&KeyDigest::of(api), &KeyDigest::of(app), &services.metrics);
    match found {
        Ok((principal, api_key_id)) => {
            services.usage.api_key_used(api_key_id);
            if let Some(app_key_id) = principal.app_key_id {
                services.usage.app_key_used(app_key_id);
            }
            Ok(principal)
        }
        Err(err) => {
            count_failure(&err, &services.metrics.auth_failures.application_key);
            Err(err)
        }
    }
}

/// The caller behind a personal or service-account token: refused before any lookup when
/// malformed or mistyped (its checksum), then found in the in-memory index.
pub fn access_token(services: &Services, presented: &str) -> Result<Principal> {
    let Some((_, id)) = crate::domain::access_token::parse(presented) else {
        services.metrics.auth_failures.application_key.inc();
        return Err(Error::Forbidden);
    };
    let found = services.index.token_principal(
        &KeyDigest::of(presented),
        id,
        crate::domain::time::now(),
        &services.metrics,
    );
    match &found {
        Ok(_) => services.usage.token_used(id),
        Err(err) => count_failure(err, &services.metrics.auth_failures.application_key),
    }
    found
}
