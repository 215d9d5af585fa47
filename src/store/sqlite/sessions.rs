//! Console sessions on SQLite, found by the digest of the cookie's token.

use super::{uuid_col, SqliteStore};
use crate::domain::secret::KeyDigest;
use crate::domain::session::Session;
use crate::store::StoreResult;
use sqlx::Row;

impl SqliteStore {
    pub(super) async fn insert_session(&self, session: &Session) -> StoreResult<()> {
        let _slot = self.write_slot().await;
        sqlx::query(
            "INSERT INTO sessions (digest, user_id, org_id, created_at, last_seen_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(session.digest.0.as_slice())
        .bind(session.user_id.to_string())
        .bind(session.org_id.to_string())
        .bind(session.created_at)
        .bind(session.last_seen_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn session(&self, digest: &KeyDigest) -> StoreResult<Option<Session>> {
        let row = sqlx::query("SELECT * FROM sessions WHERE digest = ?")
            .bind(digest.0.as_slice())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Session {
                digest: *digest,
                user_id: uuid_col(&row, "user_id")?,
                org_id: uuid_col(&row, "org_id")?,
                created_at: row.try_get("created_at")?,
                last_seen_at: row.try_get("last_seen_at")?,
            })
        })
        .transpose()
    }

    pub(super) async fn session_seen(&self, digest: &KeyDigest, at: i64) -> StoreResult<()> {
        let _slot = self.write_slot().await;
        sqlx::query("UPDATE sessions SET last_seen_at = MAX(last_seen_at, ?) WHERE digest = ?")
            .bind(at)
            .bind(digest.0.as_slice())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(super) async fn end_session(&self, digest: &KeyDigest) -> StoreResult<()> {
        let _slot = self.write_slot().await;
        sqlx::query("DELETE FROM sessions WHERE digest = ?")
            .bind(digest.0.as_slice())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(super) async fn expire_sessions(
        &self,
        created_before: i64,
        seen_before: i64,
    ) -> StoreResult<u64> {
        let _slot = self.write_slot().await;
        let done = sqlx::query("DELETE FROM sessions WHERE created_at < ? OR last_seen_at < ?")
            .bind(created_before)
            .bind(seen_before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
