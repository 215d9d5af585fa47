//! The change log every node replays to keep its credential index in sync, and the pages of
//! credentials a node loads at start.

use super::columns::{digest_of, Columns};
use super::{StoreError, StoreResult};
use crate::domain::api_key::ApiKey;
use crate::domain::application_key::ApplicationKey;
use crate::domain::client_token::ClientToken;
use crate::domain::credential::{Change, ChangeKind, UserEntry};
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
pub trait ChangeLogStore: Send + Sync {
    /// The newest change-log position. Read it before paging through credentials and replay
    /// the log from it afterwards: rows changed meanwhile are then re-read.
    async fn change_seq(&self) -> StoreResult<i64>;
    /// Every API key as the credential index keeps it (`api_keys::indexed_api_key_from`: no
    /// sealed key, no authorship), handed to `sink` as it is read: one statement, in storage
    /// order. Pages in id order cost a random read per row on SQLite (~10 s per million keys).
    async fn each_api_key(&self, sink: &mut (dyn FnMut(ApiKey) + Send)) -> StoreResult<()>;
    /// Application keys in id order after `after`, at most `limit`.
    async fn application_keys_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<ApplicationKey>>;
    async fn user_entries(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(Uuid, UserEntry)>>;
    /// Client tokens in id order after `after`, at most `limit`.
    async fn client_tokens_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<ClientToken>>;
    /// Change-log entries after `seq`, oldest first, at most `limit`.
    async fn changes_since(&self, seq: i64, limit: u32) -> StoreResult<Vec<Change>>;
    /// Drops change-log entries older than `before` (micros), keeping the newest one.
    async fn prune_changes(&self, before: i64) -> StoreResult<u64>;
}

pub(super) const SINCE: &str =
    "SELECT seq, kind, org_id, id, digest FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2";
pub(super) const PRUNE: &str =
    "DELETE FROM changes WHERE at < $1 AND seq < (SELECT MAX(seq) FROM changes)";

pub(super) fn change_from<R: Columns>(row: &R) -> StoreResult<Change> {
    let kind = row.text("kind")?;
    Ok(Change {
        seq: row.int("seq")?,
        kind: ChangeKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("change kind {kind}")))?,
        org_id: row.uuid("org_id")?,
        id: row.uuid("id")?,
        digest: row.opt_bytes("digest")?.map(digest_of).transpose()?,
    })
}
