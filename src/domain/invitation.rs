//! Invitations: Datadog's `user_invitations`. keyplane sends no email; the invitation carries
//! a console link whose secret lets the invited user set a password once, before it expires.

use super::secret::{KeyDigest, Secret};
use super::time::Micros;
use uuid::Uuid;

const DAY: Micros = 24 * 3600 * 1_000_000;
/// Datadog's validity of an invitation, and the one org config `30d_invite_expiration` picks.
pub const VALIDITY_DAYS: i64 = 2;
pub const LONG_VALIDITY_DAYS: i64 = 30;

pub fn days(n: i64) -> Micros {
    n * DAY
}
/// 256 random bits: the link is a credential until it is used.
const LINK_SECRET_BYTES: usize = 32;

/// What Datadog answers as `invite_type`. Datadog's first invitation in the organization its
/// own suites run against is `openid_invite` (the scenarios assert it) and a repeated one is
/// `basic_reminder` (its Terraform recordings); clients treat both as opaque text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteType {
    Invite,
    Reminder,
}

impl InviteType {
    pub fn as_str(self) -> &'static str {
        match self {
            InviteType::Invite => "openid_invite",
            InviteType::Reminder => "basic_reminder",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [InviteType::Invite, InviteType::Reminder]
            .into_iter()
            .find(|t| t.as_str() == text)
    }
}

#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    /// `None` when the operator invited from the command line.
    pub invited_by: Option<Uuid>,
    pub invite_type: InviteType,
    /// The digest of the link's secret; the secret itself is never stored.
    pub digest: KeyDigest,
    pub created_at: Micros,
    pub expires_at: Micros,
    pub accepted_at: Option<Micros>,
    pub cancelled_at: Option<Micros>,
}

impl Invitation {
    /// A new invitation and the secret of its link, shown once.
    pub fn issue(
        org_id: Uuid,
        user_id: Uuid,
        invited_by: Option<Uuid>,
        invite_type: InviteType,
        now: Micros,
        validity: Micros,
    ) -> (Self, Secret) {
        let secret = Secret::random_hex(LINK_SECRET_BYTES);
        let invitation = Invitation {
            id: Uuid::new_v4(),
            org_id,
            user_id,
            invited_by,
            invite_type,
            digest: secret.digest(),
            created_at: now,
            expires_at: now.saturating_add(validity),
            accepted_at: None,
            cancelled_at: None,
        };
        (invitation, secret)
    }

    /// Whether the link may still be used at `now`.
    pub fn pending(&self, now: Micros) -> bool {
        self.accepted_at.is_none() && self.cancelled_at.is_none() && now < self.expires_at
    }
}

/// The console's route for accepting an invitation; the secret stays in the fragment, so it
/// reaches neither the server's logs nor a proxy's.
pub fn link_path(secret: &Secret) -> String {
    format!("/#/invite/{}", secret.expose())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invitation_is_pending_until_used_cancelled_or_expired() {
        let (mut inv, secret) = Invitation::issue(
            Uuid::nil(),
            Uuid::nil(),
            None,
            InviteType::Invite,
            0,
            days(VALIDITY_DAYS),
        );
        assert!(inv.digest.matches(&KeyDigest::of(secret.expose())));
        assert_eq!(secret.expose().len(), 64);
        assert!(inv.pending(days(VALIDITY_DAYS) - 1));
        assert!(!inv.pending(days(VALIDITY_DAYS)));
        inv.accepted_at = Some(1);
        assert!(!inv.pending(1));
        assert_eq!(
            InviteType::parse("basic_reminder"),
            Some(InviteType::Reminder)
        );
    }
}
