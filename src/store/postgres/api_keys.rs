//! API keys on PostgreSQL. The organization's row lock orders the count checks ("at most N
//! keys", "never the last key") with every other writer.

use super::PostgresStore;
use crate::domain::api_key::{ApiKey, ApiKeyChange, ApiKeyQuery};
use crate::domain::name::{fold, unique_name};
use crate::domain::secret::KeyDigest;
use crate::store::api_keys::{api_key_from, push_filter, sort_column, BY_DIGEST, GET};
use crate::store::columns::{order_by, to_u64};
use crate::store::{ApiKeyStore, StoreError, StoreResult};
use async_trait::async_trait;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

/// The insert of `key` inside a transaction that has checked the limit.
pub(super) async fn insert_api_key(conn: &mut PgConnection, key: &ApiKey) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO api_keys (id, org_id, name, name_folded, digest, sealed_key, last4, \
             category, remote_config_read_enabled, created_by, modified_by, created_at, \
             modified_at, date_last_used, unique_name, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(key.id)
    .bind(key.org_id)
    .bind(&key.name)
    .bind(fold(&key.name))
    .bind(key.digest.0.as_slice())
    .bind(&key.sealed_key)
    .bind(&key.last4)
    .bind(&key.category)
    .bind(key.remote_config_read_enabled)
    .bind(key.created_by)
    .bind(key.modified_by)
    .bind(key.created_at)
    .bind(key.modified_at)
    .bind(key.date_last_used)
    .bind(unique_name(&key.name))
    .bind(key.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The organization's key count, its row locked until the transaction ends.
const LOCK_COUNT: &str = "SELECT api_key_count FROM orgs WHERE id = $1 FOR UPDATE";

#[async_trait]
impl ApiKeyStore for PostgresStore {
    async fn create_api_key(&self, key: &ApiKey, max_per_org: u64) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let count: i64 = sqlx::query_scalar(LOCK_COUNT)
            .bind(key.org_id)
            .fetch_one(&mut *tx)
            .await?;
        if to_u64(count) >= max_per_org {
            return Err(StoreError::LimitReached {
                count: to_u64(count),
            });
        }
        insert_api_key(&mut tx, key).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_api_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<ApiKey> {
        let row = sqlx::query(GET)
            .bind(org_id)
            .bind(id)
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
        let filter = |qb: &mut QueryBuilder<'_, Postgres>| push_filter(qb, org_id, query);
        self.paged("api_keys", filter, &order, query.page, api_key_from)
            .await
    }

    async fn update_api_key(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &ApiKeyChange,
    ) -> StoreResult<ApiKey> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE api_keys SET name = $1, name_folded = $2, \
             category = COALESCE($3, category), \
             remote_config_read_enabled = COALESCE($4, remote_config_read_enabled), \
             modified_by = $5, modified_at = $6, unique_name = $9, \
             expires_at = CASE WHEN $10 THEN $11 ELSE expires_at END \
             WHERE org_id = $7 AND id = $8 RETURNING *",
        )
        .bind(change.name.as_str())
        .bind(change.name.folded())
        .bind(&change.category)
        .bind(change.remote_config_read_enabled)
        .bind(change.modified_by)
        .bind(change.modified_at)
        .bind(org_id)
        .bind(id)
        .bind(change.name.unique())
        .bind(change.expires_at.is_some())
        .bind(change.expires_at.flatten())
        .fetch_one(&mut *tx)
        .await?;
        let key = api_key_from(&row)?;
        tx.commit().await?;
        Ok(key)
    }

    async fn delete_api_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let count: Option<i64> = sqlx::query_scalar(LOCK_COUNT)
            .bind(org_id)
            .fetch_optional(&mut *tx)
            .await?;
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM api_keys WHERE org_id = $1 AND id = $2)",
        )
        .bind(org_id)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        match count {
            _ if !exists => return Err(StoreError::NotFound),
            Some(count) if count > 1 => {}
            _ => return Err(StoreError::LastKey),
        }
        sqlx::query("DELETE FROM api_keys WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
