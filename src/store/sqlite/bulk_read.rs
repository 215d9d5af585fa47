//! Start-up's read of every API key, through SQLite's own API on a blocking thread. Through
//! sqlx each row crosses from its worker thread to the runtime on its own (an allocation per
//! value and a wake-up per row: ~10 µs a key, 10 s per million keys); here rows are decoded
//! where they are read and handed over in chunks. The mapping is still `indexed_api_key_from`.

use crate::domain::api_key::ApiKey;
use crate::store::api_keys::{indexed_api_key_from, INDEXED_API_KEYS};
use crate::store::columns::{Columns, Uuids};
use crate::store::{StoreError, StoreResult};
use rusqlite::{OpenFlags, Row};
use std::path::Path;
use uuid::Uuid;

const CHUNK: usize = 4096;

/// Reads every API key of the database file at `path`, handing `send` a chunk at a time;
/// stops early when `send` answers false (the receiver went away).
pub(super) fn read_api_keys(
    path: &Path,
    mut send: impl FnMut(Vec<ApiKey>) -> bool,
) -> StoreResult<()> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(path, flags).map_err(backend)?;
    let mut statement = conn.prepare(INDEXED_API_KEYS).map_err(backend)?;
    let names: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut rows = statement.query([]).map_err(backend)?;
    let mut chunk = Vec::with_capacity(CHUNK);
    while let Some(row) = rows.next().map_err(backend)? {
        chunk.push(indexed_api_key_from(&Lite { row, names: &names })?);
        if chunk.len() == CHUNK && !send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK))) {
            return Ok(());
        }
    }
    if !chunk.is_empty() {
        send(chunk);
    }
    Ok(())
}

fn backend(err: rusqlite::Error) -> StoreError {
    StoreError::Backend(err.to_string())
}

/// A row of rusqlite's, read through `Columns` like sqlx's rows. Columns are found in the
/// statement's names, read once: rusqlite's by-name lookup measures every name per value.
struct Lite<'a> {
    row: &'a Row<'a>,
    names: &'a [String],
}

impl Lite<'_> {
    fn get<T: rusqlite::types::FromSql>(&self, col: &str) -> StoreResult<T> {
        let at = self
            .names
            .iter()
            .position(|n| n == col)
            .ok_or_else(|| StoreError::Backend(format!("no column {col}")))?;
        self.row.get(at).map_err(backend)
    }
}

fn parse_uuid(text: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|e| StoreError::Backend(format!("bad uuid {text:?}: {e}")))
}

impl Uuids for Lite<'_> {
    fn uuid(&self, col: &str) -> StoreResult<Uuid> {
        parse_uuid(&self.get::<String>(col)?)
    }
    fn opt_uuid(&self, col: &str) -> StoreResult<Option<Uuid>> {
        self.get::<Option<String>>(col)?
            .map(|t| parse_uuid(&t))
            .transpose()
    }
}

impl Columns for Lite<'_> {
    fn text(&self, col: &str) -> StoreResult<String> {
        self.get(col)
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        self.get(col)
    }
    fn int(&self, col: &str) -> StoreResult<i64> {
        self.get(col)
    }
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        self.get(col)
    }
    fn flag(&self, col: &str) -> StoreResult<bool> {
        self.get(col)
    }
    fn bytes(&self, col: &str) -> StoreResult<Vec<u8>> {
        self.get(col)
    }
    fn opt_bytes(&self, col: &str) -> StoreResult<Option<Vec<u8>>> {
        self.get(col)
    }
}
