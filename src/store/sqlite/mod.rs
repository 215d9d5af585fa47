//! The embedded backend: one SQLite file in WAL mode with `synchronous=FULL`, so a
//! committed write (and so every acknowledged response) survives a crash or power loss.
//!
//! Writes of keys, tokens and audit records go through the group committer, which puts the
//! writes waiting at one moment into one transaction; the rarer writes (users, organizations,
//! sessions, usage) take the writer slot directly. The committer holds the same slot for each
//! transaction, so the two never interleave.

mod audit;
mod client_tokens;
mod group_commit;
mod roles;
mod sessions;

use super::{Store, StoreError, StoreResult};
use crate::domain::api_key::{ApiKey, ApiKeyChange, ApiKeyQuery, ApiKeySortField};
use crate::domain::application_key::{
    ApplicationKey, ApplicationKeyChange, ApplicationKeyQuery, ApplicationKeySortField,
};
use crate::domain::audit::{AuditEvent, AuditHead, AuditKey, AuditQuery, AuditRecord};
use crate::domain::client_token::{ClientToken, ClientTokenChange, ClientTokenQuery};
use crate::domain::credential::{
    AppKeyEntry, Change, ChangeKind, ClientTokenEntry, OrgKeyEntry, RoleEntry, UserEntry,
};
use crate::domain::list::{Page, Sort};
use crate::domain::name::{fold, unique_name};
use crate::domain::org::Org;
use crate::domain::role::{RoleChange, RoleRecord};
use crate::domain::secret::KeyDigest;
use crate::domain::session::Session;
use crate::domain::user::{User, UserChange, UserQuery, UserSortField, UserStatus};
use crate::store::role_rows::{parse_roles, roles_text};
use async_trait::async_trait;
use group_commit::GroupCommit;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub struct SqliteStore {
    pool: SqlitePool,
    /// Key, token and audit writes, sharing commits.
    writes: GroupCommit,
    /// Writers queue here rather than in SQLite's busy handler, which sleeps in growing
    /// steps and turns write contention into long tail latencies.
    writer: Arc<tokio::sync::Mutex<()>>,
}

/// A write transaction holding the writer slot until it commits or drops.
struct WriteTx {
    tx: sqlx::Transaction<'static, Sqlite>,
    _slot: tokio::sync::OwnedMutexGuard<()>,
}

impl WriteTx {
    async fn commit(self) -> StoreResult<()> {
        Ok(self.tx.commit().await?)
    }
}

impl std::ops::Deref for WriteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }
}

