//! The embedded backend: one SQLite file in WAL mode with `synchronous=FULL`, so a
//! committed write (and so every acknowledged response) survives a crash or power loss.
//!
//! Writes of keys, tokens and audit records go through the group committer, which puts the
//! writes waiting at one moment into one transaction; the rarer writes (users, organizations,
//! sessions, usage) take the writer slot directly. The committer holds the same slot for each
//! transaction, so the two never interleave.

mod access_tokens;
mod api_keys;
mod application_keys;
mod audit;
mod bulk_read;
mod client_tokens;
mod group_commit;
mod invitations;
mod leaks;
mod log;
mod org_configs;
mod orgs;
mod roles;
mod rotations;
mod sessions;
mod usage;
mod users;

use super::columns::{page_queries, to_u64, Dialect, Uuids};
use super::{ImportStore, Store, StoreError, StoreResult};
use crate::domain::list::Page;
use crate::domain::name::unique_name;
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
    /// The database file, read directly at start-up (`bulk_read`); `None` in memory.
    file: Option<std::path::PathBuf>,
}

/// A statement with its binds, run on the pool or inside a transaction.
type SqliteQuery<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

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
        let options = SqliteConnectOptions::from_str(url)?;
        let file = Some(options.get_filename().to_path_buf()).filter(|f| {
            !f.as_os_str().is_empty() && f.as_os_str() != ":memory:" && !url.contains("mode=memory")
        });
        let options = options
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
            file,
        })
    }

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

    /// One page of `table` rows matching `filter` in `order`, and the number of rows the
    /// filter matched.
    async fn paged<'a, T>(
        &self,
        table: &str,
        filter: impl Fn(&mut QueryBuilder<'a, Sqlite>),
        order: &str,
        page: Page,
        from_row: fn(&SqliteRow) -> StoreResult<T>,
    ) -> StoreResult<(Vec<T>, u64)> {
        let (mut count, mut rows) = page_queries(table, filter, order, page);
        let matched: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
        let rows = rows.build().fetch_all(&self.pool).await?;
        let items = rows.iter().map(from_row).collect::<StoreResult<_>>()?;
        Ok((items, to_u64(matched)))
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

    /// A write transaction that takes SQLite's write lock up front, so a count and the
    /// write that depends on it cannot interleave with another writer.
    async fn begin_write(&self) -> StoreResult<WriteTx> {
        let slot = self.write_slot().await;
        Ok(WriteTx {
            tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
            _slot: slot,
        })
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

/// SQLite keeps the defaults: an import writes one row at a time through the creates.
impl ImportStore for SqliteStore {}

/// SQLite keeps uuids as text.
impl Uuids for SqliteRow {
    fn uuid(&self, col: &str) -> StoreResult<Uuid> {
        let text: String = self.try_get(col)?;
        Uuid::parse_str(&text).map_err(|e| StoreError::Backend(format!("{col}: {e}")))
    }

    fn opt_uuid(&self, col: &str) -> StoreResult<Option<Uuid>> {
        let text: Option<String> = self.try_get(col)?;
        text.map(|t| Uuid::parse_str(&t).map_err(|e| StoreError::Backend(format!("{col}: {e}"))))
            .transpose()
    }
}

impl Dialect for Sqlite {
    /// `lower()` folds ASCII letters only (PostgreSQL matches it under the "C" collation).
    const USER_NAME_FOLDED: &'static str = "lower(coalesce(name, ''))";

    fn push_id(qb: &mut QueryBuilder<'_, Self>, id: Uuid) {
        qb.push_bind(id.to_string());
    }
    fn push_int(qb: &mut QueryBuilder<'_, Self>, value: i64) {
        qb.push_bind(value);
    }
    fn push_flag(qb: &mut QueryBuilder<'_, Self>, value: bool) {
        qb.push_bind(value);
    }
    fn push_text(qb: &mut QueryBuilder<'_, Self>, value: &'static str) {
        qb.push_bind(value);
    }
    fn push_contains(qb: &mut QueryBuilder<'_, Self>, column: &str, needle: String) {
        qb.push(format!("instr({column}, "))
            .push_bind(needle)
            .push(") > 0");
    }
    fn push_equals(qb: &mut QueryBuilder<'_, Self>, column: &str, value: String) {
        qb.push(format!("{column} = ")).push_bind(value);
    }
}

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
