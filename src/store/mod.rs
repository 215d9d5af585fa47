//! Storage behind one trait. The backend is chosen once, from the database URL, and
//! injected as `Arc<dyn Store>`; nothing above this module names sqlx.

mod audit_rows;
pub mod copy;
mod postgres;
pub(crate) mod role_rows;
mod sqlite;

use crate::domain::api_key::{ApiKey, ApiKeyChange, ApiKeyQuery};
use crate::domain::application_key::{ApplicationKey, ApplicationKeyChange, ApplicationKeyQuery};
use crate::domain::audit::{AuditEvent, AuditHead, AuditKey, AuditQuery, AuditRecord};
use crate::domain::client_token::{ClientToken, ClientTokenChange, ClientTokenQuery};
use crate::domain::credential::{AppKeyEntry, Change, ClientTokenEntry, RoleEntry, UserEntry};
use crate::domain::org::Org;
use crate::domain::role::{RoleChange, RoleRecord};
use crate::domain::secret::KeyDigest;
use crate::domain::session::Session;
use crate::domain::user::{User, UserChange, UserQuery};
use async_trait::async_trait;
use std::sync::Arc;
use uuid::Uuid;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

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

/// Whether `change` disables `user` while it is an enabled human admin: then the store
/// checks, in the same transaction, that another admin who can act remains.
pub(crate) fn last_admin_at_stake(user: &User, change: &UserChange) -> bool {
    change.disabled == Some(true) && !user.disabled() && !user.service_account && user.is_admin()
}

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