impl SqliteStore {
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Checkpoint every ~40 MB of WAL instead of every 4 MB: a checkpoint runs inside
            // the committing writer, so fewer of them keep write latency even.
            .pragma("wal_autocheckpoint", "10000")
            .pragma("journal_size_limit", "67108864");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // sqlx's default waits 30 s for a connection; a file that cannot be opened
            // should answer 503 while the client still waits.
            .acquire_timeout(Duration::from_secs(2))
            // A COMMIT refused by a full disk or an I/O error ends the transaction inside
            // SQLite, so sqlx's rollback on drop fails and the connection would come back
            // still counting an open transaction: every later write on it failed ("begin_with
            // at non-zero transaction depth", a 500) until a restart. Such a connection is
            // replaced instead. (The ping before this check lets the pending rollback land.)
            .before_acquire(|conn, _| {
                Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
            })
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        fill_unique_names(&pool).await?;
        let writer = Arc::default();
        Ok(Self {
            writes: GroupCommit::start(pool.clone(), Arc::clone(&writer)),
            pool,
            writer,
        })
    }

    /// A write transaction that takes SQLite's write lock up front, so a count and the
    /// write that depends on it cannot interleave with another writer.
    /// Rows of `table` in id order after `after` (keyset paging: no OFFSET scans).
    async fn page_by_id(
        &self,
        table: &str,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<SqliteRow>> {
        let sql = format!("SELECT * FROM {table} WHERE id > ? ORDER BY id LIMIT ?");
        Ok(sqlx::query(&sql)
            .bind(after.map(|a| a.to_string()).unwrap_or_default())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
    }

    /// Digest and organization of each client token, by id.
    async fn client_token_entry_page(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(KeyDigest, OrgKeyEntry)>> {
        let rows = self.page_by_id("client_tokens", after, limit).await?;
        rows.iter()
            .map(|row| {
                let entry = OrgKeyEntry {
                    id: uuid_col(row, "id")?,
                    org_id: uuid_col(row, "org_id")?,
                };
                Ok((digest_col(row)?, entry))
            })
            .collect()
    }

    /// The rows of `table` among `ids` that belong to the organization, in no order.
    async fn rows_by_ids<T>(
        &self,
        table: &str,
        org_id: Uuid,
        ids: &[Uuid],
        from_row: fn(&SqliteRow) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // `+org_id` keeps the planner on the primary key: with bound parameters it otherwise
        // picks an (org_id, ...) index and walks every row of the organization.
        let mut qb = QueryBuilder::<Sqlite>::new(format!("SELECT * FROM {table} WHERE +org_id = "));
        qb.push_bind(org_id.to_string()).push(" AND id IN (");
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(id.to_string());
        }
        qb.push(")");
        let rows = qb.build().fetch_all(&self.pool).await?;
        rows.iter().map(from_row).collect()
    }

    /// Deletes the organization's row `id` of `table` (a key or token), or `NotFound`.
    async fn delete_row(&self, table: &'static str, org_id: Uuid, id: Uuid) -> StoreResult<()> {
        self.writes
            .run(move |conn| {
                Box::pin(async move {
                    let sql = format!("DELETE FROM {table} WHERE org_id = ? AND id = ?");
                    let deleted = sqlx::query(&sql)
                        .bind(org_id.to_string())
                        .bind(id.to_string())
                        .execute(&mut *conn)
                        .await?;
                    if deleted.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                })
            })
            .await
    }

    /// The writer slot, for a write that is a single (implicitly transactional) statement.
    async fn write_slot(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.writer.clone().lock_owned().await
    }

    async fn begin_write(&self) -> StoreResult<WriteTx> {
        let slot = self.write_slot().await;
        Ok(WriteTx {
            tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
            _slot: slot,
        })
    }
}

fn uuid_col(row: &SqliteRow, col: &str) -> StoreResult<Uuid> {
    let text: String = row.try_get(col)?;
    Uuid::parse_str(&text).map_err(|e| StoreError::Backend(format!("{col}: {e}")))
}

fn opt_uuid_col(row: &SqliteRow, col: &str) -> StoreResult<Option<Uuid>> {
    let text: Option<String> = row.try_get(col)?;
    text.map(|t| Uuid::parse_str(&t).map_err(|e| StoreError::Backend(format!("{col}: {e}"))))
        .transpose()
}

fn digest_col(row: &SqliteRow) -> StoreResult<KeyDigest> {
    digest_of(row.try_get("digest")?)
}

fn org_from(row: &SqliteRow) -> StoreResult<Org> {
    Ok(Org {
        id: uuid_col(row, "id")?,
        name: row.try_get("name")?,
        one_time_read: row.try_get("one_time_read")?,
        created_at: row.try_get("created_at")?,
        num: crate::store::org_num(row.try_get("num")?)?,
    })
}

fn digest_of(bytes: Vec<u8>) -> StoreResult<KeyDigest> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| StoreError::Backend("digest is not 32 bytes".into()))?;
    Ok(KeyDigest(arr))
}

fn scopes_json(scopes: &Option<Vec<String>>) -> StoreResult<Option<String>> {
    scopes
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Backend(e.to_string()))
}

fn user_from(row: &SqliteRow) -> StoreResult<User> {
    let roles = parse_roles(&row.try_get::<String, _>("roles")?)?;
    let status: String = row.try_get("status")?;
    Ok(User {
        id: uuid_col(row, "id")?,
        org_id: uuid_col(row, "org_id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        handle: row.try_get("handle")?,
        title: row.try_get("title")?,
        roles,
        status: UserStatus::parse(&status)
            .ok_or_else(|| StoreError::Backend(format!("status {status}")))?,
        service_account: row.try_get("service_account")?,
        password_hash: row.try_get("password_hash")?,
        created_at: row.try_get("created_at")?,
        modified_at: row.try_get("modified_at")?,
    })
}

fn api_key_from(row: &SqliteRow) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: uuid_col(row, "id")?,
        org_id: uuid_col(row, "org_id")?,
        name: row.try_get("name")?,
        digest: digest_col(row)?,
        sealed_key: row.try_get("sealed_key")?,
        last4: row.try_get("last4")?,
        category: row.try_get("category")?,
        remote_config_read_enabled: row.try_get("remote_config_read_enabled")?,
        created_by: uuid_col(row, "created_by")?,
        modified_by: opt_uuid_col(row, "modified_by")?,
        created_at: row.try_get("created_at")?,
        modified_at: row.try_get("modified_at")?,
        date_last_used: row.try_get("date_last_used")?,
    })
}

