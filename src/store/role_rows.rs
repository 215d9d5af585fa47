//! How both backends store roles: a user's roles as one comma-separated column (managed
//! roles by name, as before custom roles, so the admin checks' `LIKE '%,admin,%'` still
//! hold; custom roles by id), and a role's permissions as their names.

use super::{StoreError, StoreResult};
use crate::domain::permission::{catalog, PermissionSet};
use crate::domain::role::Role;
use crate::domain::user::User;
use uuid::Uuid;

pub(crate) fn roles_text(roles: &[Uuid]) -> String {
    roles
        .iter()
        .map(|id| match Role::from_id(*id) {
            Some(managed) => managed.as_str().to_owned(),
            None => id.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn parse_roles(text: &str) -> StoreResult<Vec<Uuid>> {
    text.split(',')
        .filter(|r| !r.is_empty())
        .map(|r| match Role::parse(r) {
            Some(managed) => Ok(managed.id()),
            None => Uuid::parse_str(r).map_err(|_| StoreError::Backend(format!("role {r}"))),
        })
        .collect()
}

/// The token a custom role has in `users.roles`, for the statement that removes it.
pub(crate) fn role_token(id: Uuid) -> String {
    format!(",{id},")
}

pub(crate) fn permissions_text(permissions: &PermissionSet) -> String {
    let catalog = catalog();
    permissions
        .iter()
        .filter_map(|i| catalog.get(i))
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Names the catalog no longer has grant nothing.
pub(crate) fn parse_permissions(text: &str) -> PermissionSet {
    let catalog = catalog();
    text.split(',')
        .filter_map(|name| catalog.index_of_name(name))
        .collect()
}

/// `user`'s roles with `role` added (`held`) or taken away, and whether that takes Admin
/// from an enabled human admin: then the store checks another admin who can act remains.
pub(crate) fn change_roles(user: &User, role: Uuid, held: bool) -> (Vec<Uuid>, bool) {
    let mut roles = user.roles.clone();
    roles.retain(|r| *r != role);
    if held {
        roles.push(role);
    }
    let last_admin_at_stake = !held
        && role == Role::Admin.id()
        && user.is_admin()
        && !user.disabled()
        && !user.service_account;
    (roles, last_admin_at_stake)
}
