//! Invitations in the store: the trait both backends implement and the row mapping they
//! share (each backend reads its own uuid columns).

use super::{StoreError, StoreResult};
use crate::domain::invitation::{Invitation, InviteType};
use crate::domain::secret::KeyDigest;
use crate::domain::time::Micros;
use crate::domain::user::User;
use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Row, Type};
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

/// One invitation row, given how the backend reads a uuid column.
pub(super) fn invitation_from<'r, R>(
    row: &'r R,
    uuid: impl Fn(&'r R, &'r str) -> StoreResult<Option<Uuid>>,
) -> StoreResult<Invitation>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    let required = |col: &'r str| {
        uuid(row, col)?.ok_or_else(|| StoreError::Backend(format!("user_invitations.{col}")))
    };
    let invite_type: String = row.try_get("invite_type")?;
    let digest: Vec<u8> = row.try_get("digest")?;
    Ok(Invitation {
        id: required("id")?,
        org_id: required("org_id")?,
        user_id: required("user_id")?,
        invited_by: uuid(row, "invited_by")?,
        invite_type: InviteType::parse(&invite_type)
            .ok_or_else(|| StoreError::Backend(format!("invite_type {invite_type}")))?,
        digest: KeyDigest(
            digest
                .try_into()
                .map_err(|_| StoreError::Backend("digest is not 32 bytes".into()))?,
        ),
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        accepted_at: row.try_get("accepted_at")?,
        cancelled_at: row.try_get("cancelled_at")?,
    })
}

/// An invitation neither used nor cancelled, in both dialects (expiry is bound separately).
pub(super) const PENDING: &str = "accepted_at IS NULL AND cancelled_at IS NULL";
