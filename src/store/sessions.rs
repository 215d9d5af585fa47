//! Console sessions, found by the digest of the cookie's token: what a backend stores of
//! them, and the statements both dialects accept.

use super::columns::Columns;
use super::StoreResult;
use crate::domain::secret::KeyDigest;
use crate::domain::session::Session;
use async_trait::async_trait;

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, session: &Session) -> StoreResult<()>;
    async fn get_session(&self, digest: &KeyDigest) -> StoreResult<Option<Session>>;
    async fn touch_session(&self, digest: &KeyDigest, at: i64) -> StoreResult<()>;
    async fn delete_session(&self, digest: &KeyDigest) -> StoreResult<()>;
    /// Drops sessions created before `created_before` or idle since before `seen_before`.
    async fn prune_sessions(&self, created_before: i64, seen_before: i64) -> StoreResult<u64>;
}

pub(super) const INSERT: &str = "INSERT INTO sessions (digest, user_id, org_id, created_at, \
     last_seen_at) VALUES ($1, $2, $3, $4, $5)";
pub(super) const GET: &str = "SELECT * FROM sessions WHERE digest = $1";
pub(super) const DELETE: &str = "DELETE FROM sessions WHERE digest = $1";
pub(super) const EXPIRE: &str = "DELETE FROM sessions WHERE created_at < $1 OR last_seen_at < $2";

pub(super) fn session_from<R: Columns>(digest: KeyDigest, row: &R) -> StoreResult<Session> {
    Ok(Session {
        digest,
        user_id: row.uuid("user_id")?,
        org_id: row.uuid("org_id")?,
        created_at: row.int("created_at")?,
        last_seen_at: row.int("last_seen_at")?,
    })
}
