//! The audit trail: what a backend stores of it, and its columns, statements and list
//! filter, the same on both backends: hashes are 32-byte blobs, `via` a short text, the head
//! one row. Each backend's module keeps only how appends are serialized.

use super::columns::{push_window, Columns, Dialect};
use super::{StoreError, StoreResult};
use crate::domain::audit::{
    Action, AuditEvent, AuditHead, AuditKey, AuditQuery, AuditRecord, Broken, Hash, Via,
};
use async_trait::async_trait;
use sqlx::QueryBuilder;
use uuid::Uuid;

#[async_trait]
pub trait AuditStore: Send + Sync {
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
}

pub(super) const HEAD: &str = "SELECT seq, hash, keyed_from, mac FROM audit_head WHERE id = 1";
pub(super) const INSERT_EVENT: &str = "INSERT INTO audit_events (seq, at, org_id, actor_id, \
     action, target_id, source, prev_hash, hash, via, credential_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
pub(super) const UPSERT_HEAD: &str = "INSERT INTO audit_head (id, seq, hash, keyed_from, mac) \
     VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, \
     hash = excluded.hash, keyed_from = excluded.keyed_from, mac = excluded.mac";
pub(super) const CHAIN_PAGE: &str =
    "SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2";
/// Newest first; seq is unique, so pages are stable.
pub(super) const ORDER: &str = "seq DESC";

fn to_hash(col: &str, bytes: Vec<u8>) -> StoreResult<Hash> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Backend(format!("{col} is not 32 bytes")))
}

fn hash_col<R: Columns>(row: &R, col: &str) -> StoreResult<Hash> {
    to_hash(col, row.bytes(col)?)
}

fn via_col<R: Columns>(row: &R) -> StoreResult<Option<Via>> {
    row.opt_text("via")?
        .map(|v| Via::parse(&v).ok_or_else(|| StoreError::Backend(format!("audit via {v}"))))
        .transpose()
}

pub(super) fn record_from<R: Columns>(row: &R) -> StoreResult<AuditRecord> {
    let action = row.text("action")?;
    Ok(AuditRecord {
        seq: row.int("seq")?,
        event: AuditEvent {
            at: row.int("at")?,
            org_id: row.opt_uuid("org_id")?,
            actor_id: row.opt_uuid("actor_id")?,
            action: Action::parse(&action)
                .ok_or_else(|| StoreError::Backend(format!("audit action {action}")))?,
            target_id: row.opt_uuid("target_id")?,
            source: row.opt_text("source")?,
            via: via_col(row)?,
            credential_id: row.opt_uuid("credential_id")?,
        },
        prev_hash: hash_col(row, "prev_hash")?,
        hash: hash_col(row, "hash")?,
    })
}

pub(super) fn head_from<R: Columns>(row: &R) -> StoreResult<AuditHead> {
    Ok(AuditHead {
        seq: row.int("seq")?,
        hash: hash_col(row, "hash")?,
        keyed_from: row.int("keyed_from")?,
        mac: row
            .opt_bytes("mac")?
            .map(|b| to_hash("mac", b))
            .transpose()?,
    })
}

/// A link `next_link` refused: a second chain-keyed marker is a conflict (another node
/// keyed the chain first), anything else a head that does not verify.
pub(super) fn refused(broken: Broken) -> StoreError {
    match broken {
        Broken::KeyedAlready => StoreError::Conflict("audit_chain_keyed"),
        other => StoreError::Backend(format!("audit append: {other}")),
    }
}

/// The WHERE clause of an organization's audit list; shared by the page and its count.
pub(super) fn push_filter<D: Dialect>(
    qb: &mut QueryBuilder<'_, D>,
    org_id: Uuid,
    query: &AuditQuery,
) {
    qb.push(" WHERE org_id = ");
    D::push_id(qb, org_id);
    push_window(qb, "at", query.from, query.to);
    if let Some(actor) = query.actor_id {
        qb.push(" AND actor_id = ");
        D::push_id(qb, actor);
    }
    if let Some(target) = query.target_id {
        qb.push(" AND target_id = ");
        D::push_id(qb, target);
    }
    if let Some(action) = query.action {
        qb.push(" AND action = ");
        D::push_text(qb, action.as_str());
    }
}
