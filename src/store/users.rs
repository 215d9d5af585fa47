//! Users and service accounts: what a backend stores of them, their row, the WHERE clause
//! and sort of their list, and how a change applies, the same on both backends.

use super::columns::{Columns, Dialect};
use super::{StoreError, StoreResult};
use crate::domain::credential::UserEntry;
use crate::domain::name::fold;
use crate::domain::user::{User, UserChange, UserQuery, UserSortField, UserStatus};
use async_trait::async_trait;
use sqlx::QueryBuilder;
use uuid::Uuid;

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn create_user(&self, user: &User) -> StoreResult<()>;
    async fn get_user(&self, org_id: Uuid, id: Uuid) -> StoreResult<User>;
    async fn find_user_by_email(&self, org_id: Uuid, email: &str) -> StoreResult<User>;
    /// Every user with this (lowercased) email, in any organization: console sign-in.
    async fn users_by_email(&self, email: &str) -> StoreResult<Vec<User>>;
    async fn users_by_ids(&self, org_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<User>>;
    async fn list_admins(&self, org_id: Uuid) -> StoreResult<Vec<User>>;
    /// One page of users, the number the query matched, and the organization's total.
    async fn list_users(
        &self,
        org_id: Uuid,
        query: &UserQuery,
    ) -> StoreResult<(Vec<User>, u64, u64)>;
    /// Applies the change; disabling also deletes every application key the user owns, in
    /// the same transaction, so they stop working at once.
    async fn update_user(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &UserChange,
        modified_at: i64,
    ) -> StoreResult<User>;
}

pub(super) const INSERT: &str = "INSERT INTO users (id, org_id, email, name, handle, title, \
     roles, status, disabled, service_account, password_hash, created_at, modified_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
/// The columns of `INSERT`, for the batched inserts of an import.
pub(super) const INSERT_COLUMNS: &str = "INSERT INTO users (id, org_id, email, name, handle, \
     title, roles, status, disabled, service_account, password_hash, created_at, modified_at) ";
pub(super) const GET: &str = "SELECT * FROM users WHERE org_id = $1 AND id = $2";
pub(super) const BY_EMAIL_IN_ORG: &str = "SELECT * FROM users WHERE org_id = $1 AND email = $2";
pub(super) const BY_EMAIL: &str = "SELECT * FROM users WHERE email = $1 ORDER BY created_at, id";
pub(super) const COUNT_IN_ORG: &str = "SELECT COUNT(*) FROM users WHERE org_id = $1";
pub(super) const UPDATE: &str = "UPDATE users SET email = $1, handle = $2, name = $3, \
     title = $4, status = $5, disabled = $6, password_hash = $7, modified_at = $8 \
     WHERE org_id = $9 AND id = $10";
/// Run when a user is disabled: each deleted key is logged by its trigger, so every node
/// drops it at once.
pub(super) const DELETE_APP_KEYS: &str =
    "DELETE FROM application_keys WHERE org_id = $1 AND owner_id = $2";

/// Whether `change` disables `user` while it is an enabled human admin: then the store
/// checks, in the same transaction, that another admin who can act remains.
pub(super) fn last_admin_at_stake(user: &User, change: &UserChange) -> bool {
    change.disabled == Some(true) && !user.disabled() && !user.service_account && user.is_admin()
}

/// `user` as `change` leaves it (the store writes it back whole).
pub(super) fn apply(user: &mut User, change: &UserChange, modified_at: i64) {
    if let Some(email) = &change.email {
        if !user.service_account {
            user.handle = email.clone();
        }
        user.email = email.clone();
    }
    if let Some(name) = &change.name {
        user.name = Some(name.clone());
    }
    if let Some(title) = &change.title {
        user.title = title.clone();
    }
    match change.disabled {
        Some(true) => user.status = UserStatus::Disabled,
        Some(false) if user.disabled() => user.status = UserStatus::Active,
        _ => {}
    }
    if let Some(hash) = &change.password_hash {
        user.password_hash = Some(hash.clone());
    }
    user.modified_at = modified_at;
}

pub(super) use super::role_rows::roles_text;

pub(super) fn user_from<R: Columns>(row: &R) -> StoreResult<User> {
    let roles = super::role_rows::parse_roles(&row.text("roles")?)?;
    let status = row.text("status")?;
    Ok(User {
        id: row.uuid("id")?,
        org_id: row.uuid("org_id")?,
        email: row.text("email")?,
        name: row.opt_text("name")?,
        handle: row.text("handle")?,
        title: row.opt_text("title")?,
        roles,
        status: UserStatus::parse(&status)
            .ok_or_else(|| StoreError::Backend(format!("status {status}")))?,
        service_account: row.flag("service_account")?,
        password_hash: row.opt_text("password_hash")?,
        created_at: row.int("created_at")?,
        modified_at: row.int("modified_at")?,
    })
}

/// The index entry of a user row.
pub(super) fn entry_from<R: Columns>(row: &R) -> StoreResult<(Uuid, UserEntry)> {
    let user = user_from(row)?;
    Ok((user.id, UserEntry::from(&user)))
}

pub(super) fn sort_column<D: Dialect>(field: UserSortField) -> &'static str {
    match field {
        UserSortField::Name => D::USER_NAME_FOLDED,
        UserSortField::Email => "email",
        UserSortField::CreatedAt => "created_at",
        UserSortField::ModifiedAt => "modified_at",
        UserSortField::Status => "status",
    }
}

/// The WHERE clause of a user list; shared by the page and its count.
pub(super) fn push_filter<D: Dialect>(
    qb: &mut QueryBuilder<'_, D>,
    org_id: Uuid,
    query: &UserQuery,
) {
    qb.push(" WHERE org_id = ");
    D::push_id(qb, org_id);
    if let Some(needle) = query.filter.as_deref().map(fold) {
        qb.push(" AND (");
        D::push_contains(qb, D::USER_NAME_FOLDED, needle.clone());
        qb.push(" OR ");
        D::push_contains(qb, "email", needle);
        qb.push(")");
    }
    if !query.statuses.is_empty() {
        qb.push(" AND status IN (");
        for (i, status) in query.statuses.iter().enumerate() {
            if i > 0 {
                qb.push(", ");
            }
            D::push_text(qb, status.as_str());
        }
        qb.push(")");
    }
}
