//! Roles: the three managed roles and an organization's custom roles, their permissions and
//! who holds them. Every change goes through the change log, so the next request on any
//! node is checked against it; permission checks read the in-memory index only.

use super::{unexpected, Services};
use crate::domain::audit::Action;
use crate::domain::permission::{catalog, Permission, PermissionSet};
use crate::domain::principal::Principal;
use crate::domain::role::{self, Role, RoleChange, RoleName, RoleQuery, RoleRecord, RoleSortField};
use crate::domain::time;
use crate::domain::user::{User, UserQuery};
use crate::error::{Error, Result};
use crate::store::StoreError;
use uuid::Uuid;

/// A role and how many users hold it.
pub type CountedRole = (RoleRecord, u64);

/// What creating a role asks for, already parsed.
#[derive(Debug, Clone)]
pub struct NewRole {
    pub name: RoleName,
    pub permissions: PermissionSet,
    /// Datadog's `default_permissions_opt_out`: without it, the restricted permissions are
    /// added to every new role.
    pub opt_out: bool,
}

/// An update as sent: the whole permission list replaces the role's when present.
#[derive(Debug, Clone, Default)]
pub struct RoleUpdate {
    pub name: Option<RoleName>,
    pub permissions: Option<PermissionSet>,
    pub opt_out: bool,
}

pub fn role_not_found(id: Uuid) -> Error {
    Error::NotFoundText(format!("{id} not found"))
}

fn managed_refused() -> Error {
    Error::Refused("Managed roles cannot be modified or deleted".to_owned())
}

/// With the restricted permissions unless the role opts out (Datadog's default).
fn with_defaults(permissions: PermissionSet, opt_out: bool) -> PermissionSet {
    if opt_out {
        permissions
    } else {
        permissions.union(catalog().restricted())
    }
}

/// A scoped caller cannot hand out, through a role, key-management permissions its scopes
/// lack. (Permissions keyplane does not enforce grant nothing here.)
pub(super) fn within_ceiling(who: &Principal, permissions: &PermissionSet) -> Result<()> {
    let Some(ceiling) = &who.scopes else {
        return Ok(());
    };
    let beyond = Permission::ALL
        .into_iter()
        // Every role holds it; no role can be narrowed below it.
        .filter(|p| *p != Permission::UserSelfProfileWrite && *p != Permission::UserAccessRead)
        .filter(|p| permissions.contains(p.index()))
        .any(|p| !ceiling.iter().any(|s| s == p.as_str()));
    if beyond {
        Err(Error::Forbidden)
    } else {
        Ok(())
    }
}

impl Services {
    fn map_role_error(&self, id: Uuid, err: StoreError) -> Error {
        match err {
            StoreError::NotFound => role_not_found(id),
            StoreError::LastAdmin => Error::Refused(
                "The organization's last enabled admin cannot leave the Admin role".to_owned(),
            ),
            other => unexpected(other),
        }
    }

    /// Every role of the organization, managed first, each with its holder count.
    async fn all_roles(&self, org_id: Uuid) -> Result<Vec<CountedRole>> {
        let custom = self.store.list_roles(org_id).await.map_err(unexpected)?;
        let counts = self.index.role_user_counts(org_id);
        Ok(Role::ALL
            .into_iter()
            .map(|r| RoleRecord::managed(r, org_id))
            .chain(custom)
            .map(|r| {
                let count = counts.get(&r.id).copied().unwrap_or(0);
                (r, count)
            })
            .collect())
    }

    async fn role_record(&self, org_id: Uuid, id: Uuid) -> Result<RoleRecord> {
        match Role::from_id(id) {
            Some(managed) => Ok(RoleRecord::managed(managed, org_id)),
            None => self
                .store
                .get_role(org_id, id)
                .await
                .map_err(|e| self.map_role_error(id, e)),
        }
    }

    /// A custom role the caller may change.
    async fn custom_role(&self, who: &Principal, id: Uuid) -> Result<RoleRecord> {
        who.require(Permission::UserAccessManage)?;
        let role = self.role_record(who.org_id, id).await?;
        if role.is_managed() {
            return Err(managed_refused());
        }
        Ok(role)
    }

