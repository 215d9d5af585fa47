//! Key and token usage on PostgreSQL: each flush is one set-based update per table.

use super::PostgresStore;
use crate::store::{StoreResult, UsageStore};
use async_trait::async_trait;
use sqlx::PgConnection;
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
        record_last_used(&mut tx, "api_keys", "date_last_used", api_keys).await?;
        record_last_used(&mut tx, "application_keys", "last_used_at", app_keys).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Writes `used`, `(id, micros)` pairs, into `table.column` in one statement; a time never
/// moves back (another node's late flush).
pub(super) async fn record_last_used(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    used: &[(Uuid, i64)],
) -> StoreResult<()> {
    let (ids, ats): (Vec<Uuid>, Vec<i64>) = used.iter().copied().unzip();
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(&format!(
        "UPDATE {table} AS k SET {column} = GREATEST(COALESCE(k.{column}, 0), u.at) \
         FROM (SELECT id, MAX(at) AS at FROM unnest($1::uuid[], $2::bigint[]) AS t(id, at) \
         GROUP BY id) AS u WHERE k.id = u.id"
    ))
    .bind(&ids)
    .bind(&ats)
    .execute(conn)
    .await?;
    Ok(())
}
