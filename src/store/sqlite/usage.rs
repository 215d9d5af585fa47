//! Key usage on SQLite: one write transaction per flush.

use super::SqliteStore;
use crate::store::{StoreResult, UsageStore};
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
impl UsageStore for SqliteStore {
    async fn record_usage(
        &self,
        api_keys: &[(Uuid, i64)],
        app_keys: &[(Uuid, i64)],
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        for (id, at) in api_keys {
            sqlx::query(
                "UPDATE api_keys SET date_last_used = MAX(COALESCE(date_last_used, 0), ?) \
                 WHERE id = ?",
            )
            .bind(at)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        for (id, at) in app_keys {
            sqlx::query(
                "UPDATE application_keys SET last_used_at = MAX(COALESCE(last_used_at, 0), ?) \
                 WHERE id = ?",
            )
            .bind(at)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
