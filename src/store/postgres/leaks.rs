//! Leaked credentials on PostgreSQL (not credentials themselves: no write lock).

use super::PostgresStore;
use crate::domain::leak::LeakedKey;
use crate::store::leaks::{leak_from, LeakStore, INSERT, LIST_IN_ORG, SELECT_IN_ORG};
use crate::store::StoreResult;
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
impl LeakStore for PostgresStore {
    async fn record_leak(&self, leak: &LeakedKey) -> StoreResult<bool> {
        let done = sqlx::query(INSERT)
            .bind(leak.credential_id)
            .bind(leak.id)
            .bind(leak.org_id)
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
        let sql = format!("{SELECT_IN_ORG}$1 AND credential_id = ANY($2)");
        let rows = sqlx::query(&sql)
            .bind(org_id)
            .bind(credential_ids)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(leak_from).collect()
    }

    async fn org_leaks(&self, org_id: Uuid) -> StoreResult<Vec<LeakedKey>> {
        let rows = sqlx::query(LIST_IN_ORG)
            .bind(org_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(leak_from).collect()
    }
}
