//! Every API key in memory, packed: found by digest to authenticate, and scanned per
//! organization to answer lists. A list then costs a scan of a few megabytes instead of a
//! database count over every name (a substring filter cannot use an index), and the page's
//! records are fetched by id.
//!
//! Memory is the constraint (a million keys must fit in a few hundred MB): the digest lives
//! once, in the row, and the hash table holds only an 8-byte reference to it.

use crate::domain::api_key::{
    ApiKey, ApiKeyFilter, ApiKeyQuery, ApiKeySortField, DEFAULT_CATEGORY,
};
use crate::domain::credential::ApiKeyEntry;
use crate::domain::name::fold;
use crate::domain::secret::KeyDigest;
use hashbrown::HashTable;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Default)]
pub struct ApiKeyTable {
    /// Where each key's row is, hashed by the key's digest.
    by_digest: HashTable<RowRef>,
    orgs: Vec<OrgRows>,
    org_numbers: HashMap<Uuid, u32>,
    len: usize,
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
}

/// What authentication and lists need of a key; names, creators and usage come from the
/// database with the page.
struct Row {
    digest: KeyDigest,
    id: Uuid,
    created_at: i64,
    modified_at: i64,
    name_folded: Box<str>,
    /// `None` for the default category, which nearly every key has.
    category: Option<Box<str>>,
    last4: [u8; 4],
    remote_config_read_enabled: bool,
}

impl Row {
    fn new(key: &ApiKey) -> Self {
        let mut last4 = [0u8; 4];
        let bytes = key.last4.as_bytes();
        let n = bytes.len().min(4);
        last4[..n].copy_from_slice(&bytes[..n]);
        Self {
            digest: key.digest,
            id: key.id,
            created_at: key.created_at,
            modified_at: key.modified_at,
            name_folded: fold(&key.name).into_boxed_str(),
            category: (key.category != DEFAULT_CATEGORY).then(|| key.category.as_str().into()),
            last4,
            remote_config_read_enabled: key.remote_config_read_enabled,
        }
    }

    fn category(&self) -> &str {
        self.category.as_deref().unwrap_or(DEFAULT_CATEGORY)
    }
}

