//! Application keys: what a backend stores of them, their row, and the WHERE clause and
//! sort of their list, the same on both backends.

use super::columns::{push_key_filter, Columns, Dialect};
use super::{StoreError, StoreResult};
use crate::domain::application_key::{
    ApplicationKey, ApplicationKeyChange, ApplicationKeyQuery, ApplicationKeySortField,
};
use crate::domain::secret::KeyDigest;
use async_trait::async_trait;
use sqlx::QueryBuilder;
use uuid::Uuid;

#[async_trait]
pub trait ApplicationKeyStore: Send + Sync {
    /// Inserts the key unless its owner already has `max_per_owner` keys, atomically.
    async fn create_application_key(
        &self,
        key: &ApplicationKey,
        max_per_owner: u64,
    ) -> StoreResult<()>;
    async fn get_application_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<ApplicationKey>;
    async fn find_application_key(&self, digest: &KeyDigest)
        -> StoreResult<Option<ApplicationKey>>;
    /// The organization's keys among `ids`, in no particular order; unknown ids are skipped.
    async fn application_keys_by_ids(
        &self,
        org_id: Uuid,
        ids: &[Uuid],
    ) -> StoreResult<Vec<ApplicationKey>>;
    /// One page of keys and the number the filter matched (the SQL rule the credential
    /// index's lists follow; copies between stores page with it).
    async fn list_application_keys(
        &self,
        org_id: Uuid,
        query: &ApplicationKeyQuery,
    ) -> StoreResult<(Vec<ApplicationKey>, u64)>;
    async fn update_application_key(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &ApplicationKeyChange,
    ) -> StoreResult<ApplicationKey>;
    async fn delete_application_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<()>;
}

/// The columns of an application key insert, in the order both backends bind them.
pub(super) const INSERT_COLUMNS: &str = "INSERT INTO application_keys (id, org_id, owner_id, \
     name, name_folded, unique_name, digest, sealed_key, last4, scopes, created_at, \
     last_used_at, expires_at) ";
pub(super) const GET: &str = "SELECT * FROM application_keys WHERE org_id = $1 AND id = $2";
pub(super) const BY_DIGEST: &str = "SELECT * FROM application_keys WHERE digest = $1";
pub(super) const UPDATE: &str = "UPDATE application_keys SET name = $1, name_folded = $2, \
     unique_name = $3, scopes = $4, expires_at = $5 WHERE org_id = $6 AND id = $7";

pub(super) fn scopes_json(scopes: &Option<Vec<String>>) -> StoreResult<Option<String>> {
    scopes
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Backend(e.to_string()))
}

pub(super) fn app_key_from<R: Columns>(row: &R) -> StoreResult<ApplicationKey> {
    let scopes = row
        .opt_text("scopes")?
        .map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Backend(e.to_string())))
        .transpose()?;
    Ok(ApplicationKey {
        id: row.uuid("id")?,
        org_id: row.uuid("org_id")?,
        owner_id: row.uuid("owner_id")?,
        name: row.text("name")?,
        digest: row.digest()?,
        sealed_key: row.bytes("sealed_key")?,
        last4: row.text("last4")?,
        scopes,
        created_at: row.int("created_at")?,
        last_used_at: row.opt_int("last_used_at")?,
        expires_at: row.opt_int("expires_at")?,
    })
}

/// `key` as `change` leaves it (the store writes name and scopes back whole).
pub(super) fn apply(key: &mut ApplicationKey, change: &ApplicationKeyChange) {
    if let Some(name) = &change.name {
        key.name = name.as_str().to_owned();
    }
    if let Some(scopes) = &change.scopes {
        key.scopes = scopes.clone();
    }
    if let Some(expires_at) = change.expires_at {
        key.expires_at = expires_at;
    }
}

pub(super) fn sort_column(field: ApplicationKeySortField) -> &'static str {
    match field {
        ApplicationKeySortField::CreatedAt => "created_at",
        ApplicationKeySortField::Last4 => "last4",
        ApplicationKeySortField::Name => "name_folded",
    }
}

/// The WHERE clause of an application key list; shared by the page and its count.
pub(super) fn push_filter<D: Dialect>(
    qb: &mut QueryBuilder<'_, D>,
    org_id: Uuid,
    query: &ApplicationKeyQuery,
) {
    let f = &query.filter;
    push_key_filter(qb, org_id, &f.name_contains, f.created_from, f.created_to);
    if let Some(owner) = f.owner_id {
        qb.push(" AND owner_id = ");
        D::push_id(qb, owner);
    }
}
