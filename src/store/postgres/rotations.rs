//! Rotations on PostgreSQL: one transaction holding the write lock.

use super::PostgresStore;
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
impl RotationStore for PostgresStore {
    async fn rotate_secret(&self, r: &Rotation) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let old: Option<Vec<u8>> = sqlx::query_scalar(current_digest_statement(r.kind))
            .bind(r.org_id)
            .bind(r.key_id)
            .fetch_optional(&mut *tx)
            .await?;
        let old = digest_of(old.ok_or(StoreError::NotFound)?)?;
        sqlx::query(FOLLOW)
            .bind(r.digest.0.as_slice())
            .bind(r.key_id)
            .execute(&mut *tx)
            .await?;
        if r.previous_valid_until > r.rotated_at {
            sqlx::query(INSERT)
                .bind(old.0.as_slice())
                .bind(r.kind.as_str())
                .bind(r.org_id)
                .bind(r.key_id)
                .bind(r.digest.0.as_slice())
                .bind(r.rotated_at)
                .bind(r.previous_valid_until)
                .execute(&mut *tx)
                .await?;
        }
        let mut update = sqlx::query(rotate_statement(r.kind))
            .bind(r.org_id)
            .bind(r.key_id)
            .bind(r.digest.0.as_slice())
            .bind(r.sealed_key.as_slice())
            .bind(r.last4.as_str());
        if records_modifier(r.kind) {
            update = update.bind(r.rotated_by).bind(r.rotated_at);
        }
        update.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
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
            .bind(org_id)
            .bind(key_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(previous_from).collect()
    }

    async fn live_previous_secrets(&self, now: i64) -> StoreResult<Vec<PreviousSecret>> {
        let rows = sqlx::query(LIVE).bind(now).fetch_all(&self.pool).await?;
        rows.iter().map(previous_from).collect()
    }

    async fn sweep_previous_secrets(&self, before: i64) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(SWEEP).bind(before).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn record_rotation_callers(&self, seen: &[CallerSeen]) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        for c in seen {
            sqlx::query(RECORD_CALLER)
                .bind(c.key_id)
                .bind(c.org_id)
                .bind(&c.caller.source)
                .bind(&c.caller.user_agent)
                .bind(&c.caller.hostname)
                .bind(c.first_seen)
                .bind(c.last_seen)
                .bind(to_i64(c.requests))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn rotation_callers(&self, org_id: Uuid, key_id: Uuid) -> StoreResult<Vec<CallerSeen>> {
        let rows = sqlx::query(CALLERS)
            .bind(org_id)
            .bind(key_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(caller_from).collect()
    }
}