fn app_key_from(row: &SqliteRow) -> StoreResult<ApplicationKey> {
    let scopes: Option<String> = row.try_get("scopes")?;
    let scopes = scopes
        .map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Backend(e.to_string())))
        .transpose()?;
    Ok(ApplicationKey {
        id: uuid_col(row, "id")?,
        org_id: uuid_col(row, "org_id")?,
        owner_id: uuid_col(row, "owner_id")?,
        name: row.try_get("name")?,
        digest: digest_col(row)?,
        sealed_key: row.try_get("sealed_key")?,
        last4: row.try_get("last4")?,
        scopes,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

type SqliteQuery<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

fn insert_org(org: &Org) -> SqliteQuery<'_> {
    sqlx::query(
        "INSERT INTO orgs (id, name, one_time_read, created_at, num) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(org.id.to_string())
    .bind(&org.name)
    .bind(org.one_time_read)
    .bind(org.created_at)
    .bind(org.num.map(i64::from))
}

/// The insert of `user`; on the pool or inside a transaction.
fn insert_user(user: &User) -> SqliteQuery<'_> {
    sqlx::query(
        "INSERT INTO users (id, org_id, email, name, handle, title, roles, status, disabled, \
         service_account, password_hash, created_at, modified_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
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

/// The insert of `key` unless its organization holds `max_per_org` keys already (the check
/// and the insert are one statement).
fn insert_api_key(key: &ApiKey, max_per_org: u64) -> SqliteQuery<'_> {
    sqlx::query(
        "INSERT INTO api_keys (id, org_id, name, name_folded, unique_name, digest, sealed_key, \
         last4, category, remote_config_read_enabled, created_by, modified_by, created_at, \
         modified_at, date_last_used) \
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? \
         WHERE (SELECT api_key_count FROM orgs WHERE id = ?) < ?",
    )
    .bind(key.id.to_string())
    .bind(key.org_id.to_string())
    .bind(&key.name)
    .bind(fold(&key.name))
    .bind(unique_name(&key.name))
    .bind(key.digest.0.as_slice())
    .bind(&key.sealed_key)
    .bind(&key.last4)
    .bind(&key.category)
    .bind(key.remote_config_read_enabled)
    .bind(key.created_by.to_string())
    .bind(key.modified_by.map(|u| u.to_string()))
    .bind(key.created_at)
    .bind(key.modified_at)
    .bind(key.date_last_used)
    .bind(key.org_id.to_string())
    .bind(i64::try_from(max_per_org).unwrap_or(i64::MAX))
}

/// The insert of `key` unless its owner holds `max_per_owner` keys already.
fn insert_app_key(
    key: &ApplicationKey,
    scopes: Option<String>,
    max_per_owner: u64,
) -> SqliteQuery<'_> {
    sqlx::query(
        "INSERT INTO application_keys (id, org_id, owner_id, name, name_folded, unique_name, \
         digest, sealed_key, last4, scopes, created_at, last_used_at) \
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? \
         WHERE (SELECT app_key_count FROM users WHERE id = ?) < ? \
         AND (SELECT disabled FROM users WHERE id = ?) = 0",
    )
    .bind(key.id.to_string())
    .bind(key.org_id.to_string())
    .bind(key.owner_id.to_string())
    .bind(&key.name)
    .bind(fold(&key.name))
    .bind(unique_name(&key.name))
    .bind(key.digest.0.as_slice())
    .bind(&key.sealed_key)
    .bind(&key.last4)
    .bind(scopes)
    .bind(key.created_at)
    .bind(key.last_used_at)
    .bind(key.owner_id.to_string())
    .bind(i64::try_from(max_per_owner).unwrap_or(i64::MAX))
    .bind(key.owner_id.to_string())
}

/// For each other enabled human admin of the organization (`?1` org, `?2` the one being
/// disabled): whether it can act, i.e. signed in once, holds a password or an application key.
/// A Pending admin with none of these cannot manage the organization.
const OTHER_ADMINS_CAN_ACT: &str = "SELECT (status = 'Active' OR password_hash IS NOT NULL \
     OR app_key_count > 0) FROM users WHERE org_id = ? AND id <> ? \
     AND ',' || roles || ',' LIKE '%,admin,%' AND disabled = 0 AND service_account = 0";

/// Fills `unique_name` for rows written before migration 0004 (SQL cannot fold Unicode).
/// A row whose name is a look-alike of one filled before it keeps NULL: it goes on working,
/// and the first of them holds the name. One transaction; a refused row only skips itself.
async fn fill_unique_names(pool: &SqlitePool) -> StoreResult<()> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    for table in ["api_keys", "application_keys", "client_tokens"] {
        let rows: Vec<(String, String)> = sqlx::query_as(&format!(
            "SELECT id, name FROM {table} WHERE unique_name IS NULL ORDER BY created_at, id"
        ))
        .fetch_all(&mut *tx)
        .await?;
        for (id, name) in rows {
            let filled = sqlx::query(&format!(
                "UPDATE {table} SET unique_name = ? WHERE id = ? AND unique_name IS NULL"
            ))
            .bind(unique_name(&name))
            .bind(&id)
            .execute(&mut *tx)
            .await;
            match filled.map_err(StoreError::from) {
                Ok(_) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

fn to_u64(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0)
}

/// The WHERE clause both key lists share: organization, name substring, creation window.
fn push_key_filter(
    qb: &mut QueryBuilder<'_, Sqlite>,
    org_id: Uuid,
    name_contains: &Option<String>,
    created_from: Option<i64>,
    created_to: Option<i64>,
) {
    qb.push(" WHERE org_id = ").push_bind(org_id.to_string());
    if let Some(needle) = name_contains {
        qb.push(" AND instr(name_folded, ")
            .push_bind(fold(needle))
            .push(") > 0");
    }
    if let Some(t) = created_from {
        qb.push(" AND created_at >= ").push_bind(t);
    }
    if let Some(t) = created_to {
        qb.push(" AND created_at <= ").push_bind(t);
    }
}

/// Appends the WHERE clause of an API key list; shared by the page and its count.
fn push_api_key_filter(qb: &mut QueryBuilder<'_, Sqlite>, org_id: Uuid, query: &ApiKeyQuery) {
    let f = &query.filter;
    push_key_filter(qb, org_id, &f.name_contains, f.created_from, f.created_to);
    if let Some(t) = f.modified_from {
        qb.push(" AND modified_at >= ").push_bind(t);
    }
    if let Some(t) = f.modified_to {
        qb.push(" AND modified_at <= ").push_bind(t);
    }
    if let Some(b) = f.remote_config_read_enabled {
        qb.push(" AND remote_config_read_enabled = ").push_bind(b);
    }
    if let Some(c) = &f.category {
        qb.push(" AND category = ").push_bind(c.clone());
    }
}

fn push_app_key_filter(
    qb: &mut QueryBuilder<'_, Sqlite>,
    org_id: Uuid,
    query: &ApplicationKeyQuery,
) {
    let f = &query.filter;
    push_key_filter(qb, org_id, &f.name_contains, f.created_from, f.created_to);
    if let Some(owner) = f.owner_id {
        qb.push(" AND owner_id = ").push_bind(owner.to_string());
    }
}

fn push_user_filter(qb: &mut QueryBuilder<'_, Sqlite>, org_id: Uuid, query: &UserQuery) {
    qb.push(" WHERE org_id = ").push_bind(org_id.to_string());
    if let Some(needle) = &query.filter {
        let needle = fold(needle);
        qb.push(" AND (instr(lower(coalesce(name, '')), ")
            .push_bind(needle.clone())
            .push(") > 0 OR instr(email, ")
            .push_bind(needle)
            .push(") > 0)");
    }
    if !query.statuses.is_empty() {
        qb.push(" AND status IN (");
        let mut list = qb.separated(", ");
        for status in &query.statuses {
            list.push_bind(status.as_str());
        }
        qb.push(")");
    }
}

impl SqliteStore {
    /// One page of `table` rows matching `filter`, ordered by `column` (then id, so pages
    /// are stable), and the number of rows the filter matched.
    async fn paged<T>(
        &self,
        table: &str,
        filter: impl Fn(&mut QueryBuilder<'_, Sqlite>),
        column: &str,
        sort: Sort<()>,
        page: Page,
        from_row: fn(&SqliteRow) -> StoreResult<T>,
    ) -> StoreResult<(Vec<T>, u64)> {
        let mut count = QueryBuilder::<Sqlite>::new(format!("SELECT COUNT(*) FROM {table}"));
        filter(&mut count);
        let matched: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
        let dir = if sort.descending { "DESC" } else { "ASC" };
        let mut rows = QueryBuilder::<Sqlite>::new(format!("SELECT * FROM {table}"));
        filter(&mut rows);
        rows.push(format!(" ORDER BY {column} {dir}, id {dir} LIMIT "))
            .push_bind(i64::from(page.size))
            .push(" OFFSET ")
            .push_bind(i64::try_from(page.offset()).unwrap_or(i64::MAX));
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
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn org_count(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orgs")
            .fetch_one(&self.pool)
            .await?;
        Ok(to_u64(n))
    }

    async fn create_org(&self, org: &Org) -> StoreResult<()> {
        insert_org(org).execute(&self.pool).await?;
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
        insert_org(org).execute(&mut *tx).await?;
        insert_user(admin).execute(&mut *tx).await?;
        // A new organization holds no key yet, so no limit can refuse these.
        insert_api_key(api_key, u64::MAX).execute(&mut *tx).await?;
        insert_app_key(app_key, scopes, u64::MAX)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    async fn get_org(&self, id: Uuid) -> StoreResult<Org> {
        let row = sqlx::query("SELECT * FROM orgs WHERE id = ?")
            .bind(id.to_string())
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
        let done = sqlx::query("UPDATE orgs SET one_time_read = ? WHERE id = ?")
            .bind(enabled)
            .bind(org_id.to_string())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let _slot = self.write_slot().await;
        insert_user(user).execute(&self.pool).await?;
        Ok(())
    }

    async fn get_user(&self, org_id: Uuid, id: Uuid) -> StoreResult<User> {
        let row = sqlx::query("SELECT * FROM users WHERE org_id = ? AND id = ?")
            .bind(org_id.to_string())
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await?;
        user_from(&row)
    }

    async fn find_user_by_email(&self, org_id: Uuid, email: &str) -> StoreResult<User> {
        let row = sqlx::query("SELECT * FROM users WHERE org_id = ? AND email = ?")
            .bind(org_id.to_string())
            .bind(email)
            .fetch_one(&self.pool)
            .await?;
        user_from(&row)
    }

    async fn users_by_email(&self, email: &str) -> StoreResult<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users WHERE email = ? ORDER BY created_at, id")
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
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE org_id = ?")
            .bind(org_id.to_string())
            .fetch_one(&self.pool)
            .await?;
        let column = match query.sort.field {
            UserSortField::Name => "lower(coalesce(name, ''))",
            UserSortField::Email => "email",
            UserSortField::CreatedAt => "created_at",
            UserSortField::ModifiedAt => "modified_at",
            UserSortField::Status => "status",
        };
        let filter = |qb: &mut QueryBuilder<'_, Sqlite>| push_user_filter(qb, org_id, query);
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
        let row = sqlx::query("SELECT * FROM users WHERE org_id = ? AND id = ?")
            .bind(org_id.to_string())
            .bind(id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        let mut user = user_from(&row)?;
        if crate::store::last_admin_at_stake(&user, change) {
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
            "UPDATE users SET email = ?, handle = ?, name = ?, title = ?, status = ?, \
             disabled = ?, password_hash = ?, modified_at = ? WHERE org_id = ? AND id = ?",
        )
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
            // Each deleted key is logged by its trigger, so every node drops it at once.
            sqlx::query("DELETE FROM application_keys WHERE org_id = ? AND owner_id = ?")
                .bind(org_id.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    async fn create_api_key(&self, key: &ApiKey, max_per_org: u64) -> StoreResult<()> {
        let key = key.clone();
        self.writes
            .run(move |conn| {
                Box::pin(async move {
                    // One statement: the limit check and the insert are atomic, and the
                    // triggers keep the count and the change log in the same transaction.
                    let inserted = insert_api_key(&key, max_per_org)
                        .execute(&mut *conn)
                        .await?;
                    if inserted.rows_affected() == 0 {
                        let count: i64 =
                            sqlx::query_scalar("SELECT api_key_count FROM orgs WHERE id = ?")
                                .bind(key.org_id.to_string())
                                .fetch_one(&mut *conn)
                                .await?;
                        return Err(StoreError::LimitReached {
                            count: to_u64(count),
                        });
                    }
                    Ok(())
                })
            })
            .await
    }

    async fn get_api_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<ApiKey> {
        let row = sqlx::query("SELECT * FROM api_keys WHERE org_id = ? AND id = ?")
            .bind(org_id.to_string())
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await?;
        api_key_from(&row)
    }

    async fn find_api_key(&self, digest: &KeyDigest) -> StoreResult<Option<ApiKey>> {
        let row = sqlx::query("SELECT * FROM api_keys WHERE digest = ?")
            .bind(digest.0.as_slice())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(api_key_from).transpose()
    }

    async fn api_keys_by_ids(&self, org_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<ApiKey>> {
        self.rows_by_ids("api_keys", org_id, ids, api_key_from)
            .await
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
        let filter = |qb: &mut QueryBuilder<'_, Sqlite>| push_api_key_filter(qb, org_id, query);
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
        let change = change.clone();
        self.writes
            .run(move |conn| {
                Box::pin(async move {
                    let updated = sqlx::query(
                        "UPDATE api_keys SET name = ?, name_folded = ?, unique_name = ?, \
                         category = COALESCE(?, category), \
                         remote_config_read_enabled = COALESCE(?, remote_config_read_enabled), \
                         modified_by = ?, modified_at = ? WHERE org_id = ? AND id = ?",
                    )
                    .bind(change.name.as_str())
                    .bind(change.name.folded())
                    .bind(change.name.unique())
                    .bind(&change.category)
                    .bind(change.remote_config_read_enabled)
                    .bind(change.modified_by.to_string())
                    .bind(change.modified_at)
                    .bind(org_id.to_string())
                    .bind(id.to_string())
                    .execute(&mut *conn)
                    .await?;
                    if updated.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    let row = sqlx::query("SELECT * FROM api_keys WHERE org_id = ? AND id = ?")
                        .bind(org_id.to_string())
                        .bind(id.to_string())
                        .fetch_one(&mut *conn)
                        .await?;
                    let key = api_key_from(&row)?;
                    Ok(key)
                })
            })
            .await
    }

    async fn delete_api_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<()> {
        self.writes
            .run(move |conn| {
                Box::pin(async move {
                    let deleted = sqlx::query(
                        "DELETE FROM api_keys WHERE org_id = ? AND id = ? \
                         AND (SELECT api_key_count FROM orgs WHERE id = ?) > 1",
                    )
                    .bind(org_id.to_string())
                    .bind(id.to_string())
                    .bind(org_id.to_string())
                    .execute(&mut *conn)
                    .await?;
                    if deleted.rows_affected() > 0 {
                        return Ok(());
                    }
                    let exists: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM api_keys WHERE org_id = ? AND id = ?",
                    )
                    .bind(org_id.to_string())
                    .bind(id.to_string())
                    .fetch_one(&mut *conn)
                    .await?;
                    Err(if exists == 0 {
                        StoreError::NotFound
                    } else {
                        StoreError::LastKey
                    })
                })
            })
            .await
    }

    async fn create_application_key(
        &self,
        key: &ApplicationKey,
        max_per_owner: u64,
    ) -> StoreResult<()> {
        let key = key.clone();
        self.writes
            .run(move |conn| {
                Box::pin(async move {
                    let scopes = scopes_json(&key.scopes)?;
                    let inserted = insert_app_key(&key, scopes, max_per_owner)
                        .execute(&mut *conn)
                        .await?;
                    if inserted.rows_affected() == 0 {
                        // Which condition refused it: the owner's state, read in the same
                        // write, so a disable that committed first is seen here.
                        let disabled: Option<bool> =
                            sqlx::query_scalar("SELECT disabled FROM users WHERE id = ?")
                                .bind(key.owner_id.to_string())
                                .fetch_optional(&mut *conn)
                                .await?;
                        return Err(if disabled == Some(true) {
                            StoreError::OwnerDisabled
                        } else {
                            StoreError::LimitReached {
                                count: max_per_owner,
                            }
                        });
                    }
                    Ok(())
                })
            })
            .await
    }

    async fn get_application_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<ApplicationKey> {
        let row = sqlx::query("SELECT * FROM application_keys WHERE org_id = ? AND id = ?")
            .bind(org_id.to_string())
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await?;
        app_key_from(&row)
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
        let filter = |qb: &mut QueryBuilder<'_, Sqlite>| push_app_key_filter(qb, org_id, query);
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
        let change = change.clone();
        self.writes
            .run(move |conn| {
                Box::pin(async move {
                    let row =
                        sqlx::query("SELECT * FROM application_keys WHERE org_id = ? AND id = ?")
                            .bind(org_id.to_string())
                            .bind(id.to_string())
                            .fetch_one(&mut *conn)
                            .await?;
                    let mut key = app_key_from(&row)?;
                    if let Some(name) = &change.name {
                        key.name = name.as_str().to_owned();
                    }
                    if let Some(scopes) = &change.scopes {
                        key.scopes = scopes.clone();
                    }
                    let scopes = scopes_json(&key.scopes)?;
                    sqlx::query(
                        "UPDATE application_keys SET name = ?, name_folded = ?, \
                         unique_name = ?, scopes = ? \
                         WHERE org_id = ? AND id = ?",
                    )
                    .bind(&key.name)
                    .bind(fold(&key.name))
                    .bind(unique_name(&key.name))
                    .bind(scopes)
                    .bind(org_id.to_string())
                    .bind(id.to_string())
                    .execute(&mut *conn)
                    .await?;
                    Ok(key)
                })
            })
            .await
    }

    async fn delete_application_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<()> {
        self.delete_row("application_keys", org_id, id).await
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

    async fn client_token_entries(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(KeyDigest, ClientTokenEntry)>> {
        self.client_token_entry_page(after, limit).await
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
        let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM changes")
            .fetch_one(&self.pool)
            .await?;
        Ok(seq)
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
        let rows = self.page_by_id("application_keys", after, limit).await?;
        rows.iter()
            .map(|row| {
                let key = app_key_from(row)?;
                Ok((key.digest, AppKeyEntry::from(&key)))
            })
            .collect()
    }

    async fn user_entries(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(Uuid, UserEntry)>> {
        let rows = self.page_by_id("users", after, limit).await?;
        rows.iter()
            .map(|row| {
                let user = user_from(row)?;
                Ok((user.id, UserEntry::from(&user)))
            })
            .collect()
    }

    async fn changes_since(&self, seq: i64, limit: u32) -> StoreResult<Vec<Change>> {
        let rows = sqlx::query(
            "SELECT seq, kind, org_id, id, digest FROM changes WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(seq)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                let digest: Option<Vec<u8>> = row.try_get("digest")?;
                Ok(Change {
                    seq: row.try_get("seq")?,
                    kind: ChangeKind::parse(&kind)
                        .ok_or_else(|| StoreError::Backend(format!("change kind {kind}")))?,
                    org_id: uuid_col(row, "org_id")?,
                    id: uuid_col(row, "id")?,
                    digest: digest.map(digest_of).transpose()?,
                })
            })
            .collect()
    }

    async fn prune_changes(&self, before: i64) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM changes WHERE at < ? AND seq < (SELECT MAX(seq) FROM changes)",
        )
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn record_usage(
        &self,
        api_keys: &[(Uuid, i64)],
        app_keys: &[(Uuid, i64)],
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        for (id, at) in api_keys {
            sqlx::query(
                "UPDATE api_keys SET date_last_used = MAX(COALESCE(date_last_used, 0), ?) \
                 WHERE id = ?",
            )
            .bind(at)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        for (id, at) in app_keys {
            sqlx::query(
                "UPDATE application_keys SET last_used_at = MAX(COALESCE(last_used_at, 0), ?) \
                 WHERE id = ?",
            )
            .bind(at)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn find_application_key(
        &self,
        digest: &KeyDigest,
    ) -> StoreResult<Option<ApplicationKey>> {
        let row = sqlx::query("SELECT * FROM application_keys WHERE digest = ?")
            .bind(digest.0.as_slice())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(app_key_from).transpose()
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
