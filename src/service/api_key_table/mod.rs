//! Every API key in memory, packed: found by digest to authenticate, and scanned per
//! organization to answer lists. A list then costs a scan of a few megabytes instead of a
//! database count over every name (a substring filter cannot use an index), and the page's
//! records are fetched by id.
//!
//! Memory is the constraint (a million keys must fit in a few hundred MB): the digest lives
//! once, in the row, the hash table holds only an 8-byte reference to it, and names live in
//! one buffer per organization.

mod names;
#[cfg(test)]
mod tests;

use crate::domain::api_key::{
    ApiKey, ApiKeyFilter, ApiKeyQuery, ApiKeySortField, DEFAULT_CATEGORY,
};
use crate::domain::credential::ApiKeyEntry;
use crate::domain::name::fold;
use crate::domain::secret::{DigestHasher, KeyDigest};
use hashbrown::HashTable;
use names::{Names, Span};
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, BuildHasherDefault};
use uuid::Uuid;

#[derive(Default)]
pub struct ApiKeyTable {
    /// Where each key's row is, hashed by the key's digest.
    by_digest: HashTable<RowRef>,
    orgs: Vec<OrgRows>,
    org_numbers: HashMap<Uuid, u32>,
    len: usize,
    /// The keys that expire, by instant: what mirrors of the table (the HAProxy map) must
    /// drop when the instant passes, since an expiry writes nothing that would tell them.
    expiries: BTreeSet<(i64, [u8; 32])>,
}

#[derive(Clone, Copy)]
struct RowRef {
    org: u32,
    row: u32,
}

struct OrgRows {
    org_id: Uuid,
    /// `None` marks a deleted key's row, kept for reuse so no other row moves.
    rows: Vec<Option<Row>>,
    free: Vec<u32>,
    names: Names,
}

/// What authentication and lists need of a key; names as shown, creators and usage come
/// from the database with the page.
struct Row {
    digest: KeyDigest,
    id: Uuid,
    created_at: i64,
    modified_at: i64,
    /// `NEVER` for a key without expiry (8 bytes where an `Option` would take 16).
    expires_at: i64,
    /// The folded name, in the organization's `names`.
    name: Span,
    /// `None` for the default category, which nearly every key has.
    category: Option<Box<str>>,
    last4: [u8; 4],
    remote_config_read_enabled: bool,
}

impl Row {
    fn new(key: &ApiKey, name: Span) -> Self {
        let mut last4 = [0u8; 4];
        let bytes = key.last4.as_bytes();
        let n = bytes.len().min(4);
        last4[..n].copy_from_slice(&bytes[..n]);
        Self {
            digest: key.digest,
            id: key.id,
            created_at: key.created_at,
            modified_at: key.modified_at,
            expires_at: key.expires_at.unwrap_or(NEVER),
            name,
            category: (key.category != DEFAULT_CATEGORY).then(|| key.category.as_str().into()),
            last4,
            remote_config_read_enabled: key.remote_config_read_enabled,
        }
    }

    fn category(&self) -> &str {
        self.category.as_deref().unwrap_or(DEFAULT_CATEGORY)
    }
}

const NEVER: i64 = i64::MAX;

/// The hash every digest map uses (`DigestHasher`: the digest's first eight bytes).
fn hash_of(digest: &KeyDigest) -> u64 {
    BuildHasherDefault::<DigestHasher>::default().hash_one(digest)
}

/// The row `at` points to; a free function so it can borrow the rows while the hash
/// table is borrowed mutably.
fn row_at(orgs: &[OrgRows], at: RowRef) -> Option<&Row> {
    orgs.get(at.org as usize)?
        .rows
        .get(at.row as usize)?
        .as_ref()
}

