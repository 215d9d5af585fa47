//! Keys in memory as packed rows, per organization, so a list is a scan of a few megabytes
//! instead of a database count over every name (a substring filter cannot use an index);
//! the page's records are then fetched by id. API keys, application keys and client tokens
//! share this: each kind says what its row holds and by what it is found (an API key by its
//! digest, which authentication asks for; the others by id, as the change log names them).
//!
//! Memory is the constraint (a million keys must fit in a few hundred MB): the key a row is
//! found by lives once, in the row, the hash table holds only an 8-byte reference to it, and
//! names live in one buffer per organization.

mod names;
mod numbers;
mod scan;
#[cfg(test)]
mod tests;

use hashbrown::HashTable;
pub use names::{Names, Span};
pub use numbers::Numbers;
pub use scan::{by_name, Listing};
use std::collections::HashMap;
use uuid::Uuid;

/// What a kind of key keeps in its rows.
pub trait Row {
    /// What the row is found by.
    type Key: Eq;
    fn key(&self) -> &Self::Key;
    fn hash(key: &Self::Key) -> u64;
    fn id(&self) -> Uuid;
    /// The folded name, in the organization's `Names`.
    fn name(&self) -> Span;
    fn set_name(&mut self, name: Span);
}

pub struct KeyRows<R> {
    /// Where each key's row is, hashed by the row's key.
    by_key: HashTable<RowRef>,
    orgs: Vec<OrgRows<R>>,
    org_numbers: HashMap<Uuid, u32>,
    len: usize,
}

impl<R> Default for KeyRows<R> {
    fn default() -> Self {
        Self {
            by_key: HashTable::new(),
            orgs: Vec::new(),
            org_numbers: HashMap::new(),
            len: 0,
        }
    }
}

#[derive(Clone, Copy)]
struct RowRef {
    org: u32,
    row: u32,
}

pub struct OrgRows<R> {
    org_id: Uuid,
    /// `None` marks a deleted key's row, kept for reuse so no other row moves.
    rows: Vec<Option<R>>,
    free: Vec<u32>,
    names: Names,
}

pub(crate) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The hash of an id-keyed row. Ids are random (v4) or, when imported, whatever the source
/// gave: the multiply spreads sequential ids over the table's high bits too.
pub fn hash_id(id: &Uuid) -> u64 {
    let (high, low) = id.as_u64_pair();
    (high ^ low).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// A key's last four characters as the lists compare them (byte-wise, as the stores' "C"
/// collation does); a shorter value sorts before any longer one it starts.
pub fn last4_bytes(last4: &str) -> [u8; 4] {
    let mut packed = [0u8; 4];
    let bytes = last4.as_bytes();
    let n = bytes.len().min(4);
    packed[..n].copy_from_slice(&bytes[..n]);
    packed
}

/// Whether `t` lies in the inclusive window `[from, to]` (an absent bound does not limit).
pub fn within(t: i64, from: Option<i64>, to: Option<i64>) -> bool {
    from.is_none_or(|from| t >= from) && to.is_none_or(|to| t <= to)
}

/// The row `at` points to; a free function so it can borrow the rows while the hash
/// table is borrowed mutably.
fn row_at<R>(orgs: &[OrgRows<R>], at: RowRef) -> Option<&R> {
    orgs.get(at.org as usize)?
        .rows
        .get(at.row as usize)?
        .as_ref()
}

fn rehash<R: Row>(orgs: &[OrgRows<R>]) -> impl Fn(&RowRef) -> u64 + '_ {
    move |at| row_at(orgs, *at).map_or(0, |r| R::hash(r.key()))
}

impl<R: Row> OrgRows<R> {
    fn insert(&mut self, folded_name: &str, make: impl FnOnce(Span) -> R) -> u32 {
        let row = self.free.pop().unwrap_or_else(|| to_u32(self.rows.len()));
        let name = self.names.push(folded_name, row);
        match self.rows.get_mut(row as usize) {
            Some(slot) => *slot = Some(make(name)),
            None => self.rows.push(Some(make(name))),
        }
        row
    }

    fn remove(&mut self, row: u32) -> Option<R> {
        let removed = self.rows.get_mut(row as usize).and_then(Option::take)?;
        self.names.kill(removed.name());
        self.free.push(row);
        if self.names.wasteful() {
            let live = self
                .rows
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.as_ref().map(|r| (to_u32(i), r.name())));
            let spans = self.names.compact(live);
            for (row, span) in self.rows.iter_mut().flatten().zip(spans) {
                row.set_name(span);
            }
        }
        Some(removed)
    }
}

impl<R> OrgRows<R> {
    pub fn org_id(&self) -> Uuid {
        self.org_id
    }

    /// Every live row, in no particular order.
    pub fn rows(&self) -> impl Iterator<Item = &R> {
        self.rows.iter().flatten()
    }
}

impl<R: Row> KeyRows<R> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The row found by `key`, with its organization.
    pub fn get(&self, key: &R::Key) -> Option<(Uuid, &R)> {
        let at = *self.by_key.find(R::hash(key), |at| {
            row_at(&self.orgs, *at).is_some_and(|r| r.key() == key)
        })?;
        let org = self.orgs.get(at.org as usize)?;
        Some((org.org_id, row_at(&self.orgs, at)?))
    }

    /// Adds the row `make` builds around the stored name, in place of the one `key` found,
    /// which is returned. `key` must be the new row's key.
    pub fn upsert(
        &mut self,
        org_id: Uuid,
        key: &R::Key,
        folded_name: &str,
        make: impl FnOnce(Span) -> R,
    ) -> Option<R> {
        let replaced = self.remove(key);
        let org = match self.org_numbers.get(&org_id) {
            Some(n) => *n,
            None => {
                let n = to_u32(self.orgs.len());
                self.orgs.push(OrgRows {
                    org_id,
                    rows: Vec::new(),
                    free: Vec::new(),
                    names: Names::default(),
                });
                self.org_numbers.insert(org_id, n);
                n
            }
        };
        let rows = self.orgs.get_mut(org as usize)?;
        let row = rows.insert(folded_name, make);
        self.by_key
            .insert_unique(R::hash(key), RowRef { org, row }, rehash(&self.orgs));
        self.len += 1;
        replaced
    }

    /// Drops the row `key` finds, if any, and returns it.
    pub fn remove(&mut self, key: &R::Key) -> Option<R> {
        let orgs = &self.orgs;
        let found = self.by_key.find_entry(R::hash(key), |at| {
            row_at(orgs, *at).is_some_and(|r| r.key() == key)
        });
        let (at, _) = found.ok()?.remove();
        self.len -= 1;
        self.orgs.get_mut(at.org as usize)?.remove(at.row)
    }

    /// The organization's rows, if it has any key.
    pub fn org(&self, org_id: Uuid) -> Option<&OrgRows<R>> {
        let n = self.org_numbers.get(&org_id)?;
        self.orgs.get(*n as usize)
    }

    pub fn orgs(&self) -> impl Iterator<Item = &OrgRows<R>> {
        self.orgs.iter()
    }

    /// Frees what loading over-allocated.
    pub fn shrink_to_fit(&mut self) {
        for org in &mut self.orgs {
            org.rows.shrink_to_fit();
            org.names.shrink_to_fit();
        }
        self.by_key.shrink_to_fit(rehash(&self.orgs));
    }
}
