//! Custom roles on PostgreSQL, and which users hold them.

use super::PostgresStore;
use crate::domain::credential::RoleEntry;
use crate::domain::role::{RoleChange, RoleRecord};
use crate::domain::user::User;
use crate::store::role_rows::{
    change_roles, parse_permissions, permissions_text, role_token, roles_text,
};
use crate::store::users::user_from;
use crate::store::RoleStore;
use crate::store::{StoreError, StoreResult};
use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

fn role_from(row: &PgRow) -> StoreResult<RoleRecord> {
    let permissions: String = row.try_get("permissions")?;
    Ok(RoleRecord {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        name: row.try_get("name")?,
        permissions: parse_permissions(&permissions),
        created_at: row.try_get("created_at")?,
        modified_at: row.try_get("modified_at")?,
    })
}

#[async_trait]
impl RoleStore for PostgresStore {
    async fn create_role(&self, role: &RoleRecord) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO roles (id, org_id, name, permissions, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(role.id)
        .bind(role.org_id)
        .bind(&role.name)
        .bind(permissions_text(&role.permissions))
        .bind(role.created_at)
        .bind(role.modified_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_role(&self, org_id: Uuid, id: Uuid) -> StoreResult<RoleRecord> {
        let row = sqlx::query("SELECT * FROM roles WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        role_from(&row)
    }

    async fn list_roles(&self, org_id: Uuid) -> StoreResult<Vec<RoleRecord>> {
        let rows = sqlx::query("SELECT * FROM roles WHERE org_id = $1 ORDER BY name, id")
            .bind(org_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(role_from).collect()
    }

    async fn update_role(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &RoleChange,
        modified_at: i64,
    ) -> StoreResult<RoleRecord> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT * FROM roles WHERE org_id = $1 AND id = $2 FOR UPDATE")
            .bind(org_id)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let mut role = role_from(&row)?;
        role.apply(change, modified_at);
        sqlx::query(
            "UPDATE roles SET name = $1, permissions = $2, modified_at = $3 \
             WHERE org_id = $4 AND id = $5",
        )
        .bind(&role.name)
        .bind(permissions_text(&role.permissions))
        .bind(role.modified_at)
        .bind(org_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(role)
    }

    async fn delete_role(&self, org_id: Uuid, id: Uuid, at: i64) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM roles WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        // Each holder's row changes, so its trigger logs the user for every node.
        sqlx::query(
            "UPDATE users SET roles = TRIM(BOTH ',' FROM REPLACE(',' || roles || ',', $1, ',')), \
             modified_at = $2 WHERE org_id = $3 AND ',' || roles || ',' LIKE '%' || $1 || '%'",
        )
        .bind(role_token(id))
        .bind(at)
        .bind(org_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_user_role(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        role_id: Uuid,
        held: bool,
        modified_at: i64,
    ) -> StoreResult<User> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT * FROM users WHERE org_id = $1 AND id = $2 FOR UPDATE")
            .bind(org_id)
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
        let mut user = user_from(&row)?;
        let (roles, last_admin_at_stake) = change_roles(&user, role_id, held);
        if roles == user.roles {
            return Ok(user);
        }
        if last_admin_at_stake {
            // The other admins' rows are locked, as for disabling.
            let others: Vec<bool> = sqlx::query_scalar(
                "SELECT (status = 'Active' OR password_hash IS NOT NULL OR app_key_count > 0) \
                 FROM users WHERE org_id = $1 AND id <> $2 \
                 AND ',' || roles || ',' LIKE '%,admin,%' AND NOT disabled \
                 AND NOT service_account FOR UPDATE",
            )
            .bind(org_id)
            .bind(user_id)
            .fetch_all(&mut *tx)
            .await?;
            if !others.into_iter().any(|can_act| can_act) {
                return Err(StoreError::LastAdmin);
            }
        }
        user.roles = roles;
        user.modified_at = modified_at;
        sqlx::query("UPDATE users SET roles = $1, modified_at = $2 WHERE org_id = $3 AND id = $4")
            .bind(roles_text(&user.roles))
            .bind(user.modified_at)
            .bind(org_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn role_entries(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(Uuid, RoleEntry)>> {
        let rows = sqlx::query(
            "SELECT * FROM roles WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| role_from(row).map(|r| (r.id, RoleEntry::from(&r))))
            .collect()
    }
}
