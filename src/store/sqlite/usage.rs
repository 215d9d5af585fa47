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
        for (table, column, used) in [
            ("api_keys", "date_last_used", api_keys),
            ("application_keys", "last_used_at", app_keys),
        ] {
            let sql =
                format!("UPDATE {table} SET {column} = MAX(COALESCE({column}, 0), ?) WHERE id = ?");
            for (id, at) in used {
                sqlx::query(&sql)
                    .bind(at)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
