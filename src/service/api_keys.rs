//! API keys: create, read, list, rename, revoke, with the FAQ's rules (unique names, at least
//! one and at most `--max-api-keys-per-org` keys per organization).

use super::{all_pages, in_order_of, unexpected, Services};
use crate::domain::api_key::{
    ApiKey, ApiKeyChange, ApiKeyQuery, ApiKeySortField, DEFAULT_CATEGORY, MAX_CATEGORY_CHARS,
};
use crate::domain::audit::Action;
use crate::domain::expiry::Expiry;
use crate::domain::list::Sort;
use crate::domain::name::KeyName;
use crate::domain::principal::Principal;
use crate::domain::secret::{Secret, API_KEY_BYTES};
use crate::domain::time::{self, Micros};
use crate::domain::user::Permission;
use crate::error::{Error, Result};
use crate::store::StoreError;
use uuid::Uuid;

const NOT_FOUND: &str = "API key not found";

/// What a create asks for, already parsed.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: KeyName,
    pub category: Option<String>,
    pub remote_config_read_enabled: Option<bool>,
    /// As asked; `create_api_key` sets the organization's longest lifetime.
    pub expiry: Expiry,
}

/// Categories follow the rule of names: no control characters (PostgreSQL text cannot even
/// hold NUL, so both backends must refuse what one of them could not store).
pub fn parse_category(raw: Option<String>) -> Result<Option<String>> {
    match raw {
        Some(c) if c.trim().is_empty() => Err(Error::invalid("category must not be blank")),
        Some(c) if c.chars().any(char::is_control) => Err(Error::invalid(
            "category must not contain control characters",
        )),
        Some(c) if c.chars().count() > MAX_CATEGORY_CHARS => Err(Error::invalid(format!(
            "category must be at most {MAX_CATEGORY_CHARS} characters"
        ))),
        other => Ok(other),
    }
}

impl Services {
    pub(super) fn map_api_key_error(&self, org_id: Uuid, name: &str, err: StoreError) -> Error {
        match err {
            StoreError::NotFound => Error::NotFound(NOT_FOUND),
            StoreError::Conflict("name") => {
                Error::Conflict(format!("An API key with the name {name} already exists"))
            }
            // The wording of Datadog's own refusal of an out-of-bounds key count.
            StoreError::LimitReached { count } => Error::Refused(format!(
                "Org {org_id} has {count} api keys. Orgs must have at least 1 and at most {} keys.",
                self.limits.max_api_keys_per_org
            )),
            StoreError::LastKey => Error::Refused(format!(
                "Org {org_id} has 1 api keys. Orgs must have at least 1 and at most {} keys. \
                 The last API key of an organization cannot be deleted.",
                self.limits.max_api_keys_per_org
            )),
            other => unexpected(other),
        }
    }

    /// Creates a key owned by the organization, recorded as created by `actor`.
    /// Used by the API (after a permission check) and by bootstrap and the admin CLI.
    pub async fn insert_api_key(
        &self,
        org_id: Uuid,
        actor: Uuid,
        new: NewApiKey,
    ) -> Result<(ApiKey, Secret)> {
        let (key, secret) = self.new_api_key(org_id, actor, new)?;
        let created = self
            .store
            .create_api_key(&key, self.limits.max_api_keys_per_org);
        self.metrics
            .db("create_api_key", created)
            .await
            .map_err(|e| self.map_api_key_error(org_id, &key.name, e))?;
        self.refresh_credentials().await;
        Ok((key, secret))
    }

    /// A new key and its secret, not stored yet.
    pub(super) fn new_api_key(
        &self,
        org_id: Uuid,
        actor: Uuid,
        new: NewApiKey,
    ) -> Result<(ApiKey, Secret)> {
        let id = Uuid::new_v4();
        let secret = Secret::random_hex(API_KEY_BYTES);
        let now = time::now();
        let key = ApiKey {
            id,
            org_id,
            name: new.name.as_str().to_owned(),
            digest: secret.digest(),
            sealed_key: self.vault.seal(id, &secret).map_err(Error::Internal)?,
            last4: secret.last4(),
            category: new.category.unwrap_or_else(|| DEFAULT_CATEGORY.to_owned()),
            remote_config_read_enabled: new.remote_config_read_enabled.unwrap_or(true),
            created_by: actor,
            modified_by: Some(actor),
            created_at: now,
            modified_at: now,
            date_last_used: None,
            expires_at: new.expiry.at(now)?,
        };
        Ok((key, secret))
    }

    pub async fn create_api_key(
        &self,
        who: &Principal,
        mut new: NewApiKey,
    ) -> Result<(ApiKey, Secret)> {
        who.require(Permission::ApiKeysWrite)?;
        new.expiry.limit = self.key_lifetime(who.org_id).await?;
        let created = self.insert_api_key(who.org_id, who.user_id, new).await?;
        self.audit(who, Action::ApiKeyCreated, Some(created.0.id))
            .await;
        Ok(created)
    }

