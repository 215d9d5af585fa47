//! The single-row inserts that several writes share (a create, and the first start's
//! organization with its admin and keys in one transaction).

use super::rows::roles_text;
use crate::domain::api_key::ApiKey;
use crate::domain::application_key::ApplicationKey;
use crate::domain::name::{fold, unique_name};
use crate::domain::user::User;
use crate::store::StoreResult;
use sqlx::PgConnection;

pub(super) async fn insert_user(conn: &mut PgConnection, user: &User) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO users (id, org_id, email, name, handle, title, roles, status, disabled, \
             service_account, password_hash, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
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

pub(super) async fn insert_api_key(conn: &mut PgConnection, key: &ApiKey) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO api_keys (id, org_id, name, name_folded, digest, sealed_key, last4, \
             category, remote_config_read_enabled, created_by, modified_by, created_at, \
             modified_at, date_last_used, unique_name) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(key.id)
    .bind(key.org_id)
    .bind(&key.name)
    .bind(fold(&key.name))
    .bind(key.digest.0.as_slice())
    .bind(&key.sealed_key)
    .bind(&key.last4)
    .bind(&key.category)
    .bind(key.remote_config_read_enabled)
    .bind(key.created_by)
    .bind(key.modified_by)
    .bind(key.created_at)
    .bind(key.modified_at)
    .bind(key.date_last_used)
    .bind(unique_name(&key.name))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn insert_app_key(
    conn: &mut PgConnection,
    key: &ApplicationKey,
    scopes: Option<String>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO application_keys (id, org_id, owner_id, name, name_folded, digest, \
             sealed_key, last4, scopes, created_at, last_used_at, unique_name) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(key.id)
    .bind(key.org_id)
    .bind(key.owner_id)
    .bind(&key.name)
    .bind(fold(&key.name))
    .bind(key.digest.0.as_slice())
    .bind(&key.sealed_key)
    .bind(&key.last4)
    .bind(scopes)
    .bind(key.created_at)
    .bind(key.last_used_at)
    .bind(unique_name(&key.name))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
