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

mod access_tokens;
mod api_keys;
mod application_keys;
mod audit;
mod client_tokens;
mod feed;
mod import;
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
use super::{ChangeFeed, Store, StoreError, StoreResult};
use crate::domain::list::Page;
use crate::domain::name::unique_name;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, QueryBuilder, Row, Transaction};
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

    /// Rows of `table` in id order after `after` (keyset paging: no OFFSET scans).
    async fn page_by_id(
        &self,
        table: &str,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<PgRow>> {
        let sql = format!(
            "SELECT * FROM {table} WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2"
        );
        Ok(sqlx::query(&sql)
            .bind(after)
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
        from_row: fn(&PgRow) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT * FROM {table} WHERE org_id = $1 AND id = ANY($2)");
        let rows = sqlx::query(&sql)
            .bind(org_id)
            .bind(ids)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// One page of `table` rows matching `filter` in `order`, and the number of rows the
    /// filter matched.
    async fn paged<'a, T>(
        &self,
        table: &str,
        filter: impl Fn(&mut QueryBuilder<'a, Postgres>),
        order: &str,
        page: Page,
        from_row: fn(&PgRow) -> StoreResult<T>,
    ) -> StoreResult<(Vec<T>, u64)> {
        let (mut count, mut rows) = page_queries(table, filter, order, page);
        let matched: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
        let rows = rows.build().fetch_all(&self.pool).await?;
        let items = rows.iter().map(from_row).collect::<StoreResult<_>>()?;
        Ok((items, to_u64(matched)))
    }

    /// Deletes the organization's row `id` of `table` (a key or token), or `NotFound`.
    async fn delete_row(&self, table: &str, org_id: Uuid, id: Uuid) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query(&format!(
            "DELETE FROM {table} WHERE org_id = $1 AND id = $2"
        ))
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
}

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
}

/// PostgreSQL has a `uuid` type.
impl Uuids for PgRow {
    fn uuid(&self, col: &str) -> StoreResult<Uuid> {
        Ok(self.try_get(col)?)
    }

    fn opt_uuid(&self, col: &str) -> StoreResult<Option<Uuid>> {
        Ok(self.try_get(col)?)
    }
}

impl Dialect for Postgres {
    /// SQLite's `lower()` folds ASCII letters only; `lower()` under the "C" collation does
    /// the same, so user names filter and sort alike on both backends.
    const USER_NAME_FOLDED: &'static str = "lower(coalesce(name, '') COLLATE \"C\")";

    fn push_id(qb: &mut QueryBuilder<'_, Self>, id: Uuid) {
        qb.push_bind(id);
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
    /// PostgreSQL text cannot hold NUL, so a needle with one (which SQLite would just fail
    /// to find) matches nothing instead of failing the query.
    fn push_contains(qb: &mut QueryBuilder<'_, Self>, column: &str, needle: String) {
        if needle.contains('\0') {
            qb.push("FALSE");
        } else {
            qb.push(format!("strpos({column}, "))
                .push_bind(needle)
                .push(") > 0");
        }
    }
    fn push_equals(qb: &mut QueryBuilder<'_, Self>, column: &str, value: String) {
        if value.contains('\0') {
            qb.push("FALSE");
        } else {
            qb.push(format!("{column} = ")).push_bind(value);
        }
    }
}