    /// One page of roles, the organization's count and how many the query matched.
    pub async fn list_roles(
        &self,
        who: &Principal,
        query: &RoleQuery,
    ) -> Result<(Vec<CountedRole>, u64, u64)> {
        who.require(Permission::UserAccessRead)?;
        let all = self.all_roles(who.org_id).await?;
        let total = all.len() as u64;
        let mut matched: Vec<CountedRole> = all
            .into_iter()
            .filter(|(r, _)| role::matches(query, r))
            .collect();
        matched.sort_by(|(a, ac), (b, bc)| {
            let order = match query.sort {
                RoleSortField::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
                RoleSortField::ModifiedAt => a.modified_at.cmp(&b.modified_at),
                RoleSortField::UserCount => ac.cmp(bc),
            };
            let order = order.then(a.id.cmp(&b.id));
            if query.descending {
                order.reverse()
            } else {
                order
            }
        });
        let filtered = matched.len() as u64;
        let page = matched
            .into_iter()
            .skip(usize::try_from(query.page.offset()).unwrap_or(usize::MAX))
            .take(query.page.size as usize)
            .collect();
        Ok((page, total, filtered))
    }

    pub async fn get_role(&self, who: &Principal, id: Uuid) -> Result<CountedRole> {
        who.require(Permission::UserAccessRead)?;
        let role = self.role_record(who.org_id, id).await?;
        let count = self.index.role_holders(who.org_id, id).len() as u64;
        Ok((role, count))
    }

