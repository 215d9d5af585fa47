//! Reading the audit trail's columns, the same on both backends: hashes are 32-byte blobs,
//! `via` a short text, the head one row. Generic over the row type so each backend's module
//! keeps only its dialect (uuid columns, locking, paging).

use super::{StoreError, StoreResult};
use crate::domain::audit::{AuditHead, Broken, Hash, Via};
use sqlx::{ColumnIndex, Decode, Row, Type};

pub(super) const HEAD: &str = "SELECT seq, hash, keyed_from, mac FROM audit_head WHERE id = 1";

fn to_hash(col: &str, bytes: Vec<u8>) -> StoreResult<Hash> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Backend(format!("{col} is not 32 bytes")))
}

pub(super) fn hash_col<'r, R>(row: &'r R, col: &'r str) -> StoreResult<Hash>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    to_hash(col, row.try_get(col)?)
}

pub(super) fn opt_hash_col<'r, R>(row: &'r R, col: &'r str) -> StoreResult<Option<Hash>>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    Option<Vec<u8>>: Decode<'r, R::Database> + Type<R::Database>,
{
    let bytes: Option<Vec<u8>> = row.try_get(col)?;
    bytes.map(|b| to_hash(col, b)).transpose()
}

pub(super) fn via_col<'r, R>(row: &'r R) -> StoreResult<Option<Via>>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    let via: Option<String> = row.try_get("via")?;
    via.map(|v| Via::parse(&v).ok_or_else(|| StoreError::Backend(format!("audit via {v}"))))
        .transpose()
}

pub(super) fn head_from<'r, R>(row: &'r R) -> StoreResult<AuditHead>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    Option<Vec<u8>>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(AuditHead {
        seq: row.try_get("seq")?,
        hash: hash_col(row, "hash")?,
        keyed_from: row.try_get("keyed_from")?,
        mac: opt_hash_col(row, "mac")?,
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
