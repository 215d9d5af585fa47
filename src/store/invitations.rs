//! Invitations in the store: the trait both backends implement and the row mapping they
//! share (each backend reads its own uuid columns).

use super::columns::Columns;
use super::{StoreError, StoreResult};
use crate::domain::invitation::{Invitation, InviteType};
use crate::domain::secret::KeyDigest;
use crate::domain::time::Micros;
use crate::domain::user::User;
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
pub trait InvitationStore: Send + Sync {
    async fn create_invitation(&self, invitation: &Invitation) -> StoreResult<()>;
    async fn get_invitation(&self, org_id: Uuid, id: Uuid) -> StoreResult<Invitation>;
    async fn find_invitation(&self, digest: &KeyDigest) -> StoreResult<Option<Invitation>>;
    /// The user's invitations, newest first.
    async fn user_invitations(&self, org_id: Uuid, user_id: Uuid) -> StoreResult<Vec<Invitation>>;
    /// Cancels the user's pending invitations at `at`; how many there were.
    async fn cancel_invitations(&self, org_id: Uuid, user_id: Uuid, at: Micros)
        -> StoreResult<u64>;
    /// Uses the pending invitation whose link has this digest, in one transaction: marks it
    /// accepted, cancels the user's other invitations, and makes the user Active with this
    /// password. `NotFound` when no invitation is pending at `now` under this digest, or its
    /// user is disabled or has a password already; then nothing changes.
    async fn accept_invitation(
        &self,
        digest: &KeyDigest,
        now: Micros,
        password_hash: &str,
    ) -> StoreResult<(Invitation, User)>;
}

/// One invitation row, on either backend.
pub(super) fn invitation_from<R: Columns>(row: &R) -> StoreResult<Invitation> {
    let invite_type = row.text("invite_type")?;
    Ok(Invitation {
        id: row.uuid("id")?,
        org_id: row.uuid("org_id")?,
        user_id: row.uuid("user_id")?,
        invited_by: row.opt_uuid("invited_by")?,
        invite_type: InviteType::parse(&invite_type)
            .ok_or_else(|| StoreError::Backend(format!("invite_type {invite_type}")))?,
        digest: row.digest()?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
        accepted_at: row.opt_int("accepted_at")?,
        cancelled_at: row.opt_int("cancelled_at")?,
    })
}

// Statements both dialects accept (sqlx binds `$n` by number on SQLite too). A pending
// invitation is one neither used nor cancelled; expiry is bound as `now`.
pub(super) const INSERT: &str =
    "INSERT INTO user_invitations (id, org_id, user_id, invited_by, invite_type, digest, \
     created_at, expires_at, accepted_at, cancelled_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
pub(super) const GET: &str = "SELECT * FROM user_invitations WHERE org_id = $1 AND id = $2";
pub(super) const FIND: &str = "SELECT * FROM user_invitations WHERE digest = $1";
pub(super) const OF_USER: &str =
    "SELECT * FROM user_invitations WHERE org_id = $1 AND user_id = $2 \
     ORDER BY created_at DESC, id";
pub(super) const CANCEL: &str = "UPDATE user_invitations SET cancelled_at = $1 \
     WHERE org_id = $2 AND user_id = $3 AND accepted_at IS NULL AND cancelled_at IS NULL \
     AND expires_at > $4";
pub(super) const ACCEPT: &str = "UPDATE user_invitations SET accepted_at = $1 \
     WHERE digest = $2 AND accepted_at IS NULL AND cancelled_at IS NULL AND expires_at > $3 \
     RETURNING *";
pub(super) const CANCEL_OTHERS: &str = "UPDATE user_invitations SET cancelled_at = $1 \
     WHERE org_id = $2 AND user_id = $3 AND accepted_at IS NULL AND cancelled_at IS NULL";
pub(super) const ACTIVATE: &str =
    "UPDATE users SET status = 'Active', password_hash = $1, modified_at = $2 \
     WHERE org_id = $3 AND id = $4 AND status <> 'Disabled' AND NOT service_account \
     AND password_hash IS NULL RETURNING *";