    /// The roles among `ids` (a user's), in that order; unknown ones are skipped.
    pub async fn roles_by_ids(&self, org_id: Uuid, ids: &[Uuid]) -> Result<Vec<RoleRecord>> {
        let mut roles = Vec::with_capacity(ids.len());
        for id in ids {
            match self.role_record(org_id, *id).await {
                Ok(role) => roles.push(role),
                Err(Error::NotFoundText(_)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(roles)
    }

    async fn insert_role(
        &self,
        who: &Principal,
        name: &str,
        permissions: PermissionSet,
    ) -> Result<RoleRecord> {
        within_ceiling(who, &permissions)?;
        let now = time::now();
        let role = RoleRecord {
            id: Uuid::new_v4(),
            org_id: who.org_id,
            name: name.to_owned(),
            permissions,
            created_at: now,
            modified_at: now,
        };
        self.store.create_role(&role).await.map_err(unexpected)?;
        self.refresh_credentials().await;
        self.audit(who, Action::RoleCreated, Some(role.id)).await;
        Ok(role)
    }

    pub async fn create_role(&self, who: &Principal, new: NewRole) -> Result<RoleRecord> {
        who.require(Permission::UserAccessManage)?;
        let permissions = with_defaults(new.permissions, new.opt_out);
        self.insert_role(who, new.name.as_str(), permissions).await
    }

    /// A new role with `id`'s permissions; the name must be new in the organization.
    pub async fn clone_role(
        &self,
        who: &Principal,
        id: Uuid,
        name: RoleName,
    ) -> Result<RoleRecord> {
        who.require(Permission::UserAccessManage)?;
        let source = self.role_record(who.org_id, id).await?;
        let taken = self
            .all_roles(who.org_id)
            .await?
            .iter()
            .any(|(r, _)| r.name == name.as_str());
        if taken {
            return Err(Error::Conflict(
                "A role with the same name already exists".to_owned(),
            ));
        }
        self.insert_role(who, name.as_str(), source.permissions)
            .await
    }

    pub async fn update_role(
        &self,
        who: &Principal,
        id: Uuid,
        update: RoleUpdate,
    ) -> Result<CountedRole> {
        self.custom_role(who, id).await?;
        let permissions = update.permissions.map(|p| with_defaults(p, update.opt_out));
        if let Some(permissions) = &permissions {
            within_ceiling(who, permissions)?;
        }
        let change = RoleChange {
            name: update.name,
            permissions,
            toggle: None,
        };
        let role = self
            .change_role(who, id, &change, Action::RoleChanged)
            .await?;
        let count = self.index.role_holders(who.org_id, id).len() as u64;
        Ok((role, count))
    }

    async fn change_role(
        &self,
        who: &Principal,
        id: Uuid,
        change: &RoleChange,
        action: Action,
    ) -> Result<RoleRecord> {
        let role = self
            .store
            .update_role(who.org_id, id, change, time::now())
            .await
            .map_err(|e| self.map_role_error(id, e))?;
        self.refresh_credentials().await;
        self.audit(who, action, Some(id)).await;
        Ok(role)
    }

    pub async fn delete_role(&self, who: &Principal, id: Uuid) -> Result<()> {
        self.custom_role(who, id).await?;
        self.store
            .delete_role(who.org_id, id, time::now())
            .await
            .map_err(|e| self.map_role_error(id, e))?;
        self.refresh_credentials().await;
        self.audit(who, Action::RoleDeleted, Some(id)).await;
        Ok(())
    }

    /// What the role grants, as listed (without the permissions every role holds unlisted).
    pub async fn role_permissions(&self, who: &Principal, id: Uuid) -> Result<PermissionSet> {
        who.require(Permission::UserAccessRead)?;
        Ok(self.role_record(who.org_id, id).await?.permissions)
    }

    /// Grants (`held`) or revokes one permission; the role's permissions afterwards.
    pub async fn set_role_permission(
        &self,
        who: &Principal,
        id: Uuid,
        permission: usize,
        held: bool,
    ) -> Result<PermissionSet> {
        let role = self.custom_role(who, id).await?;
        if held {
            let mut widened = role.permissions;
            widened.insert(permission);
            within_ceiling(who, &widened)?;
        }
        let change = RoleChange {
            toggle: Some((permission, held)),
            ..RoleChange::default()
        };
        let action = if held {
            Action::RolePermissionGranted
        } else {
            Action::RolePermissionRevoked
        };
        Ok(self
            .change_role(who, id, &change, action)
            .await?
            .permissions)
    }

    /// The users holding the role, in the organization's user order.
    async fn holders(&self, who: &Principal, id: Uuid) -> Result<(RoleRecord, Vec<User>)> {
        who.require(Permission::UserAccessRead)?;
        let role = self.role_record(who.org_id, id).await?;
        let holders = self.index.role_holders(who.org_id, id);
        let users = self.users_by_ids(who.org_id, &holders).await?;
        Ok((role, users))
    }

    /// One page of the role's users, how many the query matched and how many hold it.
    pub async fn role_users(
        &self,
        who: &Principal,
        id: Uuid,
        query: &UserQuery,
    ) -> Result<(RoleRecord, Vec<User>, u64, u64)> {
        let (role, users) = self.holders(who, id).await?;
        let total = users.len() as u64;
        let mut matched: Vec<User> = users.into_iter().filter(|u| query.matches(u)).collect();
        matched.sort_by(|a, b| query.order(a, b));
        let filtered = matched.len() as u64;
        let page = matched
            .into_iter()
            .skip(usize::try_from(query.page.offset()).unwrap_or(usize::MAX))
            .take(query.page.size as usize)
            .collect();
        Ok((role, page, filtered, total))
    }

    /// Gives the user the role (`held`) or takes it away; the role's users afterwards.
    pub async fn set_user_role(
        &self,
        who: &Principal,
        role_id: Uuid,
        user_id: Uuid,
        held: bool,
    ) -> Result<Vec<User>> {
        who.require(Permission::UserAccessManage)?;
        let role = self.role_record(who.org_id, role_id).await?;
        if held {
            within_ceiling(who, &role.grants())?;
        }
        self.store
            .set_user_role(who.org_id, user_id, role_id, held, time::now())
            .await
            .map_err(|e| match e {
                StoreError::NotFound => Error::NotFoundText(format!("{user_id} not found")),
                other => self.map_role_error(role_id, other),
            })?;
        self.refresh_credentials().await;
        let action = if held {
            Action::UserRoleGranted
        } else {
            Action::UserRoleRevoked
        };
        self.audit(who, action, Some(user_id)).await;
        Ok(self.holders(who, role_id).await?.1)
    }

    /// What the user's roles grant, as listed.
    pub async fn user_permissions(&self, who: &Principal, user_id: Uuid) -> Result<PermissionSet> {
        let user = self.get_user(who, user_id).await?;
        Ok(self
            .index
            .permissions_of(who.org_id, &user.roles)
            .difference(catalog().implicit()))
    }
}