fn rehash(orgs: &[OrgRows]) -> impl Fn(&RowRef) -> u64 + '_ {
    move |at| row_at(orgs, *at).map_or(0, |r| hash_of(&r.digest))
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl OrgRows {
    fn insert(&mut self, key: &ApiKey) -> u32 {
        let row = self.free.pop().unwrap_or_else(|| to_u32(self.rows.len()));
        let name = self.names.push(&fold(&key.name), row);
        match self.rows.get_mut(row as usize) {
            Some(slot) => *slot = Some(Row::new(key, name)),
            None => self.rows.push(Some(Row::new(key, name))),
        }
        row
    }

    fn remove(&mut self, row: u32) {
        let Some(removed) = self.rows.get_mut(row as usize).and_then(Option::take) else {
            return;
        };
        self.names.kill(removed.name);
        self.free.push(row);
        if self.names.wasteful() {
            let live = self
                .rows
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.as_ref().map(|r| (to_u32(i), r.name)));
            let spans = self.names.compact(live);
            for (row, span) in self.rows.iter_mut().flatten().zip(spans) {
                row.name = span;
            }
        }
    }
}

impl ApiKeyTable {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The key behind `digest`.
    pub fn get(&self, digest: &KeyDigest) -> Option<ApiKeyEntry> {
        let at = *self.by_digest.find(hash_of(digest), |at| {
            row_at(&self.orgs, *at).is_some_and(|r| r.digest == *digest)
        })?;
        let row = row_at(&self.orgs, at)?;
        Some(ApiKeyEntry {
            id: row.id,
            org_id: self.orgs.get(at.org as usize)?.org_id,
            expires_at: (row.expires_at != NEVER).then_some(row.expires_at),
        })
    }

    /// Adds `key`, or replaces what the table held for its digest.
    pub fn upsert(&mut self, key: &ApiKey) {
        self.remove(&key.digest);
        let org = match self.org_numbers.get(&key.org_id) {
            Some(n) => *n,
            None => {
                let n = to_u32(self.orgs.len());
                self.orgs.push(OrgRows {
                    org_id: key.org_id,
                    rows: Vec::new(),
                    free: Vec::new(),
                    names: Names::default(),
                });
                self.org_numbers.insert(key.org_id, n);
                n
            }
        };
        let Some(rows) = self.orgs.get_mut(org as usize) else {
            return;
        };
        let row = rows.insert(key);
        if let Some(at) = key.expires_at {
            self.expiries.insert((at, key.digest.0));
        }
        self.by_digest.insert_unique(
            hash_of(&key.digest),
            RowRef { org, row },
            rehash(&self.orgs),
        );
        self.len += 1;
    }

    /// Drops the key behind `digest`, if the table holds it.
    pub fn remove(&mut self, digest: &KeyDigest) {
        let orgs = &self.orgs;
        let found = self.by_digest.find_entry(hash_of(digest), |at| {
            row_at(orgs, *at).is_some_and(|r| r.digest == *digest)
        });
        let Ok(entry) = found else { return };
        let (at, _) = entry.remove();
        if let Some(row) = row_at(&self.orgs, at).filter(|r| r.expires_at != NEVER) {
            self.expiries.remove(&(row.expires_at, row.digest.0));
        }
        if let Some(org) = self.orgs.get_mut(at.org as usize) {
            org.remove(at.row);
        }
        self.len -= 1;
    }

