//! Who is calling: the application key's owner within the API key's organization, or the
//! user signed in to the console.

use super::permission::{Permission, PermissionSet};
use crate::error::Error;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Principal {
    pub org_id: Uuid,
    pub user_id: Uuid,
    /// The ids of the caller's roles, managed or custom.
    pub roles: Vec<Uuid>,
    /// What those roles grant, resolved from the in-memory index when the caller was
    /// authenticated: no check reads the database.
    pub permissions: PermissionSet,
    /// The application key presented; `None` for a console session.
    pub app_key_id: Option<Uuid>,
    /// The console session, by its audit reference (`domain::audit::session_ref`, derived
    /// from the stored digest, never the token); `None` for an application key.
    pub session_id: Option<Uuid>,
    /// The application key's scopes; `None` means all of the owner's permissions.
    pub scopes: Option<Vec<String>>,
    /// The client's address, for the audit trail.
    pub source: Option<String>,
    /// The personal or service-account token presented, if that is how the caller came.
    pub token: Option<TokenGrant>,
}

/// What a token-authenticated call is bound by beyond its scopes (`scopes` holds those).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenGrant {
    pub id: Uuid,
    pub expires_at: Option<super::time::Micros>,
}

impl Principal {
    pub fn can(&self, permission: Permission) -> bool {
        let scoped_in = self
            .scopes
            .as_ref()
            .is_none_or(|scopes| scopes.iter().any(|s| s == permission.as_str()));
        scoped_in && self.permissions.contains(permission.index())
    }

    /// Allowed only when a role grants it and the key's scopes, when set, include it.
    pub fn require(&self, permission: Permission) -> Result<(), Error> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// Allowed when any of `permissions` is (Datadog's "X OR Y" endpoints).
    pub fn require_any(&self, permissions: &[Permission]) -> Result<(), Error> {
        if permissions.iter().any(|p| self.can(*p)) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }
}
