//! The audit trail: an append-only list of who did what to which key, with which credential,
//! from where, when.
//!
//! Each record carries an HMAC-SHA-256, under a key derived from the master key, of its
//! predecessor's MAC and its own fields; the head row (the newest position) carries its own
//! MAC. Editing, removing or re-chaining a record, or cutting the tail and rewriting the head,
//! therefore needs the master key. Records written before the chain was keyed (before
//! migration 0005) keep their plain SHA-256 links up to `keyed_from`, which the head's MAC
//! covers, so that boundary cannot be moved either. What the database alone cannot show is
//! a rollback to an older, genuine head: `keyplane audit verify` prints the head so operators
//! can keep it elsewhere, and `--expect SEQ:HASH` checks a kept one.

mod chain;

pub use chain::{chain_hash, next_link, AuditHead, AuditKey, Broken, Verifier};

use super::list::Page;
use super::secret::KeyDigest;
use super::time::Micros;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

pub type Hash = [u8; 32];

/// The hash before the first record.
pub const GENESIS: Hash = [0; 32];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    ApiKeyCreated,
    ApiKeyRenamed,
    ApiKeyRevoked,
    /// An API key came to browser intake: it is in a web page, where anyone can read it.
    ApiKeyExposed,
    /// A new secret for the key; the previous one works until its grace period ends.
    ApiKeyRotated,
    ApplicationKeyCreated,
    ApplicationKeyChanged,
    ApplicationKeyRevoked,
    ApplicationKeyRotated,
    ClientTokenCreated,
    ClientTokenRenamed,
    ClientTokenRevoked,
    ClientTokenRotated,
    /// A personal or service-account access token (the target is the token).
    AccessTokenCreated,
    /// Renamed or rescoped.
    AccessTokenChanged,
    AccessTokenRevoked,
    UserCreated,
    UserChanged,
    UserDisabled,
    UserEnabled,
    PasswordSet,
    /// An invitation was sent (target: the user).
    UserInvited,
    /// A user's pending invitations were cancelled (target: the user).
    InvitationsCancelled,
    /// An invited user set a password through the link and signed in (target: the user).
    InvitationAccepted,
    SignedIn,
    /// A source crossed the allowance of failed authentications.
    AuthFailureBurst,
    OrgCreated,
    OneTimeReadEnabled,
    OneTimeReadDisabled,
    /// An org config changed (target: the config's id, the same in every organization).
    OrgConfigChanged,
    /// The first keyed record of a chain that began before the chain was keyed.
    ChainKeyed,
    RoleCreated,
    /// Renamed or its permissions replaced.
    RoleChanged,
    RoleDeleted,
    RolePermissionGranted,
    RolePermissionRevoked,
    /// A user given a role (the target is the user).
    UserRoleGranted,
    UserRoleRevoked,
    /// A credential was reported leaked and flagged (the target is the credential).
    LeakFlagged,
    /// A credential was reported leaked and revoked, as its organization chose.
    LeakRevoked,
    /// A credential reported leaked was only flagged although its organization chose
    /// revocation: it is the organization's last API key, which cannot be deleted.
    LeakKeptLastKey,
    /// A key's expiry is within 7 days (recorded once per key while webhooks are on).
    KeyExpiringSoon,
    /// A key reached its expiry (recorded once per key while webhooks are on).
    KeyExpired,
}

