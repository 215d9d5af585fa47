//! What the in-memory credential index knows: enough to authenticate without the database.

use super::permission::PermissionSet;
use super::secret::KeyDigest;
use uuid::Uuid;

/// A credential that names an organization and nothing more: an API key or a client token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgKeyEntry {
    pub id: Uuid,
    pub org_id: Uuid,
    /// Refused from this instant on, checked at each request.
    pub expires_at: Option<super::time::Micros>,
}

pub type ApiKeyEntry = OrgKeyEntry;
pub type ClientTokenEntry = OrgKeyEntry;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppKeyEntry {
    pub id: Uuid,
    pub org_id: Uuid,
    pub owner_id: Uuid,
    pub scopes: Option<Vec<String>>,
    pub expires_at: Option<super::time::Micros>,
}

/// A personal or service-account token: who it acts as, within which scopes, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenEntry {
    pub id: Uuid,
    pub org_id: Uuid,
    pub owner_id: Uuid,
    pub scopes: Vec<String>,
    pub expires_at: Option<super::time::Micros>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEntry {
    pub org_id: Uuid,
    pub roles: Vec<Uuid>,
    pub disabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    ApiKey,
    ApplicationKey,
    User,
    ClientToken,
    AccessToken,
    /// A custom role created, changed (name or permissions) or deleted.
    Role,
    /// A rotated key's previous secret added, moved to the key's newer secret, or gone.
    PreviousSecret,
}

/// A custom role as the index knows it: what it grants, in which organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleEntry {
    pub org_id: Uuid,
    pub permissions: PermissionSet,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::ApiKey => "api_key",
            ChangeKind::ApplicationKey => "application_key",
            ChangeKind::User => "user",
            ChangeKind::ClientToken => "client_token",
            ChangeKind::Role => "role",
            ChangeKind::AccessToken => "access_token",
            ChangeKind::PreviousSecret => "previous_secret",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            ChangeKind::ApiKey,
            ChangeKind::ApplicationKey,
            ChangeKind::User,
            ChangeKind::ClientToken,
            ChangeKind::Role,
            ChangeKind::AccessToken,
            ChangeKind::PreviousSecret,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// One entry of the change log.
#[derive(Debug, Clone)]
pub struct Change {
    pub seq: i64,
    pub kind: ChangeKind,
    pub org_id: Uuid,
    pub id: Uuid,
    pub digest: Option<KeyDigest>,
}

impl From<&super::application_key::ApplicationKey> for AppKeyEntry {
    fn from(key: &super::application_key::ApplicationKey) -> Self {
        Self {
            id: key.id,
            org_id: key.org_id,
            owner_id: key.owner_id,
            scopes: key.scopes.clone(),
            expires_at: key.expires_at,
        }
    }
}

impl From<&super::user::User> for UserEntry {
    fn from(user: &super::user::User) -> Self {
        Self {
            org_id: user.org_id,
            roles: user.roles.clone(),
            disabled: user.disabled(),
        }
    }
}

impl From<&super::client_token::ClientToken> for ClientTokenEntry {
    fn from(token: &super::client_token::ClientToken) -> Self {
        Self {
            id: token.id,
            org_id: token.org_id,
            expires_at: token.expires_at,
        }
    }
}

impl From<&super::role::RoleRecord> for RoleEntry {
    fn from(role: &super::role::RoleRecord) -> Self {
        Self {
            org_id: role.org_id,
            permissions: role.permissions,
        }
    }
}

impl From<&super::access_token::AccessToken> for AccessTokenEntry {
    fn from(token: &super::access_token::AccessToken) -> Self {
        Self {
            id: token.id,
            org_id: token.org_id,
            owner_id: token.owner_id,
            scopes: token.scopes.clone(),
            expires_at: token.expires_at,
        }
    }
}
