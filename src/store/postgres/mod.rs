//! The PostgreSQL backend, for several keyplane nodes on one database. Same schema and
//! triggers as SQLite (migrations/postgres, numbered in lockstep), plus a notification on
//! every change-log write so other nodes hear of it at commit.
//!
//! Atomicity of the key rules. Every write transaction starts with `keyplane_write_lock()`,
//! one transaction-scoped advisory lock (why the change log needs it is in the migration).
//! The count checks then take a row lock on the count they depend on (`SELECT … FOR UPDATE`
//! on the organization's or owner's row), so "at most N keys", "never the last key" and the
//! counts the triggers keep hold under READ COMMITTED even for a writer that skipped the
//! advisory lock. Row locks rather than SERIALIZABLE: a retry loop would re-run whole
//! transactions under contention, while the lock just queues them, as SQLite's single
//! writer does.

mod audit;
mod client_tokens;
mod feed;
mod import;
mod inserts;
mod log;
mod roles;
mod rows;
mod sessions;

use super::{ChangeFeed, Store, StoreError, StoreResult};
use crate::domain::api_key::{ApiKey, ApiKeyChange, ApiKeyQuery, ApiKeySortField};
use crate::domain::application_key::{
    ApplicationKey, ApplicationKeyChange, ApplicationKeyQuery, ApplicationKeySortField,
};
use crate::domain::audit::{AuditEvent, AuditHead, AuditKey, AuditQuery, AuditRecord};
use crate::domain::client_token::{ClientToken, ClientTokenChange, ClientTokenQuery};
use crate::domain::credential::{AppKeyEntry, Change, ClientTokenEntry, RoleEntry, UserEntry};
use crate::domain::list::{Page, Sort};
use crate::domain::name::{fold, unique_name};
use crate::domain::org::Org;
use crate::domain::role::{RoleChange, RoleRecord};
use crate::domain::secret::KeyDigest;
use crate::domain::session::Session;
use crate::domain::user::{User, UserChange, UserQuery, UserSortField, UserStatus};
use async_trait::async_trait;
use inserts::{insert_api_key, insert_app_key, insert_user};
use rows::*;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, QueryBuilder, Transaction};
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

pub struct PostgresStore {
    pool: PgPool,
    /// The listener's own pool (one connection), opened only when a feed connects.
    listen_pool: PgPool,
}