    /// The key with its secret, as Datadog's GET returns it.
    pub async fn get_api_key(&self, who: &Principal, id: Uuid) -> Result<(ApiKey, Secret)> {
        who.require(Permission::ApiKeysRead)?;
        let key = match self.index.cached_api_key(id) {
            Some(key) if key.org_id == who.org_id => key,
            _ => {
                let key = self
                    .metrics
                    .db("get_api_key", self.store.get_api_key(who.org_id, id))
                    .await
                    .map_err(|e| self.map_api_key_error(who.org_id, "", e))?;
                self.index.remember_api_key(&key);
                key
            }
        };
        self.with_secret(key)
    }

    fn with_secret(&self, key: ApiKey) -> Result<(ApiKey, Secret)> {
        let secret = self.unseal(key.id, &key.sealed_key)?;
        Ok((key, secret))
    }

    /// One page of keys (never their secrets) and the number the filter matched.
    pub async fn list_api_keys(
        &self,
        who: &Principal,
        query: &ApiKeyQuery,
    ) -> Result<(Vec<ApiKey>, u64)> {
        who.require(Permission::ApiKeysRead)?;
        // Writes other nodes committed before this request are listed too.
        self.refresh_credentials().await;
        let (ids, matched) = self.index.list_api_keys(who.org_id, query)?;
        let keys = self
            .metrics
            .db(
                "api_keys_by_ids",
                self.store.api_keys_by_ids(who.org_id, &ids),
            )
            .await
            .map_err(unexpected)?;
        Ok((in_order_of(&ids, keys, |k| k.id), matched))
    }

    pub async fn update_api_key(
        &self,
        who: &Principal,
        id: Uuid,
        name: KeyName,
        category: Option<String>,
        remote_config_read_enabled: Option<bool>,
        expires_at: Option<Option<Micros>>,
    ) -> Result<(ApiKey, Secret)> {
        who.require(Permission::ApiKeysWrite)?;
        let now = time::now();
        let expires_at = match expires_at {
            Some(asked) => Some(
                self.key_lifetime(who.org_id)
                    .await?
                    .for_change(asked, now)?,
            ),
            None => None,
        };
        let change = ApiKeyChange {
            name,
            category,
            remote_config_read_enabled,
            expires_at,
            modified_by: who.user_id,
            modified_at: now,
        };
        let key = self
            .metrics
            .db(
                "update_api_key",
                self.store.update_api_key(who.org_id, id, &change),
            )
            .await
            .map_err(|e| self.map_api_key_error(who.org_id, change.name.as_str(), e))?;
        self.refresh_credentials().await;
        self.audit(who, Action::ApiKeyRenamed, Some(id)).await;
        self.with_secret(key)
    }

    pub async fn delete_api_key(&self, who: &Principal, id: Uuid) -> Result<()> {
        who.require(Permission::ApiKeysDelete)?;
        self.metrics
            .db("delete_api_key", self.store.delete_api_key(who.org_id, id))
            .await
            .map_err(|e| self.map_api_key_error(who.org_id, "", e))?;
        self.refresh_credentials().await;
        self.audit(who, Action::ApiKeyRevoked, Some(id)).await;
        Ok(())
    }

    /// The caller's organization's key whose value is `value` (v1 names keys by value).
    pub async fn find_api_key_by_value(
        &self,
        who: &Principal,
        value: &str,
    ) -> Result<(ApiKey, Secret)> {
        who.require(Permission::ApiKeysRead)?;
        let digest = crate::domain::secret::KeyDigest::of(value);
        match self.store.find_api_key(&digest).await {
            Ok(Some(key)) if key.org_id == who.org_id && key.digest.matches(&digest) => {
                self.with_secret(key)
            }
            Ok(_) => Err(Error::NotFound(NOT_FOUND)),
            Err(e) => Err(unexpected(e)),
        }
    }

    /// Every key of the organization with its secret, by name (v1 lists keys in full).
    pub async fn all_api_keys(&self, who: &Principal) -> Result<Vec<(ApiKey, Secret)>> {
        let keys = all_pages(|page| {
            let query = ApiKeyQuery {
                filter: Default::default(),
                sort: Sort {
                    field: ApiKeySortField::Name,
                    descending: false,
                },
                page,
            };
            async move { self.list_api_keys(who, &query).await }
        })
        .await?;
        keys.into_iter().map(|k| self.with_secret(k)).collect()
    }

    /// The maximum number of API keys an organization may hold (`meta.max_allowed`).
    pub fn max_api_keys(&self) -> u64 {
        self.limits.max_api_keys_per_org
    }
}
