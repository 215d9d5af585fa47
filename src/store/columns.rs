//! What the two backends read and build alike. Columns decode the same on both, except
//! uuids (text on SQLite, `uuid` on PostgreSQL), so each resource's row mapping is written
//! once over `Columns`. Statements use `$n` placeholders, which sqlx binds by number on
//! SQLite too, so a statement both dialects accept is one constant. WHERE clauses and pages
//! are built once over `Dialect`, which says how each backend binds an id and matches text.

use super::{StoreError, StoreResult};
use crate::domain::list::Page;
use crate::domain::name::fold;
use crate::domain::secret::KeyDigest;
use sqlx::{ColumnIndex, Database, Decode, QueryBuilder, Row, Type};
use uuid::Uuid;

/// How a backend stores a uuid.
pub(crate) trait Uuids {
    fn uuid(&self, col: &str) -> StoreResult<Uuid>;
    fn opt_uuid(&self, col: &str) -> StoreResult<Option<Uuid>>;
}

/// A row's columns, by name, as the domain types want them.
pub(crate) trait Columns: Uuids {
    fn text(&self, col: &str) -> StoreResult<String>;
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>>;
    fn int(&self, col: &str) -> StoreResult<i64>;
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>>;
    fn flag(&self, col: &str) -> StoreResult<bool>;
    fn bytes(&self, col: &str) -> StoreResult<Vec<u8>>;
    fn opt_bytes(&self, col: &str) -> StoreResult<Option<Vec<u8>>>;

    /// The `digest` column of a key, token or session.
    fn digest(&self) -> StoreResult<KeyDigest> {
        digest_of(self.bytes("digest")?)
    }
}

impl<R> Columns for R
where
    R: Row + Uuids,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<Vec<u8>>: Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&self, col: &str) -> StoreResult<String> {
        Ok(self.try_get(col)?)
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        Ok(self.try_get(col)?)
    }
    fn int(&self, col: &str) -> StoreResult<i64> {
        Ok(self.try_get(col)?)
    }
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        Ok(self.try_get(col)?)
    }
    fn flag(&self, col: &str) -> StoreResult<bool> {
        Ok(self.try_get(col)?)
    }
    fn bytes(&self, col: &str) -> StoreResult<Vec<u8>> {
        Ok(self.try_get(col)?)
    }
    fn opt_bytes(&self, col: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.try_get(col)?)
    }
}

pub(crate) fn digest_of(bytes: Vec<u8>) -> StoreResult<KeyDigest> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| StoreError::Backend("digest is not 32 bytes".into()))?;
    Ok(KeyDigest(arr))
}

pub(crate) fn to_u64(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0)
}

pub(crate) fn to_i64(limit: u64) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// What differs between the dialects inside a built statement.
pub(crate) trait Dialect: Database + Sized {
    /// The folded user name both backends filter and sort users by.
    const USER_NAME_FOLDED: &'static str;

    fn push_id(qb: &mut QueryBuilder<'_, Self>, id: Uuid);
    fn push_int(qb: &mut QueryBuilder<'_, Self>, value: i64);
    fn push_flag(qb: &mut QueryBuilder<'_, Self>, value: bool);
    fn push_text(qb: &mut QueryBuilder<'_, Self>, value: &'static str);
    /// The predicate "`column` contains `needle`".
    fn push_contains(qb: &mut QueryBuilder<'_, Self>, column: &str, needle: String);
    /// The predicate "`column` equals `value`".
    fn push_equals(qb: &mut QueryBuilder<'_, Self>, column: &str, value: String);
}

/// ` AND created_at >= from AND created_at <= to`, for whichever bounds are given.
pub(crate) fn push_window<D: Dialect>(
    qb: &mut QueryBuilder<'_, D>,
    column: &str,
    from: Option<i64>,
    to: Option<i64>,
) {
    if let Some(t) = from {
        qb.push(format!(" AND {column} >= "));
        D::push_int(qb, t);
    }
    if let Some(t) = to {
        qb.push(format!(" AND {column} <= "));
        D::push_int(qb, t);
    }
}

/// The count and the page of a list: `SELECT COUNT(*)` and `SELECT *` from `table` with the
/// same `filter`, the page ordered by `order` (which must end in a unique column, so pages
/// are stable).
pub(crate) fn page_queries<'a, D: Dialect>(
    table: &str,
    filter: impl Fn(&mut QueryBuilder<'a, D>),
    order: &str,
    page: Page,
) -> (QueryBuilder<'a, D>, QueryBuilder<'a, D>) {
    let mut count = QueryBuilder::<D>::new(format!("SELECT COUNT(*) FROM {table}"));
    filter(&mut count);
    let mut rows = QueryBuilder::<D>::new(format!("SELECT * FROM {table}"));
    filter(&mut rows);
    rows.push(format!(" ORDER BY {order} LIMIT "));
    D::push_int(&mut rows, i64::from(page.size));
    rows.push(" OFFSET ");
    D::push_int(&mut rows, to_i64(page.offset()));
    (count, rows)
}

/// The ORDER BY of a sorted list: the column, then the id, in the same direction.
pub(crate) fn order_by(column: &str, descending: bool) -> String {
    let dir = if descending { "DESC" } else { "ASC" };
    format!("{column} {dir}, id {dir}")
}

/// The WHERE clause the three credential lists share: organization, name substring,
/// creation window.
pub(crate) fn push_key_filter<D: Dialect>(
    qb: &mut QueryBuilder<'_, D>,
    org_id: Uuid,
    name_contains: &Option<String>,
    created_from: Option<i64>,
    created_to: Option<i64>,
) {
    qb.push(" WHERE org_id = ");
    D::push_id(qb, org_id);
    if let Some(needle) = name_contains {
        qb.push(" AND ");
        D::push_contains(qb, "name_folded", fold(needle));
    }
    push_window(qb, "created_at", created_from, created_to);
}
