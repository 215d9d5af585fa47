//! Users on SQLite. Their writes take the writer slot directly (they are rare), and a
//! disable counts the other admins inside the same write.

use super::{SqliteQuery, SqliteStore};
use crate::domain::user::{User, UserChange, UserQuery};
use crate::store::columns::{order_by, to_u64};
use crate::store::users::{
    apply, last_admin_at_stake, push_filter, roles_text, sort_column, user_from, BY_EMAIL,
    BY_EMAIL_IN_ORG, COUNT_IN_ORG, DELETE_APP_KEYS, GET, INSERT, UPDATE,
};
use crate::store::{StoreError, StoreResult, UserStore};
use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

/// For each other enabled human admin of the organization (`?1` org, `?2` the one being
/// disabled): whether it can act, i.e. signed in once, holds a password or an application key.
/// A Pending admin with none of these cannot manage the organization.
pub(super) const OTHER_ADMINS_CAN_ACT: &str =
    "SELECT (status = 'Active' OR password_hash IS NOT NULL \
     OR app_key_count > 0) FROM users WHERE org_id = ? AND id <> ? \
     AND ',' || roles || ',' LIKE '%,admin,%' AND disabled = 0 AND service_account = 0";

/// The insert of `user`; on the pool or inside a transaction.
pub(super) fn insert_user(user: &User) -> SqliteQuery<'_> {
    sqlx::query(INSERT)
        .bind(user.id.to_string())
        .bind(user.org_id.to_string())
        .bind(&user.email)
        .bind(&user.name)
        .bind(&user.handle)
        .bind(&user.title)
        .bind(roles_text(&user.roles))
        .bind(user.status.as_str())
        .bind(user.disabled())
        .bind(user.service_account)
        .bind(&user.password_hash)
        .bind(user.created_at)
        .bind(user.modified_at)
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let _slot = self.write_slot().await;
        insert_user(user).execute(&self.pool).await?;
        Ok(())
    }

    async fn get_user(&self, org_id: Uuid, id: Uuid) -> StoreResult<User> {
        let row = sqlx::query(GET)
            .bind(org_id.to_string())
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await?;
        user_from(&row)
    }

    async fn find_user_by_email(&self, org_id: Uuid, email: &str) -> StoreResult<User> {
        let row = sqlx::query(BY_EMAIL_IN_ORG)
            .bind(org_id.to_string())
            .bind(email)
            .fetch_one(&self.pool)
            .await?;
        user_from(&row)
    }

    async fn users_by_email(&self, email: &str) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(BY_EMAIL)
            .bind(email)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_from).collect()
    }

    async fn users_by_ids(&self, org_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<User>> {
        let mut users = self.rows_by_ids("users", org_id, ids, user_from).await?;
        users.sort_by_key(|u| (u.created_at, u.id));
        Ok(users)
    }

    async fn list_admins(&self, org_id: Uuid) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(
            "SELECT * FROM users WHERE org_id = ? AND ',' || roles || ',' LIKE '%,admin,%' \
             AND disabled = 0 AND service_account = 0 ORDER BY created_at, id",
        )
        .bind(org_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from).collect()
    }

    async fn list_users(
        &self,
        org_id: Uuid,
        query: &UserQuery,
    ) -> StoreResult<(Vec<User>, u64, u64)> {
        let total: i64 = sqlx::query_scalar(COUNT_IN_ORG)
            .bind(org_id.to_string())
            .fetch_one(&self.pool)
            .await?;
        let order = order_by(
            sort_column::<Sqlite>(query.sort.field),
            query.sort.descending,
        );
        let filter = |qb: &mut QueryBuilder<'_, Sqlite>| push_filter(qb, org_id, query);
        let (users, matched) = self
            .paged("users", filter, &order, query.page, user_from)
            .await?;
        Ok((users, matched, to_u64(total)))
    }

    async fn update_user(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &UserChange,
        modified_at: i64,
    ) -> StoreResult<User> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(GET)
            .bind(org_id.to_string())
            .bind(id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        let mut user = user_from(&row)?;
        if last_admin_at_stake(&user, change) {
            // Inside the write: SQLite runs one write at a time, so two admins disabling
            // each other are counted one after the other.
            let others: Vec<bool> = sqlx::query_scalar(OTHER_ADMINS_CAN_ACT)
                .bind(org_id.to_string())
                .bind(id.to_string())
                .fetch_all(&mut *tx)
                .await?;
            if !others.into_iter().any(|can_act| can_act) {
                return Err(StoreError::LastAdmin);
            }
        }
        apply(&mut user, change, modified_at);
        sqlx::query(UPDATE)
            .bind(&user.email)
            .bind(&user.handle)
            .bind(&user.name)
            .bind(&user.title)
            .bind(user.status.as_str())
            .bind(user.disabled())
            .bind(&user.password_hash)
            .bind(user.modified_at)
            .bind(org_id.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if user.disabled() {
            sqlx::query(DELETE_APP_KEYS)
                .bind(org_id.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(user)
    }
}
