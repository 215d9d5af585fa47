//! Console sessions on PostgreSQL, found by the digest of the cookie's token. Not credential
//! writes (nothing is logged), so they take no write lock.

use super::PostgresStore;
use crate::domain::secret::KeyDigest;
use crate::domain::session::Session;
use crate::store::StoreResult;
use sqlx::Row;

impl PostgresStore {
    pub(super) async fn insert_session(&self, session: &Session) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (digest, user_id, org_id, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(session.digest.0.as_slice())
        .bind(session.user_id)
        .bind(session.org_id)
        .bind(session.created_at)
        .bind(session.last_seen_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn session(&self, digest: &KeyDigest) -> StoreResult<Option<Session>> {
        let row = sqlx::query("SELECT * FROM sessions WHERE digest = $1")
            .bind(digest.0.as_slice())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Session {
                digest: *digest,
                user_id: row.try_get("user_id")?,
                org_id: row.try_get("org_id")?,
                created_at: row.try_get("created_at")?,
                last_seen_at: row.try_get("last_seen_at")?,
            })
        })
        .transpose()
    }

    pub(super) async fn session_seen(&self, digest: &KeyDigest, at: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE sessions SET last_seen_at = GREATEST(last_seen_at, $1) WHERE digest = $2",
        )
        .bind(at)
        .bind(digest.0.as_slice())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn end_session(&self, digest: &KeyDigest) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE digest = $1")
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
        let done = sqlx::query("DELETE FROM sessions WHERE created_at < $1 OR last_seen_at < $2")
            .bind(created_before)
            .bind(seen_before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
