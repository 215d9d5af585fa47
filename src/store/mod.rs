//! Storage behind one trait. The backend is chosen once, from the database URL, and
//! injected as `Arc<dyn Store>`; nothing above this module names sqlx.

mod access_tokens;
mod api_keys;
mod application_keys;
mod audit;
mod client_tokens;
mod columns;
pub mod copy;
mod import;
mod invitations;
mod leaks;
mod log;
mod org_configs;
mod orgs;
mod postgres;
pub(crate) mod role_rows;
mod roles;
mod rotations;
mod sessions;
mod sqlite;
mod usage;
mod users;

use async_trait::async_trait;
use std::sync::Arc;

pub use access_tokens::AccessTokenStore;
pub use api_keys::ApiKeyStore;
pub use application_keys::ApplicationKeyStore;
pub use audit::AuditStore;
pub use client_tokens::ClientTokenStore;
pub use import::ImportStore;
pub use invitations::InvitationStore;
pub use leaks::LeakStore;
pub use log::ChangeLogStore;
pub use org_configs::{OrgConfigStore, StoredConfig};
pub use orgs::OrgStore;
pub use postgres::PostgresStore;
pub use roles::RoleStore;
pub use rotations::RotationStore;
pub use sessions::SessionStore;
pub use sqlite::SqliteStore;
pub use usage::UsageStore;
pub use users::UserStore;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; the field is `name`, `email` or `unique`.
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// The organization (API keys) or owner (application keys) holds the maximum already.
    #[error("limit reached ({count} keys)")]
    LimitReached { count: u64 },
    /// Deleting the organization's last API key.
    #[error("the organization's last API key")]
    LastKey,
    /// Disabling the organization's last admin who can act.
    #[error("the organization's last enabled admin")]
    LastAdmin,
    /// A key for an owner that is disabled (or was disabled meanwhile).
    #[error("the owner is disabled")]
    OwnerDisabled,
    /// The database cannot be reached or cannot take writes (a pool that timed out, a
    /// connection refused or reset, a server shutting down, a full or read-only disk): a
    /// condition of the installation, not of the request, that passes when the database is back.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                // PostgreSQL names the index ("api_keys_org_name"); SQLite names the columns
                // ("UNIQUE constraint failed: users.org_id, users.email").
                let culprit = db.constraint().unwrap_or_else(|| db.message());
                StoreError::Conflict(if culprit.ends_with("name") {
                    "name"
                } else if culprit.ends_with("email") {
                    "email"
                } else {
                    "unique"
                })
            }
            sqlx::Error::Database(db) if db.code().is_some_and(|c| unavailable_code(&c)) => {
                StoreError::Unavailable(err.to_string())
            }
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(err.to_string()),
            _ => StoreError::Backend(err.to_string()),
        }
    }
}

/// Whether a database error code says the database, not the statement, is at fault.
/// PostgreSQL reports a five-character SQLSTATE (often all digits); SQLite its extended
/// result code as a number of at most four digits, whose low byte is the primary code.
fn unavailable_code(code: &str) -> bool {
    if code.len() == 5 {
        // 08: connection exceptions; 53: insufficient resources (disk full, too many
        // connections); 57P0x: the server is shutting down or not yet accepting; 57014: a
        // statement cancelled by `statement_timeout`, i.e. a server too slow to answer.
        return code.starts_with("08")
            || code.starts_with("53")
            || code.starts_with("57P0")
            || code == "57014";
    }
    // SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN.
    const SQLITE: [i64; 4] = [8, 10, 13, 14];
    code.parse::<i64>()
        .is_ok_and(|extended| SQLITE.contains(&(extended & 0xff)))
}

/// Hints, pushed by the database, that the change log has grown (PostgreSQL's
/// LISTEN/NOTIFY). A hint only makes a node look sooner: nodes keep polling, so a lost hint
/// costs latency, never correctness.
#[async_trait]
pub trait ChangeFeed: Send {
    /// Opens the feed's own connection and subscribes, dropping any previous connection.
    async fn connect(&mut self) -> StoreResult<()>;
    /// Waits for the next hint. An error means the connection is gone and hints may have
    /// been missed; `connect` again.
    async fn next(&mut self) -> StoreResult<()>;
}

/// Everything a backend stores, one trait per resource (each in `store/<resource>.rs`, with
/// the row mapping both backends share), so a backend implements each resource in a file of
/// its own and nothing delegates. Calls on `dyn Store` reach every resource's methods.
pub trait Store:
    OrgStore
    + UserStore
    + ApiKeyStore
    + ApplicationKeyStore
    + ClientTokenStore
    + AccessTokenStore
    + SessionStore
    + AuditStore
    + ChangeLogStore
    + UsageStore
    + ImportStore
    + InvitationStore
    + OrgConfigStore
    + RoleStore
    + RotationStore
    + LeakStore
    + Send
    + Sync
{
    /// Which backend this is, for `/healthz` and logs.
    fn backend(&self) -> &'static str;

    /// A feed of change hints, for backends that push them; `None`: the node polls only.
    fn change_feed(&self) -> Option<Box<dyn ChangeFeed>> {
        None
    }
}

/// Opens the backend the URL names and brings its schema up to date.
pub async fn connect(database_url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if database_url.starts_with("sqlite:") {
        return Ok(Arc::new(SqliteStore::open(database_url).await?));
    }
    if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        return Ok(Arc::new(PostgresStore::open(database_url).await?));
    }
    anyhow::bail!("unsupported database URL scheme (expected sqlite: or postgres:)")
}

#[cfg(test)]
mod tests {
    use super::unavailable_code;

    #[test]
    fn connection_level_codes_are_unavailable() {
        // SQLite extended codes: SQLITE_FULL, SQLITE_READONLY_DBMOVED, SQLITE_IOERR_WRITE,
        // SQLITE_CANTOPEN; PostgreSQL: connection failure, admin shutdown, cannot connect now,
        // disk full, statement timeout.
        for code in [
            "13", "1032", "778", "14", "08006", "57P01", "57P03", "53100", "57014",
        ] {
            assert!(unavailable_code(code), "{code}");
        }
        // A constraint (SQLite 2067, PostgreSQL 23505), a syntax error, SQLITE_BUSY.
        for code in ["2067", "23505", "42601", "5", "1"] {
            assert!(!unavailable_code(code), "{code}");
        }
    }
}
