//! Rotating a key in place: a new secret now, the previous one still accepted until the
//! grace period the caller asked for (or the configured default) ends.

use super::application_keys::Surface;
use super::{unexpected, Services};
use crate::domain::api_key::ApiKey;
use crate::domain::application_key::ApplicationKey;
use crate::domain::audit::Action;
use crate::domain::client_token::{self, ClientToken};
use crate::domain::credential::ApiKeyEntry;
use crate::domain::principal::Principal;
use crate::domain::rotation::{CallerSeen, Presenter, PreviousSecret, RotatedKind, Rotation};
use crate::domain::secret::{KeyDigest, Secret, API_KEY_BYTES, APP_KEY_BYTES};
use crate::domain::time::{self, Micros};
use crate::domain::user::Permission;
use crate::error::{Error, Result};
use crate::store::StoreError;
use uuid::Uuid;

/// A key just rotated: its record with the new secret, and when the old one stops working.
pub struct Rotated<K> {
    pub key: K,
    pub secret: Secret,
    pub previous_valid_until: Micros,
}

impl Services {
    /// Counts the caller when `presented`, just accepted, is a previous secret of a rotated
    /// key: the rollout view of `…/rotation`. Costs one atomic load while no key is in an
    /// overlap; `presenter` is only built when it is one.
    pub fn note_presented<'a>(&self, presented: &str, presenter: impl FnOnce() -> Presenter<'a>) {
        if !self.index.in_overlap() {
            return;
        }
        if let Some((key_id, org_id)) = self.index.previous_secret(&KeyDigest::of(presented)) {
            self.usage
                .previous_secret_used(key_id, org_id, &presenter());
        }
    }

    /// Writes `secret` over the key's own and keeps the one it replaces for `grace` seconds.
    async fn rotate_secret(
        &self,
        who: &Principal,
        kind: RotatedKind,
        key_id: Uuid,
        secret: &Secret,
        grace: Option<i64>,
    ) -> Result<Micros, RotateError> {
        let grace = self.limits.rotation_grace.grace(grace)?;
        let now = time::now();
        let grace = i64::try_from(grace).unwrap_or(i64::MAX / 2_000_000);
        let rotation = Rotation {
            kind,
            org_id: who.org_id,
            key_id,
            digest: secret.digest(),
            sealed_key: self.vault.seal(key_id, secret).map_err(Error::Internal)?,
            last4: secret.last4(),
            rotated_by: who.user_id,
            rotated_at: now,
            previous_valid_until: now.saturating_add(grace.saturating_mul(1_000_000)),
        };
        let written = self.store.rotate_secret(&rotation);
        self.metrics
            .db("rotate_secret", written)
            .await
            .map_err(RotateError::Store)?;
        self.refresh_credentials().await;
        Ok(rotation.previous_valid_until)
    }

    pub async fn rotate_api_key(
        &self,
        who: &Principal,
        id: Uuid,
        grace: Option<i64>,
    ) -> Result<Rotated<ApiKey>> {
        who.require(Permission::ApiKeysWrite)?;
        let secret = Secret::random_hex(API_KEY_BYTES);
        let until = self
            .rotate_secret(who, RotatedKind::ApiKey, id, &secret, grace)
            .await
            .map_err(|e| e.into_error(|s| self.map_api_key_error(who.org_id, "", s)))?;
        self.audit(who, Action::ApiKeyRotated, Some(id)).await;
        let key = self
            .store
            .get_api_key(who.org_id, id)
            .await
            .map_err(|e| self.map_api_key_error(who.org_id, "", e))?;
        Ok(Rotated {
            key,
            secret,
            previous_valid_until: until,
        })
    }

    pub async fn rotate_client_token(
        &self,
        who: &Principal,
        id: Uuid,
        grace: Option<i64>,
    ) -> Result<Rotated<ClientToken>> {
        who.require(Permission::ClientTokensWrite)?;
        let secret = client_token::generate();
        let until = self
            .rotate_secret(who, RotatedKind::ClientToken, id, &secret, grace)
            .await
            .map_err(|e| e.into_error(|s| super::client_tokens::map_error("", s)))?;
        self.audit(who, Action::ClientTokenRotated, Some(id)).await;
        let token = self
            .store
            .get_client_token(who.org_id, id)
            .await
            .map_err(|e| super::client_tokens::map_error("", e))?;
        Ok(Rotated {
            key: token,
            secret,
            previous_valid_until: until,
        })
    }

    /// Rotates an application key in reach of `surface`, as an update would reach it; a call
    /// authenticated by an access token may not (it changes a key).
    pub async fn rotate_application_key(
        &self,
        who: &Principal,
        surface: Surface,
        id: Uuid,
        grace: Option<i64>,
    ) -> Result<Rotated<ApplicationKey>> {
        self.writable_application_key(who, surface, id).await?;
        let secret = Secret::random_hex(APP_KEY_BYTES);
        let until = self
            .rotate_secret(who, RotatedKind::ApplicationKey, id, &secret, grace)
            .await
            .map_err(|e| e.into_error(|s| self.app_key_error("", s)))?;
        self.audit(who, Action::ApplicationKeyRotated, Some(id))
            .await;
        let key = self
            .store
            .get_application_key(who.org_id, id)
            .await
            .map_err(|e| self.app_key_error("", e))?;
        Ok(Rotated {
            key,
            secret,
            previous_valid_until: until,
        })
    }

    /// The current secret of the API key the caller presented, by its current secret or a
    /// previous one still in its grace period: a key may read its own secret and nothing
    /// else (the secret helper follows rotations this way).
    pub async fn own_api_key(&self, entry: &ApiKeyEntry) -> Result<(ApiKey, Secret)> {
        let key = self
            .store
            .get_api_key(entry.org_id, entry.id)
            .await
            .map_err(|e| self.map_api_key_error(entry.org_id, "", e))?;
        let secret = self.unseal(key.id, &key.sealed_key)?;
        Ok((key, secret))
    }

    /// The previous secrets of API key `id` still in their grace period, newest first, and
    /// who still presents them.
    pub async fn api_key_rotation(
        &self,
        who: &Principal,
        id: Uuid,
    ) -> Result<(ApiKey, Vec<PreviousSecret>, Vec<CallerSeen>)> {
        who.require(Permission::ApiKeysRead)?;
        let key = self
            .store
            .get_api_key(who.org_id, id)
            .await
            .map_err(|e| self.map_api_key_error(who.org_id, "", e))?;
        let now = time::now();
        let previous = self
            .store
            .previous_secrets_of(who.org_id, id)
            .await
            .map_err(unexpected)?
            .into_iter()
            .filter(|p: &PreviousSecret| p.valid_at(now))
            .collect::<Vec<_>>();
        // This node's counts first, so a caller it just saw is listed.
        self.flush_previous_callers().await;
        let callers = if previous.is_empty() {
            Vec::new()
        } else {
            self.store
                .rotation_callers(who.org_id, id)
                .await
                .map_err(unexpected)?
        };
        Ok((key, previous, callers))
    }
}

/// A rotation refused by its own rules or by the store, whose errors each kind words itself.
enum RotateError {
    Refused(Error),
    Store(StoreError),
}

impl From<Error> for RotateError {
    fn from(err: Error) -> Self {
        RotateError::Refused(err)
    }
}

impl RotateError {
    fn into_error(self, store: impl FnOnce(StoreError) -> Error) -> Error {
        match self {
            RotateError::Refused(err) => err,
            RotateError::Store(err) => store(err),
        }
    }
}