    /// Every key's digest and organization but those expired at `now`, for the HAProxy
    /// map's full resync.
    pub fn digests(&self, now: i64) -> impl Iterator<Item = (KeyDigest, Uuid)> + '_ {
        self.orgs.iter().flat_map(move |org| {
            org.rows
                .iter()
                .flatten()
                .filter(move |r| now < r.expires_at)
                .map(|r| (r.digest, org.org_id))
        })
    }

    /// The keys whose expiry falls in `(after, until]`.
    pub fn expired_between(&self, after: i64, until: i64) -> impl Iterator<Item = KeyDigest> + '_ {
        let from = (after.saturating_add(1), [0u8; 32]);
        let to = (until, [u8::MAX; 32]);
        let range = (from <= to).then(|| self.expiries.range(from..=to));
        range.into_iter().flatten().map(|(_, d)| KeyDigest(*d))
    }

    /// The first expiry after `after`, if any key has one.
    pub fn next_expiry(&self, after: i64) -> Option<i64> {
        let from = (after.saturating_add(1), [0u8; 32]);
        self.expiries.range(from..).next().map(|(at, _)| *at)
    }

    /// Frees what loading over-allocated.
    pub fn shrink_to_fit(&mut self) {
        for org in &mut self.orgs {
            org.rows.shrink_to_fit();
            org.names.shrink_to_fit();
        }
        self.by_digest.shrink_to_fit(rehash(&self.orgs));
    }

    /// The ids of one page of the organization's keys, in the query's order, and how many
    /// keys the filter matched. Same rules as the stores' SQL lists: case-insensitive name
    /// substring, inclusive time windows, ties broken by id in the sort's direction.
    pub fn list(&self, org_id: Uuid, query: &ApiKeyQuery) -> (Vec<Uuid>, u64) {
        let Some(org) = self
            .org_numbers
            .get(&org_id)
            .and_then(|n| self.orgs.get(*n as usize))
        else {
            return (Vec::new(), 0);
        };
        let keep = |row: &&Row| matches(&query.filter, row);
        let needle = query.filter.name_contains.as_deref().map(fold);
        let mut matched: Vec<&Row> = match needle.as_deref() {
            Some(needle) if !needle.is_empty() => org
                .names
                .rows_containing(needle.as_bytes())
                .into_iter()
                .filter_map(|i| org.rows.get(i as usize)?.as_ref())
                .filter(keep)
                .collect(),
            _ => org.rows.iter().flatten().filter(keep).collect(),
        };
        let total = matched.len() as u64;
        let start = usize::try_from(query.page.offset()).unwrap_or(usize::MAX);
        if start >= matched.len() {
            return (Vec::new(), total);
        }
        let end = start
            .saturating_add(query.page.size as usize)
            .min(matched.len());
        let order = |a: &&Row, b: &&Row| {
            let by_field = match query.sort.field {
                ApiKeySortField::CreatedAt => a.created_at.cmp(&b.created_at),
                ApiKeySortField::ModifiedAt => a.modified_at.cmp(&b.modified_at),
                ApiKeySortField::Last4 => a.last4.cmp(&b.last4),
                ApiKeySortField::Name => org.names.get(a.name).cmp(org.names.get(b.name)),
            };
            let both = by_field.then_with(|| a.id.cmp(&b.id));
            if query.sort.descending {
                both.reverse()
            } else {
                both
            }
        };
        // Only the rows up to the page's end need to be in order.
        if end < matched.len() {
            matched.select_nth_unstable_by(end, order);
            matched.truncate(end);
        }
        matched.sort_unstable_by(order);
        let ids = matched
            .get(start..)
            .unwrap_or_default()
            .iter()
            .map(|r| r.id);
        (ids.collect(), total)
    }
}

impl Extend<ApiKey> for ApiKeyTable {
    fn extend<I: IntoIterator<Item = ApiKey>>(&mut self, keys: I) {
        for key in keys {
            self.upsert(&key);
        }
    }
}

/// Whether `row` passes every filter but the name's (which `Names` answers).
fn matches(f: &ApiKeyFilter, row: &Row) -> bool {
    let within = |t: i64, from: Option<i64>, to: Option<i64>| {
        from.is_none_or(|from| t >= from) && to.is_none_or(|to| t <= to)
    };
    within(row.created_at, f.created_from, f.created_to)
        && within(row.modified_at, f.modified_from, f.modified_to)
        && f.remote_config_read_enabled
            .is_none_or(|b| row.remote_config_read_enabled == b)
        && f.category.as_deref().is_none_or(|c| row.category() == c)
}
