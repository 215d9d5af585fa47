//! Leaked credentials in the store: one row per credential, written once.

use super::columns::Columns;
use super::{StoreError, StoreResult};
use crate::domain::leak::{LeakKind, LeakedKey};
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
pub trait LeakStore: Send + Sync {
    /// Records `leak` unless its credential has a record already; whether this call wrote it
    /// (so only the first of concurrent reports acts on the key).
    async fn record_leak(&self, leak: &LeakedKey) -> StoreResult<bool>;
    /// The records of those of `credential_ids` that leaked, in `org_id`.
    async fn leaks_of(&self, org_id: Uuid, credential_ids: &[Uuid]) -> StoreResult<Vec<LeakedKey>>;
    /// Every leak record of `org_id`, oldest first (`keyplane migrate` copies them).
    async fn org_leaks(&self, org_id: Uuid) -> StoreResult<Vec<LeakedKey>>;
}

pub(super) const INSERT: &str = "INSERT INTO leaked_keys \
     (credential_id, id, org_id, credential_kind, leaked_at, leak_source) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (credential_id) DO NOTHING";
pub(super) const SELECT_IN_ORG: &str = "SELECT * FROM leaked_keys WHERE org_id = ";
pub(super) const LIST_IN_ORG: &str =
    "SELECT * FROM leaked_keys WHERE org_id = $1 ORDER BY leaked_at, credential_id";

/// A row of `leaked_keys`, the same on both backends.
pub(super) fn leak_from<R: Columns>(row: &R) -> StoreResult<LeakedKey> {
    let kind = row.text("credential_kind")?;
    Ok(LeakedKey {
        id: row.uuid("id")?,
        org_id: row.uuid("org_id")?,
        kind: LeakKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("unknown credential kind {kind:?}")))?,
        credential_id: row.uuid("credential_id")?,
        date: row.int("leaked_at")?,
        source: row.opt_text("leak_source")?,
    })
}
