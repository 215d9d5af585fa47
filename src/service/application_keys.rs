//! Application keys on Datadog's three surfaces (organization, current user, service
//! account). One set of rules; the surface decides whose keys are in reach, which
//! permission it takes, and whether the secret is shown.

use super::{all_pages, in_order_of, unexpected, Services};
use crate::domain::application_key::{
    within, ApplicationKey, ApplicationKeyChange, ApplicationKeyFilter, ApplicationKeyQuery,
    ApplicationKeySortField, MAX_PER_USER,
};
use crate::domain::audit::Action;
use crate::domain::expiry::Expiry;
use crate::domain::list::Sort;
use crate::domain::name::KeyName;
use crate::domain::principal::Principal;
use crate::domain::secret::{Secret, APP_KEY_BYTES};
use crate::domain::time::{self, Micros};
use crate::domain::user::{Permission, User};
use crate::error::{Error, Result};
use crate::store::StoreError;
use uuid::Uuid;

const NOT_FOUND: &str = "Application key not found";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// `/api/v2/application_keys`: every key of the organization.
    Org,
    /// `/api/v2/current_user/application_keys`: the caller's own keys.
    CurrentUser,
    /// `/api/v2/service_accounts/{id}/application_keys`: one service account's keys.
    ServiceAccount(Uuid),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

impl Surface {
    fn permission(self, access: Access) -> Permission {
        match (self, access) {
            (Surface::Org, Access::Read) => Permission::OrgAppKeysRead,
            (Surface::Org, Access::Write) => Permission::OrgAppKeysWrite,
            (Surface::CurrentUser, _) => Permission::UserAppKeys,
            (Surface::ServiceAccount(_), _) => Permission::ServiceAccountWrite,
        }
    }
}

/// Scopes are a ceiling: a scoped caller makes only keys whose scopes are a non-empty subset
/// of its own (an unscoped key would hold every permission of its owner).
fn within_ceiling(who: &Principal, scopes: &Option<Vec<String>>) -> Result<()> {
    match (&who.scopes, scopes) {
        (None, _) => Ok(()),
        (Some(ceiling), Some(scopes)) if within(scopes, ceiling) => Ok(()),
        _ => Err(Error::Forbidden),
    }
}

/// Whether `key` is no wider than the caller: a scoped caller is never shown the secret of a
/// key with more permissions than its own (its owner's unscoped key, say).
fn within_reach(who: &Principal, key: &ApplicationKey) -> bool {
    within_ceiling(who, &key.scopes).is_ok()
}

/// A scoped caller may only narrow a key's scopes, and never change those of the key it
/// presents (a key that could rescope itself would have no ceiling).
fn may_rescope(who: &Principal, key: &ApplicationKey, scopes: &Option<Vec<String>>) -> Result<()> {
    if who.scopes.is_none() {
        return Ok(());
    }
    if who.app_key_id == Some(key.id) {
        return Err(Error::Forbidden);
    }
    within_ceiling(who, scopes)?;
    match (&key.scopes, scopes) {
        (Some(present), Some(scopes)) if !within(scopes, present) => Err(Error::Forbidden),
        _ => Ok(()),
    }
}

/// A call authenticated by an access token may not create or change application keys
/// (revoking is allowed), as Datadog restricts it: a token must not mint longer-lived keys.
fn forbid_token(who: &Principal) -> Result<()> {
    match who.token {
        Some(_) => Err(Error::Forbidden),
        None => Ok(()),
    }
}

impl Services {
    pub(super) fn app_key_error(&self, name: &str, err: StoreError) -> Error {
        match err {
            StoreError::NotFound => Error::NotFound(NOT_FOUND),
            StoreError::Conflict("name") => Error::Conflict(format!(
                "An application key with the name {name} already exists"
            )),
            // The owner was disabled while the key was being made: it never exists.
            StoreError::OwnerDisabled => Error::Forbidden,
            StoreError::LimitReached { count } => Error::Refused(format!(
                "The owner has {count} application keys; at most {MAX_PER_USER} are allowed."
            )),
            other => unexpected(other),
        }
    }

    /// Checks the caller may use `surface` and returns the owner it is limited to.
    async fn surface_owner(
        &self,
        who: &Principal,
        surface: Surface,
        access: Access,
    ) -> Result<Option<Uuid>> {
        who.require(surface.permission(access))?;
        match surface {
            Surface::Org => Ok(None),
            Surface::CurrentUser => Ok(Some(who.user_id)),
            Surface::ServiceAccount(id) => {
                self.service_account(who.org_id, id).await?;
                Ok(Some(id))
            }
        }
    }

    async fn service_account(&self, org_id: Uuid, id: Uuid) -> Result<User> {
        match self.store.get_user(org_id, id).await {
            Ok(user) if user.service_account => Ok(user),
            Ok(_) | Err(StoreError::NotFound) => Err(Error::NotFound("Service account not found")),
            Err(e) => Err(unexpected(e)),
        }
    }

