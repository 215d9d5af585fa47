//! Invitations on PostgreSQL. The acceptance changes a user, so it takes the write lock
//! (the change log's triggers need it); the other writes log nothing.

use super::PostgresStore;
use crate::domain::invitation::Invitation;
use crate::domain::secret::KeyDigest;
use crate::domain::time::Micros;
use crate::domain::user::User;
use crate::store::invitations::{
    invitation_from, InvitationStore, ACCEPT, ACTIVATE, CANCEL, CANCEL_OTHERS, FIND, GET, INSERT,
    OF_USER,
};
use crate::store::users::user_from;
use crate::store::{StoreError, StoreResult};
use async_trait::async_trait;
use sqlx::postgres::PgRow;
use uuid::Uuid;

fn invitation(row: &PgRow) -> StoreResult<Invitation> {
    invitation_from(row)
}

#[async_trait]
impl InvitationStore for PostgresStore {
    async fn create_invitation(&self, inv: &Invitation) -> StoreResult<()> {
        sqlx::query(INSERT)
            .bind(inv.id)
            .bind(inv.org_id)
            .bind(inv.user_id)
            .bind(inv.invited_by)
            .bind(inv.invite_type.as_str())
            .bind(inv.digest.0.as_slice())
            .bind(inv.created_at)
            .bind(inv.expires_at)
            .bind(inv.accepted_at)
            .bind(inv.cancelled_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn get_invitation(&self, org_id: Uuid, id: Uuid) -> StoreResult<Invitation> {
        let row = sqlx::query(GET)
            .bind(org_id)
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        invitation(&row)
    }

    async fn find_invitation(&self, digest: &KeyDigest) -> StoreResult<Option<Invitation>> {
        let row = sqlx::query(FIND)
            .bind(digest.0.as_slice())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(invitation).transpose()
    }

    async fn user_invitations(&self, org_id: Uuid, user_id: Uuid) -> StoreResult<Vec<Invitation>> {
        let rows = sqlx::query(OF_USER)
            .bind(org_id)
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(invitation).collect()
    }

    async fn cancel_invitations(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        at: Micros,
    ) -> StoreResult<u64> {
        let done = sqlx::query(CANCEL)
            .bind(at)
            .bind(org_id)
            .bind(user_id)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn accept_invitation(
        &self,
        digest: &KeyDigest,
        now: Micros,
        password_hash: &str,
    ) -> StoreResult<(Invitation, User)> {
        let mut tx = self.begin_write().await?;
        // The check and the use are one statement: a link used twice at once works once.
        let row = sqlx::query(ACCEPT)
            .bind(now)
            .bind(digest.0.as_slice())
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let inv = invitation(&row)?;
        sqlx::query(CANCEL_OTHERS)
            .bind(now)
            .bind(inv.org_id)
            .bind(inv.user_id)
            .execute(&mut *tx)
            .await?;
        let user = sqlx::query(ACTIVATE)
            .bind(password_hash)
            .bind(now)
            .bind(inv.org_id)
            .bind(inv.user_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let user = user_from(&user)?;
        tx.commit().await?;
        Ok((inv, user))
    }
}
