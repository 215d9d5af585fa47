//! Application keys on PostgreSQL. The owner's row lock orders a create with a disable of
//! the owner (which locks the same row): a key is never added to an owner being disabled.

use super::PostgresStore;
use crate::domain::application_key::{ApplicationKey, ApplicationKeyChange, ApplicationKeyQuery};
use crate::domain::name::{fold, unique_name};
use crate::domain::secret::KeyDigest;
use crate::store::application_keys::{
    app_key_from, apply, push_filter, scopes_json, sort_column, BY_DIGEST, GET, UPDATE,
};
use crate::store::columns::{order_by, to_u64};
use crate::store::{ApplicationKeyStore, StoreError, StoreResult};
use async_trait::async_trait;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

/// The insert of `key` inside a transaction that has checked the owner.
pub(super) async fn insert_app_key(
    conn: &mut PgConnection,
    key: &ApplicationKey,
    scopes: Option<String>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO application_keys (id, org_id, owner_id, name, name_folded, digest, \
             sealed_key, last4, scopes, created_at, last_used_at, unique_name, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(key.id)
    .bind(key.org_id)
    .bind(key.owner_id)
    .bind(&key.name)
    .bind(fold(&key.name))
    .bind(key.digest.0.as_slice())
    .bind(&key.sealed_key)
    .bind(&key.last4)
    .bind(scopes)
    .bind(key.created_at)
    .bind(key.last_used_at)
    .bind(unique_name(&key.name))
    .bind(key.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl ApplicationKeyStore for PostgresStore {
    async fn create_application_key(
        &self,
        key: &ApplicationKey,
        max_per_owner: u64,
    ) -> StoreResult<()> {
        let scopes = scopes_json(&key.scopes)?;
        let mut tx = self.begin_write().await?;
        let owner: Option<(i64, bool)> =
            sqlx::query_as("SELECT app_key_count, disabled FROM users WHERE id = $1 FOR UPDATE")
                .bind(key.owner_id)
                .fetch_optional(&mut *tx)
                .await?;
        if owner.is_some_and(|(_, disabled)| disabled) {
            return Err(StoreError::OwnerDisabled);
        }
        // As on SQLite, a missing owner counts as full: the insert would have no owner.
        if owner.is_none_or(|(n, _)| to_u64(n) >= max_per_owner) {
            return Err(StoreError::LimitReached {
                count: max_per_owner,
            });
        }
        insert_app_key(&mut tx, key, scopes).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_application_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<ApplicationKey> {
        let row = sqlx::query(GET)
            .bind(org_id)
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        app_key_from(&row)
    }

    async fn find_application_key(
        &self,
        digest: &KeyDigest,
    ) -> StoreResult<Option<ApplicationKey>> {
        let row = sqlx::query(BY_DIGEST)
            .bind(digest.0.as_slice())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(app_key_from).transpose()
    }

    async fn application_keys_by_ids(
        &self,
        org_id: Uuid,
        ids: &[Uuid],
    ) -> StoreResult<Vec<ApplicationKey>> {
        self.rows_by_ids("application_keys", org_id, ids, app_key_from)
            .await
    }

    async fn list_application_keys(
        &self,
        org_id: Uuid,
        query: &ApplicationKeyQuery,
    ) -> StoreResult<(Vec<ApplicationKey>, u64)> {
        let order = order_by(sort_column(query.sort.field), query.sort.descending);
        let filter = |qb: &mut QueryBuilder<'_, Postgres>| push_filter(qb, org_id, query);
        self.paged("application_keys", filter, &order, query.page, app_key_from)
            .await
    }

    async fn update_application_key(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &ApplicationKeyChange,
    ) -> StoreResult<ApplicationKey> {
        let mut tx = self.begin_write().await?;
        let row =
            sqlx::query("SELECT * FROM application_keys WHERE org_id = $1 AND id = $2 FOR UPDATE")
                .bind(org_id)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        let mut key = app_key_from(&row)?;
        apply(&mut key, change);
        sqlx::query(UPDATE)
            .bind(&key.name)
            .bind(fold(&key.name))
            .bind(unique_name(&key.name))
            .bind(scopes_json(&key.scopes)?)
            .bind(key.expires_at)
            .bind(org_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(key)
    }

    async fn delete_application_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<()> {
        self.delete_row("application_keys", org_id, id).await
    }
}