    /// A key of the organization that is in reach of `surface`, or 404.
    async fn reachable_key(
        &self,
        who: &Principal,
        surface: Surface,
        access: Access,
        id: Uuid,
    ) -> Result<ApplicationKey> {
        let owner = self.surface_owner(who, surface, access).await?;
        let key = self
            .store
            .get_application_key(who.org_id, id)
            .await
            .map_err(|e| self.app_key_error("", e))?;
        match owner {
            Some(owner) if owner != key.owner_id => Err(Error::NotFound(NOT_FOUND)),
            _ => Ok(key),
        }
    }

    /// The secret, where Datadog shows it after creation: GET and PATCH on the current
    /// user's surface, unless the organization is in One-Time Read mode.
    async fn revealed(
        &self,
        who: &Principal,
        surface: Surface,
        key: &ApplicationKey,
    ) -> Result<Option<Secret>> {
        if surface != Surface::CurrentUser || !within_reach(who, key) {
            return Ok(None);
        }
        let org = self.store.get_org(key.org_id).await.map_err(unexpected)?;
        if org.one_time_read {
            return Ok(None);
        }
        self.unseal(key.id, &key.sealed_key).map(Some)
    }

    /// Datadog's v1 application key endpoints: refused in One-Time Read organizations;
    /// callers with the organization permission see every key, others their own.
    pub async fn legacy_surface(&self, who: &Principal, write: bool) -> Result<Surface> {
        let org = self.store.get_org(who.org_id).await.map_err(unexpected)?;
        if org.one_time_read {
            return Err(Error::Disabled(
                "This endpoint is disabled for organizations in One-Time Read mode".to_owned(),
            ));
        }
        let org_permission = if write {
            Permission::OrgAppKeysWrite
        } else {
            Permission::OrgAppKeysRead
        };
        who.require_any(&[org_permission, Permission::UserAppKeys])?;
        Ok(if who.can(org_permission) {
            Surface::Org
        } else {
            Surface::CurrentUser
        })
    }

    /// The id of the caller's organization's key whose value is `value` (v1 names
    /// application keys by their value, the "hash").
    pub async fn application_key_id_by_value(&self, who: &Principal, value: &str) -> Result<Uuid> {
        let digest = crate::domain::secret::KeyDigest::of(value);
        match self.store.find_application_key(&digest).await {
            Ok(Some(key)) if key.org_id == who.org_id && key.digest.matches(&digest) => Ok(key.id),
            Ok(_) => Err(Error::NotFound(NOT_FOUND)),
            Err(e) => Err(unexpected(e)),
        }
    }

    /// The caller's own keys, each with its secret: v1 lists keys in full, so it lists only
    /// the caller's (another owner's secret is never shown to a read permission), and to a
    /// scoped caller only those no wider than itself.
    pub async fn own_application_keys(
        &self,
        who: &Principal,
    ) -> Result<Vec<(ApplicationKey, Secret)>> {
        self.legacy_surface(who, false).await?;
        let keys = all_pages(|page| {
            let query = ApplicationKeyQuery {
                filter: ApplicationKeyFilter {
                    owner_id: Some(who.user_id),
                    ..Default::default()
                },
                sort: Sort {
                    field: ApplicationKeySortField::Name,
                    descending: false,
                },
                page,
            };
            async move { self.application_keys_page(who.org_id, &query).await }
        })
        .await?;
        keys.into_iter()
            .filter(|key| within_reach(who, key))
            .map(|key| {
                let secret = self.unseal(key.id, &key.sealed_key)?;
                Ok((key, secret))
            })
            .collect()
    }

    /// Mints a key for `owner`; used by the API, bootstrap and `keyplane admin`.
    pub async fn insert_application_key(
        &self,
        org_id: Uuid,
        owner_id: Uuid,
        name: KeyName,
        scopes: Option<Vec<String>>,
        expiry: Expiry,
    ) -> Result<(ApplicationKey, Secret)> {
        let (key, secret) = self.new_application_key(org_id, owner_id, name, scopes)?;
        let expires_at = expiry.at(key.created_at)?;
        let key = ApplicationKey { expires_at, ..key };
        self.store
            .create_application_key(&key, MAX_PER_USER)
            .await
            .map_err(|e| self.app_key_error(&key.name, e))?;
        self.refresh_credentials().await;
        Ok((key, secret))
    }

    /// A new key and its secret, not stored yet.
    pub(super) fn new_application_key(
        &self,
        org_id: Uuid,
        owner_id: Uuid,
        name: KeyName,
        scopes: Option<Vec<String>>,
    ) -> Result<(ApplicationKey, Secret)> {
        let id = Uuid::new_v4();
        let secret = Secret::random_hex(APP_KEY_BYTES);
        let key = ApplicationKey {
            id,
            org_id,
            owner_id,
            name: name.as_str().to_owned(),
            digest: secret.digest(),
            sealed_key: self.vault.seal(id, &secret).map_err(Error::Internal)?,
            last4: secret.last4(),
            scopes,
            created_at: time::now(),
            last_used_at: None,
            expires_at: None,
        };
        Ok((key, secret))
    }

