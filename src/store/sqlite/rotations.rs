//! Rotations on SQLite: one write through the group committer.

use super::SqliteStore;
use crate::domain::rotation::{CallerSeen, PreviousSecret, Rotation};
use crate::domain::secret::KeyDigest;
use crate::store::columns::digest_of;
use crate::store::columns::to_i64;
use crate::store::rotations::{
    caller_from, current_digest_statement, previous_from, records_modifier, rotate_statement,
    BY_DIGEST, CALLERS, FOLLOW, INSERT, LIVE, OF_KEY, RECORD_CALLER, SWEEP,
};
use crate::store::{RotationStore, StoreError, StoreResult};
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
impl RotationStore for SqliteStore {
    async fn rotate_secret(&self, rotation: &Rotation) -> StoreResult<()> {
        let r = rotation.clone();
        self.writes
            .run(move |conn| {
                Box::pin(async move {
                    let old: Option<Vec<u8>> = sqlx::query_scalar(current_digest_statement(r.kind))
                        .bind(r.org_id.to_string())
                        .bind(r.key_id.to_string())
                        .fetch_optional(&mut *conn)
                        .await?;
                    let old = digest_of(old.ok_or(StoreError::NotFound)?)?;
                    sqlx::query(FOLLOW)
                        .bind(r.digest.0.as_slice())
                        .bind(r.key_id.to_string())
                        .execute(&mut *conn)
                        .await?;
                    if r.previous_valid_until > r.rotated_at {
                        sqlx::query(INSERT)
                            .bind(old.0.as_slice())
                            .bind(r.kind.as_str())
                            .bind(r.org_id.to_string())
                            .bind(r.key_id.to_string())
                            .bind(r.digest.0.as_slice())
                            .bind(r.rotated_at)
                            .bind(r.previous_valid_until)
                            .execute(&mut *conn)
                            .await?;
                    }
                    let mut update = sqlx::query(rotate_statement(r.kind))
                        .bind(r.org_id.to_string())
                        .bind(r.key_id.to_string())
                        .bind(r.digest.0.as_slice())
                        .bind(r.sealed_key.clone())
                        .bind(r.last4.clone());
                    if records_modifier(r.kind) {
                        update = update.bind(r.rotated_by.to_string()).bind(r.rotated_at);
                    }
                    update.execute(&mut *conn).await?;
                    Ok(())
                })
            })
            .await
    }

    async fn find_previous_secret(
        &self,
        digest: &KeyDigest,
    ) -> StoreResult<Option<PreviousSecret>> {
        let row = sqlx::query(BY_DIGEST)
            .bind(digest.0.as_slice())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(previous_from).transpose()
    }

    async fn previous_secrets_of(
        &self,
        org_id: Uuid,
        key_id: Uuid,
    ) -> StoreResult<Vec<PreviousSecret>> {
        let rows = sqlx::query(OF_KEY)
            .bind(org_id.to_string())
            .bind(key_id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(previous_from).collect()
    }

    async fn live_previous_secrets(&self, now: i64) -> StoreResult<Vec<PreviousSecret>> {
        let rows = sqlx::query(LIVE).bind(now).fetch_all(&self.pool).await?;
        rows.iter().map(previous_from).collect()
    }

    async fn sweep_previous_secrets(&self, before: i64) -> StoreResult<u64> {
        self.writes
            .run(move |conn| {
                Box::pin(async move {
                    let done = sqlx::query(SWEEP).bind(before).execute(&mut *conn).await?;
                    Ok(done.rows_affected())
                })
            })
            .await
    }

    async fn record_rotation_callers(&self, seen: &[CallerSeen]) -> StoreResult<()> {
        let seen = seen.to_vec();
        self.writes
            .run(move |conn| {
                Box::pin(async move {
                    for c in &seen {
                        sqlx::query(RECORD_CALLER)
                            .bind(c.key_id.to_string())
                            .bind(c.org_id.to_string())
                            .bind(&c.caller.source)
                            .bind(&c.caller.user_agent)
                            .bind(&c.caller.hostname)
                            .bind(c.first_seen)
                            .bind(c.last_seen)
                            .bind(to_i64(c.requests))
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .await
    }

    async fn rotation_callers(&self, org_id: Uuid, key_id: Uuid) -> StoreResult<Vec<CallerSeen>> {
        let rows = sqlx::query(CALLERS)
            .bind(org_id.to_string())
            .bind(key_id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(caller_from).collect()
    }
}
