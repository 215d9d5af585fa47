//! The change log, the credential pages a node loads at start, and usage writes.

use super::rows::*;
use super::PostgresStore;
use crate::domain::credential::{AppKeyEntry, Change, OrgKeyEntry, UserEntry};
use crate::domain::secret::KeyDigest;
use crate::store::StoreResult;
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

impl PostgresStore {
    /// Rows of `table` in id order after `after` (keyset paging: no OFFSET scans).
    pub(super) async fn page_by_id(
        &self,
        table: &str,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<PgRow>> {
        let sql = format!(
            "SELECT * FROM {table} WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2"
        );
        Ok(sqlx::query(&sql)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
    }

    pub(super) async fn newest_seq(&self) -> StoreResult<i64> {
        let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0)::bigint FROM changes")
            .fetch_one(&self.pool)
            .await?;
        Ok(seq)
    }

    /// Digest and organization of each client token, by id.
    pub(super) async fn client_token_entry_page(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(KeyDigest, OrgKeyEntry)>> {
        let rows = self.page_by_id("client_tokens", after, limit).await?;
        rows.iter()
            .map(|row| {
                let entry = OrgKeyEntry {
                    id: row.try_get("id")?,
                    org_id: row.try_get("org_id")?,
                };
                Ok((digest_of(row.try_get("digest")?)?, entry))
            })
            .collect()
    }

    pub(super) async fn app_key_page(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(KeyDigest, AppKeyEntry)>> {
        let rows = self.page_by_id("application_keys", after, limit).await?;
        rows.iter()
            .map(|row| {
                let key = app_key_from(row)?;
                Ok((key.digest, AppKeyEntry::from(&key)))
            })
            .collect()
    }

    pub(super) async fn user_page(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(Uuid, UserEntry)>> {
        let rows = self.page_by_id("users", after, limit).await?;
        rows.iter()
            .map(|row| {
                let user = user_from(row)?;
                Ok((user.id, UserEntry::from(&user)))
            })
            .collect()
    }

    pub(super) async fn log_after(&self, seq: i64, limit: u32) -> StoreResult<Vec<Change>> {
        // Commit order equals seq order (keyplane_write_lock), so this never skips an entry
        // that commits later.
        let rows = sqlx::query(
            "SELECT seq, kind, org_id, id, digest FROM changes WHERE seq > $1 \
             ORDER BY seq LIMIT $2",
        )
        .bind(seq)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(change_from).collect()
    }

    pub(super) async fn prune_log(&self, before: i64) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM changes WHERE at < $1 AND seq < (SELECT MAX(seq) FROM changes)",
        )
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    pub(super) async fn write_usage(
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
