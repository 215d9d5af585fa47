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

/// An invitation neither used nor cancelled, in both dialects (expiry is bound separately).
pub(super) const PENDING: &str = "accepted_at IS NULL AND cancelled_at IS NULL";
