//! Roles: Datadog's three managed roles, the same in every organization, and an
//! organization's custom roles, each a named set of permissions.

use super::list::Page;
use super::permission::{catalog, Permission, PermissionSet};
use super::time::Micros;
use crate::error::Error;
use uuid::Uuid;

pub const MAX_ROLE_NAME_CHARS: usize = 255;

/// Datadog's three built-in (managed) roles: they cannot be changed or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Standard,
    ReadOnly,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Standard, Role::ReadOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Standard => "standard",
            Role::ReadOnly => "read_only",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// The name Datadog gives the role.
    pub fn display_name(self) -> &'static str {
        match self {
            Role::Admin => "Datadog Admin Role",
            Role::Standard => "Datadog Standard Role",
            Role::ReadOnly => "Datadog Read Only Role",
        }
    }

    /// Managed roles have the same id in every organization of a keyplane installation.
    pub fn id(self) -> Uuid {
        match self {
            Role::Admin => Uuid::from_u128(0x6b2c_5a2e_7d0c_11ee_9f0a_0242_ac12_0001),
            Role::Standard => Uuid::from_u128(0x6b2c_5a2e_7d0c_11ee_9f0a_0242_ac12_0002),
            Role::ReadOnly => Uuid::from_u128(0x6b2c_5a2e_7d0c_11ee_9f0a_0242_ac12_0003),
        }
    }

    pub fn from_id(id: Uuid) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.id() == id)
    }

    /// What each managed role grants, as Datadog's defaults: Admin everything; Standard reads
    /// API keys, manages its own application keys and the organization's client tokens;
    /// Read Only sees who is in the organization and its client tokens. Both also hold the
    /// restricted (default) permissions every role gets.
    pub fn permissions(self) -> PermissionSet {
        use Permission::*;
        let catalog = catalog();
        let base = catalog.restricted().union(catalog.implicit());
        match self {
            Role::Admin => catalog.everything(),
            Role::Standard => base.union(catalog.set_of(&[
                ApiKeysRead,
                UserAppKeys,
                UserAccessRead,
                ClientTokensRead,
                ClientTokensWrite,
            ])),
            Role::ReadOnly => base.union(catalog.set_of(&[UserAccessRead, ClientTokensRead])),
        }
    }

    pub fn grants(self, permission: Permission) -> bool {
        self.permissions().contains(permission.index())
    }
}

/// A role of an organization, managed or custom, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRecord {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    /// The permissions granted, without the implicit ones every role holds.
    pub permissions: PermissionSet,
    pub created_at: Micros,
    pub modified_at: Micros,
}

impl RoleRecord {
    /// A managed role, as it appears in every organization.
    pub fn managed(role: Role, org_id: Uuid) -> Self {
        Self {
            id: role.id(),
            org_id,
            name: role.display_name().to_owned(),
            permissions: role.permissions().difference(catalog().implicit()),
            created_at: MANAGED_CREATED_AT,
            modified_at: MANAGED_CREATED_AT,
        }
    }

    pub fn is_managed(&self) -> bool {
        Role::from_id(self.id).is_some()
    }

    pub fn apply(&mut self, change: &RoleChange, modified_at: Micros) {
        if let Some(name) = &change.name {
            self.name = name.as_str().to_owned();
        }
        if let Some(permissions) = change.permissions {
            self.permissions = permissions;
        }
        match change.toggle {
            Some((index, true)) => self.permissions.insert(index),
            Some((index, false)) => self.permissions.remove(index),
            None => {}
        }
        self.modified_at = modified_at;
    }

    /// What holding the role grants.
    pub fn grants(&self) -> PermissionSet {
        self.permissions.union(catalog().implicit())
    }
}

/// Managed roles exist from the start; they carry keyplane's release date.
pub const MANAGED_CREATED_AT: Micros = 1_767_225_600_000_000;

/// A role name as Datadog accepts it: not only whitespace, at most 255 characters, no
/// control characters. Datadog does not require names to be unique (except on clone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleName(String);

impl RoleName {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if raw.trim().is_empty() {
            return Err(Error::invalid("Role names cannot be only whitespace"));
        }
        if raw.chars().count() > MAX_ROLE_NAME_CHARS {
            return Err(Error::invalid(format!(
                "Role names must be at most {MAX_ROLE_NAME_CHARS} characters"
            )));
        }
        if raw.chars().any(char::is_control) {
            return Err(Error::invalid(
                "Role names must not contain control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated change to a custom role; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RoleChange {
    pub name: Option<RoleName>,
    /// Replaces the role's permissions.
    pub permissions: Option<PermissionSet>,
    /// Grants (`true`) or revokes one permission, applied to the row as the store reads it
    /// inside the write, so two concurrent grants both hold.
    pub toggle: Option<(usize, bool)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleSortField {
    Name,
    ModifiedAt,
    UserCount,
}

impl RoleSortField {
    pub fn parse(field: &str) -> Option<Self> {
        match field {
            "name" => Some(Self::Name),
            "modified_at" => Some(Self::ModifiedAt),
            "user_count" => Some(Self::UserCount),
            _ => None,
        }
    }
}

/// `GET /api/v2/roles`: a case-insensitive name filter, ids, sort and page.
#[derive(Debug, Clone)]
pub struct RoleQuery {
    pub filter: Option<String>,
    pub ids: Vec<Uuid>,
    pub sort: RoleSortField,
    pub descending: bool,
    pub page: Page,
}

/// Whether `role` passes the query's filters.
pub fn matches(query: &RoleQuery, role: &RoleRecord) -> bool {
    let named = query
        .filter
        .as_ref()
        .is_none_or(|f| role.name.to_lowercase().contains(&f.to_lowercase()));
    named && (query.ids.is_empty() || query.ids.contains(&role.id))
}

/// Every permission any of `roles` grants; unknown role ids grant nothing.
pub fn permissions_of<'a>(
    roles: &[Uuid],
    custom: impl Fn(Uuid) -> Option<&'a PermissionSet>,
) -> PermissionSet {
    roles.iter().fold(PermissionSet::default(), |set, id| {
        let granted = match Role::from_id(*id) {
            Some(managed) => managed.permissions(),
            None => custom(*id)
                .map(|p| p.union(catalog().implicit()))
                .unwrap_or_default(),
        };
        set.union(granted)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_roles_grant_as_before() {
        assert!(Role::Admin.grants(Permission::ApiKeysWrite));
        assert!(Role::Standard.grants(Permission::ClientTokensWrite));
        assert!(!Role::Standard.grants(Permission::ApiKeysWrite));
        assert!(Role::ReadOnly.grants(Permission::UserAccessRead));
        assert!(!Role::ReadOnly.grants(Permission::UserAppKeys));
    }

    #[test]
    fn whitespace_names_are_refused() {
        assert!(RoleName::parse("   ").is_err());
        assert!(RoleName::parse("ops\u{7}").is_err());
        assert!(RoleName::parse("ops").is_ok());
    }

    #[test]
    fn custom_roles_grant_what_they_hold_plus_the_implicit() {
        let custom: PermissionSet = [Permission::ApiKeysRead.index()].into_iter().collect();
        let id = Uuid::new_v4();
        let set = permissions_of(&[id], |r| (r == id).then_some(&custom));
        assert!(set.contains(Permission::ApiKeysRead.index()));
        assert!(set.contains(Permission::UserAccessRead.index()));
        assert!(!set.contains(Permission::ApiKeysWrite.index()));
        assert!(permissions_of(&[Uuid::new_v4()], |_| None).is_empty());
    }
}
