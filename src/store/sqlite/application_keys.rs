//! Application keys on SQLite. Writes go through the group committer; the owner's limit
//! and state are checked in the statement that inserts.

use super::{SqliteQuery, SqliteStore};
use crate::domain::application_key::{ApplicationKey, ApplicationKeyChange, ApplicationKeyQuery};
use crate::domain::name::{fold, unique_name};
use crate::domain::secret::KeyDigest;
use crate::store::application_keys::{
    app_key_from, apply, push_filter, scopes_json, sort_column, BY_DIGEST, GET, UPDATE,
};
use crate::store::columns::order_by;
use crate::store::{ApplicationKeyStore, StoreError, StoreResult};
use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

/// The insert of `key` unless its owner holds `max_per_owner` keys already.
pub(super) fn insert_app_key(
    key: &ApplicationKey,
    scopes: Option<String>,
    max_per_owner: u64,
) -> SqliteQuery<'_> {
    sqlx::query(
        "INSERT INTO application_keys (id, org_id, owner_id, name, name_folded, unique_name, \
         digest, sealed_key, last4, scopes, created_at, last_used_at, expires_at) \
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? \
         WHERE (SELECT app_key_count FROM users WHERE id = ?) < ? \
         AND (SELECT disabled FROM users WHERE id = ?) = 0",
    )
    .bind(key.id.to_string())
    .bind(key.org_id.to_string())
    .bind(key.owner_id.to_string())
    .bind(&key.name)
    .bind(fold(&key.name))
    .bind(unique_name(&key.name))
    .bind(key.digest.0.as_slice())
    .bind(&key.sealed_key)
    .bind(&key.last4)
    .bind(scopes)
    .bind(key.created_at)
    .bind(key.last_used_at)
    .bind(key.expires_at)
    .bind(key.owner_id.to_string())
    .bind(i64::try_from(max_per_owner).unwrap_or(i64::MAX))
    .bind(key.owner_id.to_string())
}

#[async_trait]
impl ApplicationKeyStore for SqliteStore {
    async fn create_application_key(
        &self,
        key: &ApplicationKey,
        max_per_owner: u64,
    ) -> StoreResult<()> {
        let key = key.clone();
        self.writes
            .run(move |conn| {
                Box::pin(async move {
                    let scopes = scopes_json(&key.scopes)?;
                    let inserted = insert_app_key(&key, scopes, max_per_owner)
                        .execute(&mut *conn)
                        .await?;
                    if inserted.rows_affected() == 0 {
                        // Which condition refused it: the owner's state, read in the same
                        // write, so a disable that committed first is seen here.
                        let disabled: Option<bool> =
                            sqlx::query_scalar("SELECT disabled FROM users WHERE id = ?")
                                .bind(key.owner_id.to_string())
                                .fetch_optional(&mut *conn)
                                .await?;
                        return Err(if disabled == Some(true) {
                            StoreError::OwnerDisabled
                        } else {
                            StoreError::LimitReached {
                                count: max_per_owner,
                            }
                        });
                    }
                    Ok(())
                })
            })
            .await
    }

    async fn get_application_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<ApplicationKey> {
        let row = sqlx::query(GET)
            .bind(org_id.to_string())
            .bind(id.to_string())
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
        let filter = |qb: &mut QueryBuilder<'_, Sqlite>| push_filter(qb, org_id, query);
        self.paged("application_keys", filter, &order, query.page, app_key_from)
            .await
    }

    async fn update_application_key(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &ApplicationKeyChange,
    ) -> StoreResult<ApplicationKey> {
        let change = change.clone();
        self.writes
            .run(move |conn| {
                Box::pin(async move {
                    let row = sqlx::query(GET)
                        .bind(org_id.to_string())
                        .bind(id.to_string())
                        .fetch_one(&mut *conn)
                        .await?;
                    let mut key = app_key_from(&row)?;
                    apply(&mut key, &change);
                    sqlx::query(UPDATE)
                        .bind(&key.name)
                        .bind(fold(&key.name))
                        .bind(unique_name(&key.name))
                        .bind(scopes_json(&key.scopes)?)
                        .bind(key.expires_at)
                        .bind(org_id.to_string())
                        .bind(id.to_string())
                        .execute(&mut *conn)
                        .await?;
                    Ok(key)
                })
            })
            .await
    }

    async fn delete_application_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<()> {
        self.delete_row("application_keys", org_id, id).await
    }
}
