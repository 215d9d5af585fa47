//! Custom roles: what a backend stores of them. Managed roles are not stored.

use super::StoreResult;
use crate::domain::credential::RoleEntry;
use crate::domain::role::{RoleChange, RoleRecord};
use crate::domain::user::User;
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
pub trait RoleStore: Send + Sync {
    /// Names need not be unique.
    async fn create_role(&self, role: &RoleRecord) -> StoreResult<()>;
    async fn get_role(&self, org_id: Uuid, id: Uuid) -> StoreResult<RoleRecord>;
    /// The organization's custom roles, by name.
    async fn list_roles(&self, org_id: Uuid) -> StoreResult<Vec<RoleRecord>>;
    /// Applies the change to the row as read inside the write.
    async fn update_role(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &RoleChange,
        modified_at: i64,
    ) -> StoreResult<RoleRecord>;
    /// Deletes the role and takes it from every user holding it, in one transaction.
    async fn delete_role(&self, org_id: Uuid, id: Uuid, modified_at: i64) -> StoreResult<()>;
    /// Gives the user `role_id` (`held`) or takes it away. Taking Admin from the
    /// organization's last enabled admin who can act is refused (`LastAdmin`), checked in
    /// the same transaction as disabling is.
    async fn set_user_role(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        role_id: Uuid,
        held: bool,
        modified_at: i64,
    ) -> StoreResult<User>;
    /// Custom roles in id order after `after`, at most `limit`.
    async fn role_entries(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(Uuid, RoleEntry)>>;
}
