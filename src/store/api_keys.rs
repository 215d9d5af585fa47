//! API keys: what a backend stores of them, their row, and the WHERE clause and sort of
//! their list, the same on both backends.

use super::columns::{push_key_filter, push_window, Columns, Dialect};
use super::StoreResult;
use crate::domain::api_key::{ApiKey, ApiKeyChange, ApiKeyQuery, ApiKeySortField};
use crate::domain::secret::KeyDigest;
use async_trait::async_trait;
use sqlx::QueryBuilder;
use uuid::Uuid;

#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Inserts the key unless the organization already has `max_per_org` keys, atomically.
    async fn create_api_key(&self, key: &ApiKey, max_per_org: u64) -> StoreResult<()>;
    async fn get_api_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<ApiKey>;
    async fn find_api_key(&self, digest: &KeyDigest) -> StoreResult<Option<ApiKey>>;
    /// The organization's keys among `ids`, in no particular order; unknown ids are skipped.
    async fn api_keys_by_ids(&self, org_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<ApiKey>>;
    /// One page of keys and the number of keys the filter matched.
    async fn list_api_keys(
        &self,
        org_id: Uuid,
        query: &ApiKeyQuery,
    ) -> StoreResult<(Vec<ApiKey>, u64)>;
    async fn update_api_key(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &ApiKeyChange,
    ) -> StoreResult<ApiKey>;
    /// Deletes the key unless it is the organization's last, atomically.
    async fn delete_api_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<()>;
}

/// The columns of an API key insert, in the order both backends bind them.
pub(super) const INSERT_COLUMNS: &str = "INSERT INTO api_keys (id, org_id, name, name_folded, \
     unique_name, digest, sealed_key, last4, category, remote_config_read_enabled, \
     created_by, modified_by, created_at, modified_at, date_last_used, expires_at) ";
pub(super) const GET: &str = "SELECT * FROM api_keys WHERE org_id = $1 AND id = $2";
pub(super) const BY_DIGEST: &str = "SELECT * FROM api_keys WHERE digest = $1";
pub(super) const COUNT_IN_ORG: &str = "SELECT api_key_count FROM orgs WHERE id = $1";

pub(super) fn api_key_from<R: Columns>(row: &R) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: row.uuid("id")?,
        org_id: row.uuid("org_id")?,
        name: row.text("name")?,
        digest: row.digest()?,
        sealed_key: row.bytes("sealed_key")?,
        last4: row.text("last4")?,
        category: row.text("category")?,
        remote_config_read_enabled: row.flag("remote_config_read_enabled")?,
        created_by: row.uuid("created_by")?,
        modified_by: row.opt_uuid("modified_by")?,
        created_at: row.int("created_at")?,
        modified_at: row.int("modified_at")?,
        date_last_used: row.opt_int("date_last_used")?,
        expires_at: row.opt_int("expires_at")?,
    })
}

/// What the credential index keeps of every API key (`indexed_api_key_from`).
pub(super) const INDEXED_API_KEYS: &str = "SELECT id, org_id, name, digest, last4, category, \
     remote_config_read_enabled, created_at, modified_at, expires_at FROM api_keys";

/// An API key as the credential index loads it: without its sealed key, authorship or usage,
/// which the index does not keep (and which would cost a copy each per key at start-up).
pub(super) fn indexed_api_key_from<R: Columns>(row: &R) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: row.uuid("id")?,
        org_id: row.uuid("org_id")?,
        name: row.text("name")?,
        digest: row.digest()?,
        sealed_key: Vec::new(),
        last4: row.text("last4")?,
        category: row.text("category")?,
        remote_config_read_enabled: row.flag("remote_config_read_enabled")?,
        created_by: Uuid::nil(),
        modified_by: None,
        created_at: row.int("created_at")?,
        modified_at: row.int("modified_at")?,
        date_last_used: None,
        expires_at: row.opt_int("expires_at")?,
    })
}

pub(super) fn sort_column(field: ApiKeySortField) -> &'static str {
    match field {
        ApiKeySortField::CreatedAt => "created_at",
        ApiKeySortField::Last4 => "last4",
        ApiKeySortField::ModifiedAt => "modified_at",
        ApiKeySortField::Name => "name_folded",
    }
}

/// The WHERE clause of an API key list; shared by the page and its count.
pub(super) fn push_filter<D: Dialect>(
    qb: &mut QueryBuilder<'_, D>,
    org_id: Uuid,
    query: &ApiKeyQuery,
) {
    let f = &query.filter;
    push_key_filter(qb, org_id, &f.name_contains, f.created_from, f.created_to);
    push_window(qb, "modified_at", f.modified_from, f.modified_to);
    if let Some(b) = f.remote_config_read_enabled {
        qb.push(" AND remote_config_read_enabled = ");
        D::push_flag(qb, b);
    }
    if let Some(c) = &f.category {
        qb.push(" AND ");
        D::push_equals(qb, "category", c.clone());
    }
}