/// A digest is already uniform: its first eight bytes are a good hash.
fn hash_of(digest: &KeyDigest) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&digest.0[..8]);
    u64::from_le_bytes(word)
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
        })
    }

    /// Adds `key`, or replaces what the table held for its digest.
    pub fn upsert(&mut self, key: &ApiKey) {
        self.remove(&key.digest);
        let org = match self.org_numbers.get(&key.org_id) {
            Some(n) => *n,
            None => {
                let n = u32::try_from(self.orgs.len()).unwrap_or(u32::MAX);
                self.orgs.push(OrgRows {
                    org_id: key.org_id,
                    rows: Vec::new(),
                    free: Vec::new(),
                });
                self.org_numbers.insert(key.org_id, n);
                n
            }
        };
        let Some(rows) = self.orgs.get_mut(org as usize) else {
            return;
        };
        let row = match rows.free.pop() {
            Some(free) => {
                if let Some(slot) = rows.rows.get_mut(free as usize) {
                    *slot = Some(Row::new(key));
                }
                free
            }
            None => {
                rows.rows.push(Some(Row::new(key)));
                u32::try_from(rows.rows.len() - 1).unwrap_or(u32::MAX)
            }
        };
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
        if let Some(org) = self.orgs.get_mut(at.org as usize) {
            if let Some(slot) = org.rows.get_mut(at.row as usize) {
                *slot = None;
                org.free.push(at.row);
            }
        }
        self.len -= 1;
    }

    /// Frees what loading over-allocated.
    pub fn shrink_to_fit(&mut self) {
        for org in &mut self.orgs {
            org.rows.shrink_to_fit();
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
        let filter = Filter::new(&query.filter);
        let mut matched: Vec<&Row> = org
            .rows
            .iter()
            .flatten()
            .filter(|row| filter.matches(row))
            .collect();
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
                ApiKeySortField::Name => a.name_folded.cmp(&b.name_folded),
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

/// A list filter with its needle folded and its substring searcher built once.
struct Filter<'q> {
    raw: &'q ApiKeyFilter,
    needle: Option<memchr::memmem::Finder<'static>>,
}

impl<'q> Filter<'q> {
    fn new(raw: &'q ApiKeyFilter) -> Self {
        let needle = raw
            .name_contains
            .as_deref()
            .map(|n| memchr::memmem::Finder::new(fold(n).as_bytes()).into_owned());
        Self { raw, needle }
    }

    fn matches(&self, row: &Row) -> bool {
        let f = self.raw;
        let within = |t: i64, from: Option<i64>, to: Option<i64>| {
            from.is_none_or(|from| t >= from) && to.is_none_or(|to| t <= to)
        };
        self.needle
            .as_ref()
            .is_none_or(|n| n.find(row.name_folded.as_bytes()).is_some())
            && within(row.created_at, f.created_from, f.created_to)
            && within(row.modified_at, f.modified_from, f.modified_to)
            && f.remote_config_read_enabled
                .is_none_or(|b| row.remote_config_read_enabled == b)
            && f.category.as_deref().is_none_or(|c| row.category() == c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::list::{Page, Sort};
    use proptest::prelude::*;

    fn key(org_id: Uuid, n: u8, name: &str, category: &str, rc: bool) -> ApiKey {
        let secret = crate::domain::secret::Secret::new(format!("{n:032x}"));
        ApiKey {
            id: Uuid::from_u128(u128::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c)),
            org_id,
            name: name.to_owned(),
            digest: secret.digest(),
            sealed_key: Vec::new(),
            last4: secret.last4(),
            category: category.to_owned(),
            remote_config_read_enabled: rc,
            created_by: Uuid::nil(),
            modified_by: None,
            created_at: i64::from(n % 7),
            modified_at: i64::from(n % 5),
            date_last_used: None,
        }
    }

    /// The rule the SQL lists implement, written the slow, obvious way.
    fn reference(keys: &[ApiKey], org_id: Uuid, q: &ApiKeyQuery) -> (Vec<Uuid>, u64) {
        let f = &q.filter;
        let mut hits: Vec<&ApiKey> = keys
            .iter()
            .filter(|k| k.org_id == org_id)
            .filter(|k| {
                f.name_contains
                    .as_ref()
                    .is_none_or(|n| fold(&k.name).contains(&fold(n)))
                    && f.created_from.is_none_or(|t| k.created_at >= t)
                    && f.created_to.is_none_or(|t| k.created_at <= t)
                    && f.modified_from.is_none_or(|t| k.modified_at >= t)
                    && f.modified_to.is_none_or(|t| k.modified_at <= t)
                    && f.category.as_ref().is_none_or(|c| &k.category == c)
                    && f.remote_config_read_enabled
                        .is_none_or(|b| k.remote_config_read_enabled == b)
            })
            .collect();
        hits.sort_by(|a, b| {
            let field = match q.sort.field {
                ApiKeySortField::CreatedAt => a.created_at.cmp(&b.created_at),
                ApiKeySortField::ModifiedAt => a.modified_at.cmp(&b.modified_at),
                ApiKeySortField::Last4 => a.last4.cmp(&b.last4),
                ApiKeySortField::Name => fold(&a.name).cmp(&fold(&b.name)),
            };
            let both = field.then(a.id.cmp(&b.id));
            if q.sort.descending {
                both.reverse()
            } else {
                both
            }
        });
        let ids = hits
            .iter()
            .skip(q.page.offset() as usize)
            .take(q.page.size as usize)
            .map(|k| k.id);
        (ids.collect(), hits.len() as u64)
    }

    const NAMES: [&str; 6] = ["Prod", "prod-eu", "Émile", "ÉMILE-2", "ci", "staging ci"];
    const FIELDS: [ApiKeySortField; 4] = [
        ApiKeySortField::CreatedAt,
        ApiKeySortField::ModifiedAt,
        ApiKeySortField::Last4,
        ApiKeySortField::Name,
    ];

    proptest! {
        #[test]
        fn lists_as_the_sql_rule_does(
            ops in prop::collection::vec((0u8..60, 0usize..6, any::<bool>(), any::<bool>()), 0..120),
            needle in prop::option::of(prop::sample::select(vec!["", "PROD", "émile", "ci", "x"])),
            window in prop::option::of((0i64..7, 0i64..7)),
            category in prop::option::of(prop::sample::select(vec!["default", "other"])),
            rc in prop::option::of(any::<bool>()),
            field in 0usize..4,
            descending in any::<bool>(),
            size in 1u32..8,
            number in 0u32..6,
        ) {
            let orgs = [Uuid::from_u128(1), Uuid::from_u128(2)];
            let mut table = ApiKeyTable::default();
            let mut live: Vec<ApiKey> = Vec::new();
            // Inserts, renames (same digest) and deletes, in any order.
            for (n, name, other_org, delete) in ops {
                let org = orgs[usize::from(other_org)];
                let category = if n % 3 == 0 { "other" } else { "default" };
                let k = key(org, n, &format!("{} {n}", NAMES[name]), category, n % 2 == 0);
                live.retain(|l| l.digest != k.digest);
                if delete {
                    table.remove(&k.digest);
                } else {
                    table.upsert(&k);
                    live.push(k);
                }
            }
            prop_assert_eq!(table.len(), live.len());
            let query = ApiKeyQuery {
                filter: ApiKeyFilter {
                    name_contains: needle.map(str::to_owned),
                    created_from: window.map(|w| w.0),
                    created_to: window.map(|w| w.1),
                    modified_from: window.map(|w| w.1 - 2),
                    modified_to: None,
                    remote_config_read_enabled: rc,
                    category: category.map(str::to_owned),
                },
                sort: Sort { field: FIELDS[field], descending },
                page: Page { size, number },
            };
            prop_assert_eq!(table.list(orgs[0], &query), reference(&live, orgs[0], &query));
            for k in &live {
                let found = table.get(&k.digest).map(|e| (e.id, e.org_id));
                prop_assert_eq!(found, Some((k.id, k.org_id)));
            }
        }
    }
}