/// An organization's number as both backends store it (an integer column, NULL only
/// before the store assigned it).
pub(crate) fn org_num(stored: Option<i64>) -> StoreResult<Option<u32>> {
    stored
        .map(|n| u32::try_from(n).map_err(|_| StoreError::Backend(format!("orgs.num {n}"))))
        .transpose()
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

#[async_trait]
pub trait Store: Send + Sync {
    /// Which backend this is, for `/healthz` and logs.
    fn backend(&self) -> &'static str;

    /// A feed of change hints, for backends that push them; `None`: the node polls only.
    fn change_feed(&self) -> Option<Box<dyn ChangeFeed>> {
        None
    }

    async fn org_count(&self) -> StoreResult<u64>;
    async fn create_org(&self, org: &Org) -> StoreResult<()>;
    /// An organization with its first admin, API key and application key, in one
    /// transaction: a crash stores all of it or none. (A first start killed between the
    /// organization and its admin left an installation that no recovery command could fix.)
    async fn create_organization(
        &self,
        org: &Org,
        admin: &User,
        api_key: &ApiKey,
        app_key: &ApplicationKey,
    ) -> StoreResult<()>;
    async fn get_org(&self, id: Uuid) -> StoreResult<Org>;
    async fn list_orgs(&self) -> StoreResult<Vec<Org>>;
    async fn set_one_time_read(&self, org_id: Uuid, enabled: bool) -> StoreResult<()>;

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

    /// Inserts the key unless the organization already has `max_per_org` keys, atomically.
    async fn create_api_key(&self, key: &ApiKey, max_per_org: u64) -> StoreResult<()>;
    async fn get_api_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<ApiKey>;
    async fn find_api_key(&self, digest: &KeyDigest) -> StoreResult<Option<ApiKey>>;
    /// The organization's keys among `ids`, in no particular order; unknown ids are skipped.
    async fn api_keys_by_ids(&self, org_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<ApiKey>>;
    /// One page of keys and the number of keys the filter matched.
    async fn list_api_keys(
        &self,
        org_id: Uuid,
        query: &ApiKeyQuery,
    ) -> StoreResult<(Vec<ApiKey>, u64)>;
    async fn update_api_key(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &ApiKeyChange,
    ) -> StoreResult<ApiKey>;
    /// Deletes the key unless it is the organization's last, atomically.
    async fn delete_api_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<()>;

    /// Inserts the key unless its owner already has `max_per_owner` keys, atomically.
    async fn create_application_key(
        &self,
        key: &ApplicationKey,
        max_per_owner: u64,
    ) -> StoreResult<()>;
    async fn get_application_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<ApplicationKey>;
    async fn find_application_key(&self, digest: &KeyDigest)
        -> StoreResult<Option<ApplicationKey>>;
    async fn list_application_keys(
        &self,
        org_id: Uuid,
        query: &ApplicationKeyQuery,
    ) -> StoreResult<(Vec<ApplicationKey>, u64)>;
    async fn update_application_key(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &ApplicationKeyChange,
    ) -> StoreResult<ApplicationKey>;
    async fn delete_application_key(&self, org_id: Uuid, id: Uuid) -> StoreResult<()>;

    async fn create_client_token(&self, token: &ClientToken) -> StoreResult<()>;
    async fn get_client_token(&self, org_id: Uuid, id: Uuid) -> StoreResult<ClientToken>;
    async fn find_client_token(&self, digest: &KeyDigest) -> StoreResult<Option<ClientToken>>;
    /// One page of tokens and the number the filter matched.
    async fn list_client_tokens(
        &self,
        org_id: Uuid,
        query: &ClientTokenQuery,
    ) -> StoreResult<(Vec<ClientToken>, u64)>;
    async fn update_client_token(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &ClientTokenChange,
    ) -> StoreResult<ClientToken>;
    async fn delete_client_token(&self, org_id: Uuid, id: Uuid) -> StoreResult<()>;

    async fn create_session(&self, session: &Session) -> StoreResult<()>;
    async fn get_session(&self, digest: &KeyDigest) -> StoreResult<Option<Session>>;
    async fn touch_session(&self, digest: &KeyDigest, at: i64) -> StoreResult<()>;
    async fn delete_session(&self, digest: &KeyDigest) -> StoreResult<()>;
    /// Drops sessions created before `created_before` or idle since before `seen_before`.
    async fn prune_sessions(&self, created_before: i64, seen_before: i64) -> StoreResult<u64>;

    /// Appends to the audit trail, linking the record to the one before by a MAC under `key`
    /// and signing the new head; appends from all nodes are serialized so the chain has one
    /// order. Refuses (`Backend`) to extend a head whose MAC does not verify.
    async fn append_audit(&self, event: &AuditEvent, key: &AuditKey) -> StoreResult<AuditRecord>;
    /// One page of the organization's audit records, newest first, and how many matched.
    async fn list_audit(
        &self,
        org_id: Uuid,
        query: &AuditQuery,
    ) -> StoreResult<(Vec<AuditRecord>, u64)>;
    /// Every organization's records in chain order after `after_seq`, at most `limit`.
    async fn audit_records(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditRecord>>;
    /// The newest record's position and MAC, with the head's own MAC.
    async fn audit_head(&self) -> StoreResult<Option<AuditHead>>;

    /// The newest change-log position. Read it before paging through credentials and replay
    /// the log from it afterwards: rows changed meanwhile are then re-read.
    async fn change_seq(&self) -> StoreResult<i64>;
    /// API keys in id order after `after`, at most `limit`.
    async fn api_keys_after(&self, after: Option<Uuid>, limit: u32) -> StoreResult<Vec<ApiKey>>;
    async fn app_key_entries(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(KeyDigest, AppKeyEntry)>>;
    async fn user_entries(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(Uuid, UserEntry)>>;
    async fn client_token_entries(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(KeyDigest, ClientTokenEntry)>>;
    /// Change-log entries after `seq`, oldest first, at most `limit`.
    async fn changes_since(&self, seq: i64, limit: u32) -> StoreResult<Vec<Change>>;
    /// Drops change-log entries older than `before` (micros), keeping the newest one.
    async fn prune_changes(&self, before: i64) -> StoreResult<u64>;
    /// Inserts users copied from another installation as they are (`keyplane migrate`). The
    /// default writes one at a time; a backend may write the batch at once.
    async fn import_users(&self, users: &[User]) -> StoreResult<()> {
        for user in users {
            self.create_user(user).await?;
        }
        Ok(())
    }
    /// Inserts copied API keys as they are, whatever the organization's key limit.
    async fn import_api_keys(&self, keys: &[ApiKey]) -> StoreResult<()> {
        for key in keys {
            self.create_api_key(key, u64::MAX).await?;
        }
        Ok(())
    }
    /// Inserts copied application keys as they are, whatever the owner's key limit.
    async fn import_application_keys(&self, keys: &[ApplicationKey]) -> StoreResult<()> {
        for key in keys {
            self.create_application_key(key, u64::MAX).await?;
        }
        Ok(())
    }
    /// Inserts copied client tokens as they are.
    async fn import_client_tokens(&self, tokens: &[ClientToken]) -> StoreResult<()> {
        for token in tokens {
            self.create_client_token(token).await?;
        }
        Ok(())
    }
    /// Custom roles; managed roles are not stored. Names need not be unique.
    async fn create_role(&self, role: &RoleRecord) -> StoreResult<()>;
    async fn get_role(&self, org_id: Uuid, id: Uuid) -> StoreResult<RoleRecord>;
    /// The organization's custom roles, by name.
    async fn list_roles(&self, org_id: Uuid) -> StoreResult<Vec<RoleRecord>>;
    async fn update_role(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &RoleChange,
        modified_at: i64,
    ) -> StoreResult<RoleRecord>;
    /// Deletes the role and takes it from every user holding it, in one transaction.
    async fn delete_role(&self, org_id: Uuid, id: Uuid, modified_at: i64) -> StoreResult<()>;
    /// Gives the user `role_id` (`held`) or takes it away. Taking Admin from the
    /// organization's last enabled admin who can act is refused (`LastAdmin`), checked in
    /// the same transaction as disabling is.
    async fn set_user_role(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        role_id: Uuid,
        held: bool,
        modified_at: i64,
    ) -> StoreResult<User>;
    /// Custom roles in id order after `after`, at most `limit`.
    async fn role_entries(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(Uuid, RoleEntry)>>;
    /// Records when keys were last used; `(id, micros)` pairs, applied in one transaction.
    async fn record_usage(
        &self,
        api_keys: &[(Uuid, i64)],
        app_keys: &[(Uuid, i64)],
    ) -> StoreResult<()>;
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
