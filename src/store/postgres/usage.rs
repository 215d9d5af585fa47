//! Key usage on PostgreSQL: each flush is two set-based updates.

use super::PostgresStore;
use crate::store::{StoreResult, UsageStore};
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
impl UsageStore for PostgresStore {
    async fn record_usage(
        &self,
        api_keys: &[(Uuid, i64)],
        app_keys: &[(Uuid, i64)],
    ) -> StoreResult<()> {
        // Under the write lock: usage rows are also rows that deletes lock, and two nodes
        // flushing the same keys in different orders would otherwise deadlock.
        let mut tx = self.begin_write().await?;
        let (ids, ats): (Vec<Uuid>, Vec<i64>) = api_keys.iter().copied().unzip();
        if !ids.is_empty() {
            sqlx::query(
                "UPDATE api_keys AS k SET date_last_used = GREATEST(COALESCE(k.date_last_used, 0), u.at) \
                 FROM (SELECT id, MAX(at) AS at FROM unnest($1::uuid[], $2::bigint[]) AS t(id, at) \
                 GROUP BY id) AS u WHERE k.id = u.id",
            )
            .bind(&ids)
            .bind(&ats)
            .execute(&mut *tx)
            .await?;
        }
        let (ids, ats): (Vec<Uuid>, Vec<i64>) = app_keys.iter().copied().unzip();
        if !ids.is_empty() {
            sqlx::query(
                "UPDATE application_keys AS k \
                 SET last_used_at = GREATEST(COALESCE(k.last_used_at, 0), u.at) \
                 FROM (SELECT id, MAX(at) AS at FROM unnest($1::uuid[], $2::bigint[]) AS t(id, at) \
                 GROUP BY id) AS u WHERE k.id = u.id",
            )
            .bind(&ids)
            .bind(&ats)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
