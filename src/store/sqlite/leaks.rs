//! Leaked credentials on SQLite.

use super::SqliteStore;
use crate::domain::leak::LeakedKey;
use crate::store::leaks::{leak_from, LeakStore, INSERT, LIST_IN_ORG, SELECT_IN_ORG};
use crate::store::StoreResult;
use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

#[async_trait]
impl LeakStore for SqliteStore {
    async fn record_leak(&self, leak: &LeakedKey) -> StoreResult<bool> {
        let _slot = self.write_slot().await;
        let done = sqlx::query(INSERT)
            .bind(leak.credential_id.to_string())
            .bind(leak.id.to_string())
            .bind(leak.org_id.to_string())
            .bind(leak.kind.as_str())
            .bind(leak.date)
            .bind(&leak.source)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn leaks_of(&self, org_id: Uuid, credential_ids: &[Uuid]) -> StoreResult<Vec<LeakedKey>> {
        if credential_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::<Sqlite>::new(SELECT_IN_ORG);
        qb.push_bind(org_id.to_string())
            .push(" AND credential_id IN (");
        let mut list = qb.separated(", ");
        for id in credential_ids {
            list.push_bind(id.to_string());
        }
        qb.push(")");
        let rows = qb.build().fetch_all(&self.pool).await?;
        rows.iter().map(leak_from).collect()
    }

    async fn org_leaks(&self, org_id: Uuid) -> StoreResult<Vec<LeakedKey>> {
        let rows = sqlx::query(LIST_IN_ORG)
            .bind(org_id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(leak_from).collect()
    }
}