impl Action {
    pub const ALL: [Action; 43] = [
        Action::ApiKeyCreated,
        Action::ApiKeyRenamed,
        Action::ApiKeyRevoked,
        Action::ApiKeyExposed,
        Action::ApiKeyRotated,
        Action::ApplicationKeyCreated,
        Action::ApplicationKeyChanged,
        Action::ApplicationKeyRevoked,
        Action::ApplicationKeyRotated,
        Action::ClientTokenCreated,
        Action::ClientTokenRenamed,
        Action::ClientTokenRevoked,
        Action::ClientTokenRotated,
        Action::AccessTokenCreated,
        Action::AccessTokenChanged,
        Action::AccessTokenRevoked,
        Action::UserCreated,
        Action::UserChanged,
        Action::UserDisabled,
        Action::UserEnabled,
        Action::PasswordSet,
        Action::UserInvited,
        Action::InvitationsCancelled,
        Action::InvitationAccepted,
        Action::SignedIn,
        Action::AuthFailureBurst,
        Action::OrgCreated,
        Action::OneTimeReadEnabled,
        Action::OneTimeReadDisabled,
        Action::OrgConfigChanged,
        Action::ChainKeyed,
        Action::RoleCreated,
        Action::RoleChanged,
        Action::RoleDeleted,
        Action::RolePermissionGranted,
        Action::RolePermissionRevoked,
        Action::UserRoleGranted,
        Action::UserRoleRevoked,
        Action::LeakFlagged,
        Action::LeakRevoked,
        Action::LeakKeptLastKey,
        Action::KeyExpiringSoon,
        Action::KeyExpired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::ApiKeyCreated => "api_key.create",
            Action::ApiKeyRenamed => "api_key.update",
            Action::ApiKeyRevoked => "api_key.revoke",
            Action::ApiKeyExposed => "api_key.exposed",
            Action::ApiKeyRotated => "api_key.rotate",
            Action::ApplicationKeyCreated => "application_key.create",
            Action::ApplicationKeyChanged => "application_key.update",
            Action::ApplicationKeyRevoked => "application_key.revoke",
            Action::ApplicationKeyRotated => "application_key.rotate",
            Action::ClientTokenCreated => "client_token.create",
            Action::ClientTokenRenamed => "client_token.update",
            Action::ClientTokenRevoked => "client_token.revoke",
            Action::ClientTokenRotated => "client_token.rotate",
            Action::AccessTokenCreated => "access_token.create",
            Action::AccessTokenChanged => "access_token.update",
            Action::AccessTokenRevoked => "access_token.revoke",
            Action::UserCreated => "user.create",
            Action::UserChanged => "user.update",
            Action::UserDisabled => "user.disable",
            Action::UserEnabled => "user.enable",
            Action::PasswordSet => "user.password_set",
            Action::UserInvited => "user.invite",
            Action::InvitationsCancelled => "user.invitations_cancel",
            Action::InvitationAccepted => "user.invitation_accept",
            Action::SignedIn => "session.sign_in",
            Action::AuthFailureBurst => "auth.failure_burst",
            Action::OrgCreated => "org.create",
            Action::OneTimeReadEnabled => "org.one_time_read.enable",
            Action::OneTimeReadDisabled => "org.one_time_read.disable",
            Action::OrgConfigChanged => "org.config.update",
            Action::ChainKeyed => "audit.chain_keyed",
            Action::RoleCreated => "role.create",
            Action::RoleChanged => "role.update",
            Action::RoleDeleted => "role.delete",
            Action::RolePermissionGranted => "role.permission_grant",
            Action::RolePermissionRevoked => "role.permission_revoke",
            Action::UserRoleGranted => "user.role_grant",
            Action::UserRoleRevoked => "user.role_revoke",
            Action::LeakFlagged => "credential.leak_flag",
            Action::LeakRevoked => "credential.leak_revoke",
            Action::LeakKeptLastKey => "credential.leak_flag_last_key",
            Action::KeyExpiringSoon => "credential.expiring_soon",
            Action::KeyExpired => "credential.expired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// What a user update amounts to, from whether the user was and is disabled.
    pub fn of_user_change(was_disabled: bool, is_disabled: bool) -> Self {
        match (was_disabled, is_disabled) {
            (false, true) => Action::UserDisabled,
            (true, false) => Action::UserEnabled,
            _ => Action::UserChanged,
        }
    }
}

/// Which kind of credential acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// An application key (its id is the record's `credential_id`).
    Key,
    /// A console session (`credential_id` is the session's reference, see [`session_ref`]).
    Session,
    /// The operator's `keyplane` command line.
    Cli,
    /// A personal or service-account access token (its id is the record's `credential_id`).
    Token,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Key => "key",
            Via::Session => "session",
            Via::Cli => "cli",
            Via::Token => "token",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Via::Key, Via::Session, Via::Cli, Via::Token]
            .into_iter()
            .find(|v| v.as_str() == text)
    }
}

/// A console session's id in the audit trail: derived one way from the digest the database
/// holds, so it names the session without revealing (or being) its token or digest.
pub fn session_ref(digest: &KeyDigest) -> Uuid {
    let mut hasher = Sha256::new();
    sha2::Digest::update(&mut hasher, b"keyplane session ref v1");
    sha2::Digest::update(&mut hasher, digest.0);
    let out: [u8; 32] = hasher.finalize().into();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&out[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// What happened, before it has a place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: Micros,
    /// `None` for events outside any organization (a burst of unknown keys).
    pub org_id: Option<Uuid>,
    /// The user or service account that acted; `None` for the operator's CLI or anonymous.
    pub actor_id: Option<Uuid>,
    pub action: Action,
    /// The key, token or user acted on.
    pub target_id: Option<Uuid>,
    /// The client's address, or `cli` for `keyplane admin`.
    pub source: Option<String>,
    /// The kind of credential that acted; `None` for anonymous events and old records.
    pub via: Option<Via>,
    /// The application key, or the session reference, that acted.
    pub credential_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: i64,
    pub event: AuditEvent,
    pub prev_hash: Hash,
    /// The record's MAC (or, before `keyed_from`, its plain SHA-256 link).
    pub hash: Hash,
}

/// Filters of the audit list, all optional.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub from: Option<Micros>,
    pub to: Option<Micros>,
    pub actor_id: Option<Uuid>,
    pub target_id: Option<Uuid>,
    pub action: Option<Action>,
    pub page: Page,
}

#[cfg(test)]
mod tests;
