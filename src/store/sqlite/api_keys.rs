//! API keys on SQLite. Writes go through the group committer; the organization's limit and
//! its last key are checked in the statement that writes.

use super::{SqliteQuery, SqliteStore};
use crate::domain::api_key::{ApiKey, ApiKeyChange, ApiKeyQuery};
use crate::domain::name::{fold, unique_name};
use crate::domain::secret::KeyDigest;
use crate::store::api_keys::{
    api_key_from, push_filter, sort_column, BY_DIGEST, COUNT_IN_ORG, GET,
};
use crate::store::columns::{order_by, to_u64};
use crate::store::{ApiKeyStore, StoreError, StoreResult};
use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

/// The insert of `key` unless its organization holds `max_per_org` keys already (the check
/// and the insert are one statement).
pub(super) fn insert_api_key(key: &ApiKey, max_per_org: u64) -> SqliteQuery<'_> {
    sqlx::query(
        "INSERT INTO api_keys (id, org_id, name, name_folded, unique_name, digest, sealed_key, \
         last4, category, remote_config_read_enabled, created_by, modified_by, created_at, \
         modified_at, date_last_used, expires_at) \
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? \
         WHERE (SELECT api_key_count FROM orgs WHERE id = ?) < ?",
    )
    .bind(key.id.to_string())
    .bind(key.org_id.to_string())
    .bind(&key.name)
    .bind(fold(&key.name))
    .bind(unique_name(&key.name))
    .bind(key.digest.0.as_slice())
    .bind(&key.sealed_key)
    .bind(&key.last4)
    .bind(&key.category)
    .bind(key.remote_config_read_enabled)
    .bind(key.created_by.to_string())
    .bind(key.modified_by.map(|u| u.to_string()))
    .bind(key.created_at)
    .bind(key.modified_at)
    .bind(key.date_last_used)
    .bind(key.expires_at)
    .bind(key.org_id.to_string())
    .bind(i64::try_from(max_per_org).unwrap_or(i64::MAX))
}

#[async_trait]
impl ApiKeyStore for SqliteStore {
    async fn create_api_key(&self, key: &ApiKey, max_per_org: u64) -> StoreResult<()> {
        let key = key.clone();
        self.writes
            .run(move |conn| {
                Box::pin(async move {
                    // One statement: the limit check and the insert are atomic, and the
                    // triggers keep the count and the change log in the same transaction.
                    let inserted = insert_api_key(&key, max_per_org)
                        .execute(&mut *conn)
                        .await?;
                    if inserted.rows_affected() == 0 {
                        let count: i64 = sqlx::query_scalar(COUNT_IN_ORG)
                            .bind(key.org_id.to_string())
                            .fetch_one(&mut *conn)
                            .await?;
                        return Err(StoreError::LimitReached {
                            count: to_u64(count),
                        });
                    }
                    Ok(())
                })
            })
            .await
    }

    async fn get_api_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<ApiKey> {
        let row = sqlx::query(GET)
            .bind(org_id.to_string())
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await?;
        api_key_from(&row)
    }

    async fn find_api_key(&self, digest: &KeyDigest) -> StoreResult<Option<ApiKey>> {
        let row = sqlx::query(BY_DIGEST)
            .bind(digest.0.as_slice())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(api_key_from).transpose()
    }

    async fn api_keys_by_ids(&self, org_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<ApiKey>> {
        self.rows_by_ids("api_keys", org_id, ids, api_key_from)
            .await
    }

    async fn list_api_keys(
        &self,
        org_id: Uuid,
        query: &ApiKeyQuery,
    ) -> StoreResult<(Vec<ApiKey>, u64)> {
        let order = order_by(sort_column(query.sort.field), query.sort.descending);
        let filter = |qb: &mut QueryBuilder<'_, Sqlite>| push_filter(qb, org_id, query);
        self.paged("api_keys", filter, &order, query.page, api_key_from)
            .await
    }

    async fn update_api_key(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &ApiKeyChange,
    ) -> StoreResult<ApiKey> {
        let change = change.clone();
        self.writes
            .run(move |conn| {
                Box::pin(async move {
                    let updated = sqlx::query(
                        "UPDATE api_keys SET name = ?, name_folded = ?, unique_name = ?, \
                         category = COALESCE(?, category), \
                         remote_config_read_enabled = COALESCE(?, remote_config_read_enabled), \
                         expires_at = CASE WHEN ? THEN ? ELSE expires_at END, \
                         modified_by = ?, modified_at = ? WHERE org_id = ? AND id = ?",
                    )
                    .bind(change.name.as_str())
                    .bind(change.name.folded())
                    .bind(change.name.unique())
                    .bind(&change.category)
                    .bind(change.remote_config_read_enabled)
                    .bind(change.expires_at.is_some())
                    .bind(change.expires_at.flatten())
                    .bind(change.modified_by.to_string())
                    .bind(change.modified_at)
                    .bind(org_id.to_string())
                    .bind(id.to_string())
                    .execute(&mut *conn)
                    .await?;
                    if updated.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    let row = sqlx::query(GET)
                        .bind(org_id.to_string())
                        .bind(id.to_string())
                        .fetch_one(&mut *conn)
                        .await?;
                    api_key_from(&row)
                })
            })
            .await
    }

    async fn delete_api_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<()> {
        self.writes
            .run(move |conn| {
                Box::pin(async move {
                    let deleted = sqlx::query(
                        "DELETE FROM api_keys WHERE org_id = ? AND id = ? \
                         AND (SELECT api_key_count FROM orgs WHERE id = ?) > 1",
                    )
                    .bind(org_id.to_string())
                    .bind(id.to_string())
                    .bind(org_id.to_string())
                    .execute(&mut *conn)
                    .await?;
                    if deleted.rows_affected() > 0 {
                        return Ok(());
                    }
                    let exists: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM api_keys WHERE org_id = ? AND id = ?",
                    )
                    .bind(org_id.to_string())
                    .bind(id.to_string())
                    .fetch_one(&mut *conn)
                    .await?;
                    Err(if exists == 0 {
                        StoreError::NotFound
                    } else {
                        StoreError::LastKey
                    })
                })
            })
            .await
    }
}