    pub async fn create_application_key(
        &self,
        who: &Principal,
        surface: Surface,
        name: KeyName,
        scopes: Option<Vec<String>>,
        expires_at: Option<Micros>,
    ) -> Result<(ApplicationKey, Secret)> {
        forbid_token(who)?;
        let expiry = Expiry {
            asked: expires_at,
            limit: self.key_lifetime(who.org_id).await?,
        };
        let owner = self
            .surface_owner(who, surface, Access::Write)
            .await?
            .ok_or_else(|| Error::internal("application keys are created for an owner"))?;
        within_ceiling(who, &scopes)?;
        if let Surface::ServiceAccount(id) = surface {
            let account = self.service_account(who.org_id, id).await?;
            let granted = self.index.permissions_of(who.org_id, &account.roles);
            super::roles::within_ceiling(who, &granted)?;
            if account.disabled() {
                return Err(Error::invalid("the service account is disabled"));
            }
        }
        let created = self
            .insert_application_key(who.org_id, owner, name, scopes, expiry)
            .await?;
        self.audit(who, Action::ApplicationKeyCreated, Some(created.0.id))
            .await;
        Ok(created)
    }

    pub async fn get_application_key(
        &self,
        who: &Principal,
        surface: Surface,
        id: Uuid,
    ) -> Result<(ApplicationKey, Option<Secret>)> {
        let key = self.reachable_key(who, surface, Access::Read, id).await?;
        let secret = self.revealed(who, surface, &key).await?;
        Ok((key, secret))
    }

    pub async fn list_application_keys(
        &self,
        who: &Principal,
        surface: Surface,
        mut query: ApplicationKeyQuery,
    ) -> Result<(Vec<ApplicationKey>, u64)> {
        if let Some(owner) = self.surface_owner(who, surface, Access::Read).await? {
            query.filter.owner_id = Some(owner);
        }
        self.application_keys_page(who.org_id, &query).await
    }

    /// One page of the organization's keys, chosen and counted in memory; only the page's
    /// records are read from the store.
    async fn application_keys_page(
        &self,
        org_id: Uuid,
        query: &ApplicationKeyQuery,
    ) -> Result<(Vec<ApplicationKey>, u64)> {
        // Writes other nodes committed before this request are listed too.
        self.refresh_credentials().await;
        let (ids, matched) = self.index.list_application_keys(org_id, query)?;
        let keys = self
            .metrics
            .db(
                "application_keys_by_ids",
                self.store.application_keys_by_ids(org_id, &ids),
            )
            .await
            .map_err(unexpected)?;
        Ok((in_order_of(&ids, keys, |k| k.id), matched))
    }

    /// Renames or rescopes a key; no change moves a key to another owner.
    pub async fn update_application_key(
        &self,
        who: &Principal,
        surface: Surface,
        id: Uuid,
        mut change: ApplicationKeyChange,
    ) -> Result<(ApplicationKey, Option<Secret>)> {
        forbid_token(who)?;
        let present = self.reachable_key(who, surface, Access::Write, id).await?;
        if let Some(asked) = change.expires_at {
            let lifetime = self.key_lifetime(who.org_id).await?;
            change.expires_at = Some(lifetime.for_change(asked, time::now())?);
        }
        if let Some(scopes) = &change.scopes {
            may_rescope(who, &present, scopes)?;
        }
        let name = change.name.as_ref().map(|n| n.as_str().to_owned());
        let key = self
            .store
            .update_application_key(who.org_id, id, &change)
            .await
            .map_err(|e| self.app_key_error(name.as_deref().unwrap_or_default(), e))?;
        self.refresh_credentials().await;
        self.audit(who, Action::ApplicationKeyChanged, Some(id))
            .await;
        let secret = self.revealed(who, surface, &key).await?;
        Ok((key, secret))
    }

    /// The key, if the caller may change it on `surface` (as an update checks, scopes aside:
    /// a new secret changes nothing the key can do).
    pub(super) async fn writable_application_key(
        &self,
        who: &Principal,
        surface: Surface,
        id: Uuid,
    ) -> Result<ApplicationKey> {
        forbid_token(who)?;
        let key = self.reachable_key(who, surface, Access::Write, id).await?;
        // A scoped caller may not mint a new secret for a key wider than itself.
        if !within_reach(who, &key) {
            return Err(Error::Forbidden);
        }
        Ok(key)
    }

    /// Revokes a key: it stops authenticating on the very next request.
    pub async fn delete_application_key(
        &self,
        who: &Principal,
        surface: Surface,
        id: Uuid,
    ) -> Result<()> {
        self.reachable_key(who, surface, Access::Write, id).await?;
        self.store
            .delete_application_key(who.org_id, id)
            .await
            .map_err(|e| self.app_key_error("", e))?;
        self.refresh_credentials().await;
        self.audit(who, Action::ApplicationKeyRevoked, Some(id))
            .await;
        Ok(())
    }
}
