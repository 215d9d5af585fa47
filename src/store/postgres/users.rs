//! Users on PostgreSQL. A disable locks the user's row and the other admins' rows, so two
//! admins disabling each other are counted one after the other.

use super::PostgresStore;
use crate::domain::user::{User, UserChange, UserQuery};
use crate::store::columns::{order_by, to_u64};
use crate::store::users::{
    apply, last_admin_at_stake, push_filter, roles_text, sort_column, user_from, BY_EMAIL,
    BY_EMAIL_IN_ORG, COUNT_IN_ORG, DELETE_APP_KEYS, GET, INSERT, UPDATE,
};
use crate::store::{StoreError, StoreResult, UserStore};
use async_trait::async_trait;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

/// The insert of `user` inside a transaction (a create, or the first start's organization).
pub(super) async fn insert_user(conn: &mut PgConnection, user: &User) -> StoreResult<()> {
    sqlx::query(INSERT)
        .bind(user.id)
        .bind(user.org_id)
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
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[async_trait]
impl UserStore for PostgresStore {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_user(&mut tx, user).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_user(&self, org_id: Uuid, id: Uuid) -> StoreResult<User> {
        let row = sqlx::query(GET)
            .bind(org_id)
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        user_from(&row)
    }

    async fn find_user_by_email(&self, org_id: Uuid, email: &str) -> StoreResult<User> {
        let row = sqlx::query(BY_EMAIL_IN_ORG)
            .bind(org_id)
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
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT * FROM users WHERE org_id = $1 AND id = ANY($2) ORDER BY created_at, id",
        )
        .bind(org_id)
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from).collect()
    }

    async fn list_admins(&self, org_id: Uuid) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(
            "SELECT * FROM users WHERE org_id = $1 AND ',' || roles || ',' LIKE '%,admin,%' \
             AND NOT disabled AND NOT service_account ORDER BY created_at, id",
        )
        .bind(org_id)
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
            .bind(org_id)
            .fetch_one(&self.pool)
            .await?;
        let order = order_by(
            sort_column::<Postgres>(query.sort.field),
            query.sort.descending,
        );
        let filter = |qb: &mut QueryBuilder<'_, Postgres>| push_filter(qb, org_id, query);
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
        let row = sqlx::query("SELECT * FROM users WHERE org_id = $1 AND id = $2 FOR UPDATE")
            .bind(org_id)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let mut user = user_from(&row)?;
        if last_admin_at_stake(&user, change) {
            // The other admins' rows are locked, so a concurrent disable of one of them
            // waits for this commit and then counts again.
            let others: Vec<bool> = sqlx::query_scalar(
                "SELECT (status = 'Active' OR password_hash IS NOT NULL OR app_key_count > 0) \
                 FROM users WHERE org_id = $1 AND id <> $2 \
                 AND ',' || roles || ',' LIKE '%,admin,%' AND NOT disabled \
                 AND NOT service_account FOR UPDATE",
            )
            .bind(org_id)
            .bind(id)
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
            .bind(org_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if user.disabled() {
            // The owner's row is locked above, so no key can be added meanwhile.
            sqlx::query(DELETE_APP_KEYS)
                .bind(org_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(user)
    }
}
