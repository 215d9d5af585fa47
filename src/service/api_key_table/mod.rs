//! Every API key in memory, packed (`key_rows`): found by digest to authenticate, and
//! scanned per organization to answer lists.

#[cfg(test)]
mod tests;

use super::key_rows::{self, by_name, last4_bytes, within, KeyRows, Listing, Names, Numbers, Span};
use crate::domain::api_key::{ApiKey, ApiKeyFilter, ApiKeyQuery, ApiKeySortField};
use crate::domain::credential::ApiKeyEntry;
use crate::domain::name::fold;
use crate::domain::secret::{DigestHasher, KeyDigest};
use std::collections::BTreeSet;
use std::hash::{BuildHasher, BuildHasherDefault};
use uuid::Uuid;

#[derive(Default)]
pub struct ApiKeyTable {
    rows: KeyRows<Row>,
    /// The keys that expire, by instant: what mirrors of the table (the HAProxy map) must
    /// drop when the instant passes, since an expiry writes nothing that would tell them.
    expiries: BTreeSet<(i64, [u8; 32])>,
    /// Categories by number, so a row holds 4 bytes for its category instead of 16.
    categories: Numbers<String>,
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
    /// The category's number in the table's `categories`.
    category: u32,
    last4: [u8; 4],
    remote_config_read_enabled: bool,
}

impl Row {
    fn new(key: &ApiKey, name: Span, category: u32) -> Self {
        Self {
            digest: key.digest,
            id: key.id,
            created_at: key.created_at,
            modified_at: key.modified_at,
            expires_at: key.expires_at.unwrap_or(NEVER),
            name,
            category,
            last4: last4_bytes(&key.last4),
            remote_config_read_enabled: key.remote_config_read_enabled,
        }
    }
}

impl key_rows::Row for Row {
    type Key = KeyDigest;

    fn key(&self) -> &KeyDigest {
        &self.digest
    }

    /// The hash every digest map uses (`DigestHasher`: the digest's first eight bytes).
    fn hash(digest: &KeyDigest) -> u64 {
        BuildHasherDefault::<DigestHasher>::default().hash_one(digest)
    }

    fn id(&self) -> Uuid {
        self.id
    }

    fn name(&self) -> Span {
        self.name
    }

    fn set_name(&mut self, name: Span) {
        self.name = name;
    }
}

const NEVER: i64 = i64::MAX;

impl ApiKeyTable {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The key behind `digest`.
    pub fn get(&self, digest: &KeyDigest) -> Option<ApiKeyEntry> {
        let (org_id, row) = self.rows.get(digest)?;
        Some(ApiKeyEntry {
            id: row.id,
            org_id,
            expires_at: (row.expires_at != NEVER).then_some(row.expires_at),
        })
    }

    /// Adds `key`, or replaces what the table held for its digest.
    pub fn upsert(&mut self, key: &ApiKey) {
        let category = self.categories.intern(&key.category);
        let replaced = self
            .rows
            .upsert(key.org_id, &key.digest, &fold(&key.name), |name| {
                Row::new(key, name, category)
            });
        self.forget_expiry(replaced);
        if let Some(at) = key.expires_at {
            self.expiries.insert((at, key.digest.0));
        }
    }

    /// Drops the key behind `digest`, if the table holds it.
    pub fn remove(&mut self, digest: &KeyDigest) {
        let removed = self.rows.remove(digest);
        self.forget_expiry(removed);
    }

    fn forget_expiry(&mut self, gone: Option<Row>) {
        if let Some(row) = gone.filter(|r| r.expires_at != NEVER) {
            self.expiries.remove(&(row.expires_at, row.digest.0));
        }
    }

    /// Every key's digest and organization but those expired at `now`, for the HAProxy
    /// map's full resync.
    pub fn digests(&self, now: i64) -> impl Iterator<Item = (KeyDigest, Uuid)> + '_ {
        self.rows.orgs().flat_map(move |org| {
            org.rows()
                .filter(move |r| now < r.expires_at)
                .map(|r| (r.digest, org.org_id()))
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
        self.rows.shrink_to_fit();
    }

    /// The ids of one page of the organization's keys, in the query's order, and how many
    /// keys the filter matched.
    pub fn list(&self, org_id: Uuid, query: &ApiKeyQuery) -> (Vec<Uuid>, u64) {
        let field = query.sort.field;
        let Some(category) = self.categories.filter(query.filter.category.as_deref()) else {
            return (Vec::new(), 0);
        };
        let listing = Listing {
            name_contains: query.filter.name_contains.as_deref(),
            keep: |row: &Row| matches(&query.filter, category, row),
            order: move |a: &Row, b: &Row, names: &Names| match field {
                ApiKeySortField::CreatedAt => a.created_at.cmp(&b.created_at),
                ApiKeySortField::ModifiedAt => a.modified_at.cmp(&b.modified_at),
                ApiKeySortField::Last4 => a.last4.cmp(&b.last4),
                ApiKeySortField::Name => by_name(a, b, names),
            },
            descending: query.sort.descending,
            page: query.page,
        };
        self.rows.list(org_id, listing)
    }
}

impl Extend<ApiKey> for ApiKeyTable {
    fn extend<I: IntoIterator<Item = ApiKey>>(&mut self, keys: I) {
        for key in keys {
            self.upsert(&key);
        }
    }
}

/// Whether `row` passes every filter but the name's (`category`: the filter's, by number).
fn matches(f: &ApiKeyFilter, category: Option<u32>, row: &Row) -> bool {
    within(row.created_at, f.created_from, f.created_to)
        && within(row.modified_at, f.modified_from, f.modified_to)
        && f.remote_config_read_enabled
            .is_none_or(|b| row.remote_config_read_enabled == b)
        && category.is_none_or(|c| row.category == c)
}