/// Fills `unique_name` for rows written before migration 0004 (SQL cannot fold Unicode), a
/// thousand rows a statement. A row whose name is a look-alike of one filled before it keeps
/// NULL: it goes on working, and the first of them holds the name. Nodes starting together
/// may both fill; `unique_name IS NULL` makes the second a no-op.
async fn fill_unique_names(pool: &PgPool) -> StoreResult<()> {
    for table in ["api_keys", "application_keys", "client_tokens"] {
        let mut after = Uuid::nil();
        loop {
            let rows: Vec<(Uuid, String)> = sqlx::query_as(&format!(
                "SELECT id, name FROM {table} WHERE unique_name IS NULL AND id > $1 \
                 ORDER BY id LIMIT 1000"
            ))
            .bind(after)
            .fetch_all(pool)
            .await?;
            let Some((last, _)) = rows.last() else {
                break;
            };
            after = *last;
            let ids: Vec<Uuid> = rows.iter().map(|(id, _)| *id).collect();
            let names: Vec<String> = rows.iter().map(|(_, n)| unique_name(n)).collect();
            let batch = sqlx::query(&format!(
                "UPDATE {table} t SET unique_name = v.u \
                 FROM unnest($1::uuid[], $2::text[]) AS v(id, u) \
                 WHERE t.id = v.id AND t.unique_name IS NULL"
            ))
            .bind(&ids)
            .bind(&names)
            .execute(pool)
            .await
            .map_err(StoreError::from);
            match batch {
                Ok(_) => {}
                // Look-alikes in this batch: one row at a time, leaving the refused ones NULL.
                Err(StoreError::Conflict(_)) => {
                    for (id, name) in ids.iter().zip(&names) {
                        let one = sqlx::query(&format!(
                            "UPDATE {table} SET unique_name = $1 \
                             WHERE id = $2 AND unique_name IS NULL"
                        ))
                        .bind(name)
                        .bind(id)
                        .execute(pool)
                        .await
                        .map_err(StoreError::from);
                        match one {
                            Ok(_) | Err(StoreError::Conflict(_)) => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// How long a request waits for a connection (sqlx retries a refused one meanwhile):
/// while the server is down, a write answers 503 after this long rather than after
/// sqlx's default 30 s. Long enough that a busy but healthy pool is not mistaken for an
/// outage.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

impl PostgresStore {
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let mut options = PgConnectOptions::from_str(url)?;
        if options.get_application_name().is_none() {
            options = options.application_name("keyplane");
        }
        let listen_options = options
            .clone()
            .application_name(&format!("keyplane-listener:{}", std::process::id()));
        // Migrations get a connection of their own without the serving pool's statement
        // bound: a migration may rightly take long, or wait for another node's.
        let migrator = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        // sqlx holds an advisory lock while migrating, so nodes starting together apply
        // each migration once.
        sqlx::migrate!("migrations/postgres").run(&migrator).await?;
        fill_unique_names(&migrator).await?;
        migrator.close().await;
        // Server-side bounds on every statement and open transaction, so a write stuck
        // behind a lock or a struggling server ends (57014, answered 503) instead of hanging.
        let options = options.options([
            ("statement_timeout", "5s"),
            ("idle_in_transaction_session_timeout", "10s"),
        ]);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        let listen_pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(listen_options);
        Ok(Self { pool, listen_pool })
    }

    /// A transaction holding the write lock: see the module comment.
    async fn begin_write(&self) -> StoreResult<Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT keyplane_write_lock()")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// One page of `table` rows matching `filter`, ordered by `column` (then id, so pages
    /// are stable), and the number of rows the filter matched.
    async fn paged<T>(
        &self,
        table: &str,
        filter: impl Fn(&mut QueryBuilder<'_, Postgres>),
        column: &str,
        sort: Sort<()>,
        page: Page,
        from_row: fn(&PgRow) -> StoreResult<T>,
    ) -> StoreResult<(Vec<T>, u64)> {
        let mut count = QueryBuilder::<Postgres>::new(format!("SELECT COUNT(*) FROM {table}"));
        filter(&mut count);
        let matched: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
        let dir = if sort.descending { "DESC" } else { "ASC" };
        let mut rows = QueryBuilder::<Postgres>::new(format!("SELECT * FROM {table}"));
        filter(&mut rows);
        rows.push(format!(" ORDER BY {column} {dir}, id {dir} LIMIT "))
            .push_bind(i64::from(page.size))
            .push(" OFFSET ")
            .push_bind(to_i64(page.offset()));
        let rows = rows.build().fetch_all(&self.pool).await?;
        let items = rows.iter().map(from_row).collect::<StoreResult<_>>()?;
        Ok((items, to_u64(matched)))
    }
}

fn direction<F>(sort: &Sort<F>) -> Sort<()> {
    Sort {
        field: (),
        descending: sort.descending,
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn change_feed(&self) -> Option<Box<dyn ChangeFeed>> {
        Some(Box::new(feed::PgChangeFeed {
            pool: self.listen_pool.clone(),
            listener: None,
        }))
    }

    async fn org_count(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orgs")
            .fetch_one(&self.pool)
            .await?;
        Ok(to_u64(n))
    }

    async fn create_org(&self, org: &Org) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO orgs (id, name, one_time_read, created_at, num) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(org.id)
        .bind(&org.name)
        .bind(org.one_time_read)
        .bind(org.created_at)
        .bind(org.num.map(i64::from))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn create_organization(
        &self,
        org: &Org,
        admin: &User,
        api_key: &ApiKey,
        app_key: &ApplicationKey,
    ) -> StoreResult<()> {
        let scopes = scopes_json(&app_key.scopes)?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO orgs (id, name, one_time_read, created_at, num) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(org.id)
        .bind(&org.name)
        .bind(org.one_time_read)
        .bind(org.created_at)
        .bind(org.num.map(i64::from))
        .execute(&mut *tx)
        .await?;
        insert_user(&mut tx, admin).await?;
        // A new organization holds no key yet, so no limit can refuse these.
        insert_api_key(&mut tx, api_key).await?;
        insert_app_key(&mut tx, app_key, scopes).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_org(&self, id: Uuid) -> StoreResult<Org> {
        let row = sqlx::query("SELECT * FROM orgs WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        org_from(&row)
    }

    async fn list_orgs(&self) -> StoreResult<Vec<Org>> {
        let rows = sqlx::query("SELECT * FROM orgs ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(org_from).collect()
    }

    async fn set_one_time_read(&self, org_id: Uuid, enabled: bool) -> StoreResult<()> {
        let done = sqlx::query("UPDATE orgs SET one_time_read = $1 WHERE id = $2")
            .bind(enabled)
            .bind(org_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_user(&mut tx, user).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_user(&self, org_id: Uuid, id: Uuid) -> StoreResult<User> {
        let row = sqlx::query("SELECT * FROM users WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        user_from(&row)
    }

    async fn find_user_by_email(&self, org_id: Uuid, email: &str) -> StoreResult<User> {
        let row = sqlx::query("SELECT * FROM users WHERE org_id = $1 AND email = $2")
            .bind(org_id)
            .bind(email)
            .fetch_one(&self.pool)
            .await?;
        user_from(&row)
    }

    async fn users_by_email(&self, email: &str) -> StoreResult<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users WHERE email = $1 ORDER BY created_at, id")
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
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE org_id = $1")
            .bind(org_id)
            .fetch_one(&self.pool)
            .await?;
        let column = match query.sort.field {
            UserSortField::Name => USER_NAME_FOLDED,
            UserSortField::Email => "email",
            UserSortField::CreatedAt => "created_at",
            UserSortField::ModifiedAt => "modified_at",
            UserSortField::Status => "status",
        };
        let filter = |qb: &mut QueryBuilder<'_, Postgres>| push_user_filter(qb, org_id, query);
        let sort = direction(&query.sort);
        let (users, matched) = self
            .paged("users", filter, column, sort, query.page, user_from)
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
        if crate::store::last_admin_at_stake(&user, change) {
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
        sqlx::query(
            "UPDATE users SET email = $1, handle = $2, name = $3, title = $4, status = $5, \
             disabled = $6, password_hash = $7, modified_at = $8 WHERE org_id = $9 AND id = $10",
        )
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
            // Each deleted key is logged by its trigger, so every node drops it at once.
            // The owner's row is locked above, so no key can be added meanwhile.
            sqlx::query("DELETE FROM application_keys WHERE org_id = $1 AND owner_id = $2")
                .bind(org_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    async fn create_api_key(&self, key: &ApiKey, max_per_org: u64) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let count: i64 =
            sqlx::query_scalar("SELECT api_key_count FROM orgs WHERE id = $1 FOR UPDATE")
                .bind(key.org_id)
                .fetch_one(&mut *tx)
                .await?;
        if to_u64(count) >= max_per_org {
            return Err(StoreError::LimitReached {
                count: to_u64(count),
            });
        }
        insert_api_key(&mut tx, key).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_api_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<ApiKey> {
        let row = sqlx::query("SELECT * FROM api_keys WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        api_key_from(&row)
    }

    async fn find_api_key(&self, digest: &KeyDigest) -> StoreResult<Option<ApiKey>> {
        let row = sqlx::query("SELECT * FROM api_keys WHERE digest = $1")
            .bind(digest.0.as_slice())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(api_key_from).transpose()
    }

    async fn api_keys_by_ids(&self, org_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<ApiKey>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query("SELECT * FROM api_keys WHERE org_id = $1 AND id = ANY($2)")
            .bind(org_id)
            .bind(ids)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(api_key_from).collect()
    }

    async fn list_api_keys(
        &self,
        org_id: Uuid,
        query: &ApiKeyQuery,
    ) -> StoreResult<(Vec<ApiKey>, u64)> {
        let column = match query.sort.field {
            ApiKeySortField::CreatedAt => "created_at",
            ApiKeySortField::Last4 => "last4",
            ApiKeySortField::ModifiedAt => "modified_at",
            ApiKeySortField::Name => "name_folded",
        };
        let filter = |qb: &mut QueryBuilder<'_, Postgres>| push_api_key_filter(qb, org_id, query);
        let sort = direction(&query.sort);
        self.paged("api_keys", filter, column, sort, query.page, api_key_from)
            .await
    }

    async fn update_api_key(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &ApiKeyChange,
    ) -> StoreResult<ApiKey> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE api_keys SET name = $1, name_folded = $2, \
             category = COALESCE($3, category), \
             remote_config_read_enabled = COALESCE($4, remote_config_read_enabled), \
             modified_by = $5, modified_at = $6, unique_name = $9 \
             WHERE org_id = $7 AND id = $8 RETURNING *",
        )
        .bind(change.name.as_str())
        .bind(change.name.folded())
        .bind(&change.category)
        .bind(change.remote_config_read_enabled)
        .bind(change.modified_by)
        .bind(change.modified_at)
        .bind(org_id)
        .bind(id)
        .bind(change.name.unique())
        .fetch_one(&mut *tx)
        .await?;
        let key = api_key_from(&row)?;
        tx.commit().await?;
        Ok(key)
    }

    async fn delete_api_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let count: Option<i64> =
            sqlx::query_scalar("SELECT api_key_count FROM orgs WHERE id = $1 FOR UPDATE")
                .bind(org_id)
                .fetch_optional(&mut *tx)
                .await?;
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM api_keys WHERE org_id = $1 AND id = $2)",
        )
        .bind(org_id)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        match count {
            _ if !exists => return Err(StoreError::NotFound),
            Some(count) if count > 1 => {}
            _ => return Err(StoreError::LastKey),
        }
        sqlx::query("DELETE FROM api_keys WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_application_key(
        &self,
        key: &ApplicationKey,
        max_per_owner: u64,
    ) -> StoreResult<()> {
        let scopes = scopes_json(&key.scopes)?;
        let mut tx = self.begin_write().await?;
        // The owner's row lock orders this insert with a disable of the owner (which locks
        // the same row): a key is never added to an owner being disabled.
        let owner: Option<(i64, bool)> =
            sqlx::query_as("SELECT app_key_count, disabled FROM users WHERE id = $1 FOR UPDATE")
                .bind(key.owner_id)
                .fetch_optional(&mut *tx)
                .await?;
        if owner.is_some_and(|(_, disabled)| disabled) {
            return Err(StoreError::OwnerDisabled);
        }
        // As on SQLite, a missing owner counts as full: the insert would have no owner.
        if owner.is_none_or(|(n, _)| to_u64(n) >= max_per_owner) {
            return Err(StoreError::LimitReached {
                count: max_per_owner,
            });
        }
        insert_app_key(&mut tx, key, scopes).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_application_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<ApplicationKey> {
        let row = sqlx::query("SELECT * FROM application_keys WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        app_key_from(&row)
    }

    async fn find_application_key(
        &self,
        digest: &KeyDigest,
    ) -> StoreResult<Option<ApplicationKey>> {
        let row = sqlx::query("SELECT * FROM application_keys WHERE digest = $1")
            .bind(digest.0.as_slice())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(app_key_from).transpose()
    }

    async fn list_application_keys(
        &self,
        org_id: Uuid,
        query: &ApplicationKeyQuery,
    ) -> StoreResult<(Vec<ApplicationKey>, u64)> {
        let column = match query.sort.field {
            ApplicationKeySortField::CreatedAt => "created_at",
            ApplicationKeySortField::Last4 => "last4",
            ApplicationKeySortField::Name => "name_folded",
        };
        let filter = |qb: &mut QueryBuilder<'_, Postgres>| push_app_key_filter(qb, org_id, query);
        let sort = direction(&query.sort);
        self.paged(
            "application_keys",
            filter,
            column,
            sort,
            query.page,
            app_key_from,
        )
        .await
    }

    async fn update_application_key(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &ApplicationKeyChange,
    ) -> StoreResult<ApplicationKey> {
        let mut tx = self.begin_write().await?;
        let row =
            sqlx::query("SELECT * FROM application_keys WHERE org_id = $1 AND id = $2 FOR UPDATE")
                .bind(org_id)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        let mut key = app_key_from(&row)?;
        if let Some(name) = &change.name {
            key.name = name.as_str().to_owned();
        }
        if let Some(scopes) = &change.scopes {
            key.scopes = scopes.clone();
        }
        sqlx::query(
            "UPDATE application_keys SET name = $1, name_folded = $2, scopes = $3, \
             unique_name = $6 WHERE org_id = $4 AND id = $5",
        )
        .bind(&key.name)
        .bind(fold(&key.name))
        .bind(scopes_json(&key.scopes)?)
        .bind(org_id)
        .bind(id)
        .bind(unique_name(&key.name))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(key)
    }

    async fn delete_application_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM application_keys WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_client_token(&self, token: &ClientToken) -> StoreResult<()> {
        self.insert_client_token(token).await
    }

    async fn get_client_token(&self, org_id: Uuid, id: Uuid) -> StoreResult<ClientToken> {
        self.client_token(org_id, id).await
    }

    async fn find_client_token(&self, digest: &KeyDigest) -> StoreResult<Option<ClientToken>> {
        self.client_token_by_digest(digest).await
    }

    async fn list_client_tokens(
        &self,
        org_id: Uuid,
        query: &ClientTokenQuery,
    ) -> StoreResult<(Vec<ClientToken>, u64)> {
        self.client_token_page(org_id, query).await
    }

    async fn update_client_token(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &ClientTokenChange,
    ) -> StoreResult<ClientToken> {
        self.rename_client_token(org_id, id, change).await
    }

    async fn delete_client_token(&self, org_id: Uuid, id: Uuid) -> StoreResult<()> {
        self.remove_client_token(org_id, id).await
    }

    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        self.insert_session(session).await
    }

    async fn get_session(&self, digest: &KeyDigest) -> StoreResult<Option<Session>> {
        self.session(digest).await
    }

    async fn touch_session(&self, digest: &KeyDigest, at: i64) -> StoreResult<()> {
        self.session_seen(digest, at).await
    }

    async fn delete_session(&self, digest: &KeyDigest) -> StoreResult<()> {
        self.end_session(digest).await
    }

    async fn prune_sessions(&self, created_before: i64, seen_before: i64) -> StoreResult<u64> {
        self.expire_sessions(created_before, seen_before).await
    }

    async fn append_audit(&self, event: &AuditEvent, key: &AuditKey) -> StoreResult<AuditRecord> {
        self.append_audit_event(event, key).await
    }

    async fn list_audit(
        &self,
        org_id: Uuid,
        query: &AuditQuery,
    ) -> StoreResult<(Vec<AuditRecord>, u64)> {
        self.audit_page(org_id, query).await
    }

    async fn audit_records(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditRecord>> {
        self.audit_chain_page(after_seq, limit).await
    }

    async fn audit_head(&self) -> StoreResult<Option<AuditHead>> {
        self.audit_head_row().await
    }

    async fn change_seq(&self) -> StoreResult<i64> {
        self.newest_seq().await
    }

    async fn api_keys_after(&self, after: Option<Uuid>, limit: u32) -> StoreResult<Vec<ApiKey>> {
        let rows = self.page_by_id("api_keys", after, limit).await?;
        rows.iter().map(api_key_from).collect()
    }

    async fn app_key_entries(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(KeyDigest, AppKeyEntry)>> {
        self.app_key_page(after, limit).await
    }

    async fn user_entries(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(Uuid, UserEntry)>> {
        self.user_page(after, limit).await
    }

    async fn client_token_entries(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(KeyDigest, ClientTokenEntry)>> {
        self.client_token_entry_page(after, limit).await
    }

    async fn changes_since(&self, seq: i64, limit: u32) -> StoreResult<Vec<Change>> {
        self.log_after(seq, limit).await
    }

    async fn prune_changes(&self, before: i64) -> StoreResult<u64> {
        self.prune_log(before).await
    }

    async fn import_users(&self, users: &[User]) -> StoreResult<()> {
        self.insert_users(users).await
    }

    async fn import_api_keys(&self, keys: &[ApiKey]) -> StoreResult<()> {
        self.insert_api_keys(keys).await
    }

    async fn import_application_keys(&self, keys: &[ApplicationKey]) -> StoreResult<()> {
        self.insert_application_keys(keys).await
    }

    async fn import_client_tokens(&self, tokens: &[ClientToken]) -> StoreResult<()> {
        self.insert_client_tokens(tokens).await
    }

    async fn record_usage(
        &self,
        api_keys: &[(Uuid, i64)],
        app_keys: &[(Uuid, i64)],
    ) -> StoreResult<()> {
        self.write_usage(api_keys, app_keys).await
    }

    async fn create_role(&self, role: &RoleRecord) -> StoreResult<()> {
        self.insert_role(role).await
    }

    async fn get_role(&self, org_id: Uuid, id: Uuid) -> StoreResult<RoleRecord> {
        self.role(org_id, id).await
    }

    async fn list_roles(&self, org_id: Uuid) -> StoreResult<Vec<RoleRecord>> {
        self.roles_of_org(org_id).await
    }

    async fn update_role(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &RoleChange,
        modified_at: i64,
    ) -> StoreResult<RoleRecord> {
        self.change_role(org_id, id, change, modified_at).await
    }

    async fn delete_role(&self, org_id: Uuid, id: Uuid, modified_at: i64) -> StoreResult<()> {
        self.remove_role(org_id, id, modified_at).await
    }

    async fn set_user_role(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        role_id: Uuid,
        held: bool,
        modified_at: i64,
    ) -> StoreResult<User> {
        self.grant_user_role(org_id, user_id, role_id, held, modified_at)
            .await
    }

    async fn role_entries(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(Uuid, RoleEntry)>> {
        self.role_entry_page(after, limit).await
    }
}
