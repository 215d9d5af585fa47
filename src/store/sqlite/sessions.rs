//! Console sessions on SQLite: single statements, each taking the writer slot.

use super::SqliteStore;
use crate::domain::secret::KeyDigest;
use crate::domain::session::Session;
use crate::store::sessions::{session_from, DELETE, EXPIRE, GET, INSERT};
use crate::store::{SessionStore, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        let _slot = self.write_slot().await;
        sqlx::query(INSERT)
            .bind(session.digest.0.as_slice())
            .bind(session.user_id.to_string())
            .bind(session.org_id.to_string())
            .bind(session.created_at)
            .bind(session.last_seen_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn get_session(&self, digest: &KeyDigest) -> StoreResult<Option<Session>> {
        let row = sqlx::query(GET)
            .bind(digest.0.as_slice())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| session_from(*digest, &row)).transpose()
    }

    async fn touch_session(&self, digest: &KeyDigest, at: i64) -> StoreResult<()> {
        let _slot = self.write_slot().await;
        sqlx::query("UPDATE sessions SET last_seen_at = MAX(last_seen_at, ?) WHERE digest = ?")
            .bind(at)
            .bind(digest.0.as_slice())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, digest: &KeyDigest) -> StoreResult<()> {
        let _slot = self.write_slot().await;
        sqlx::query(DELETE)
            .bind(digest.0.as_slice())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn prune_sessions(&self, created_before: i64, seen_before: i64) -> StoreResult<u64> {
        let _slot = self.write_slot().await;
        let done = sqlx::query(EXPIRE)
            .bind(created_before)
            .bind(seen_before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
