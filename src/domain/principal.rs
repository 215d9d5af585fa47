//! Who is calling: the application key's owner within the API key's organization.

use super::user::{Permission, Role};
use crate::error::Error;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Principal {
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    pub app_key_id: Uuid,
    /// The application key's scopes; `None` means all of the owner's permissions.
    pub scopes: Option<Vec<String>>,
}

impl Principal {
    /// Allowed only when the role grants it and the key's scopes, when set, include it.
    pub fn require(&self, permission: Permission) -> Result<(), Error> {
        let scoped_in = self
            .scopes
            .as_ref()
            .is_none_or(|scopes| scopes.iter().any(|s| s == permission.as_str()));
        if self.role.grants(permission) && scoped_in {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }
}
