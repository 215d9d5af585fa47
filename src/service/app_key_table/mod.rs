//! Every application key's list fields in memory (`key_rows`), so the three application-key
//! surfaces and v1 list without a database count. Authentication does not look here: it
//! reads the index's digest map.

#[cfg(test)]
mod tests;

use super::key_rows::{
    self, by_name, hash_id, last4_bytes, within, KeyRows, Listing, Names, Numbers, Span,
};
use crate::domain::application_key::{
    ApplicationKey, ApplicationKeyQuery, ApplicationKeySortField,
};
use crate::domain::name::fold;
use uuid::Uuid;

#[derive(Default)]
pub struct AppKeyTable {
    rows: KeyRows<Row>,
    /// Owners by number, so a row holds 4 bytes for its owner instead of 16.
    owners: Numbers<Uuid>,
}

struct Row {
    id: Uuid,
    created_at: i64,
    name: Span,
    owner: u32,
    last4: [u8; 4],
}

impl key_rows::Row for Row {
    type Key = Uuid;

    fn key(&self) -> &Uuid {
        &self.id
    }

    fn hash(id: &Uuid) -> u64 {
        hash_id(id)
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

impl AppKeyTable {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Adds `key`, or replaces what the table held for its id.
    pub fn upsert(&mut self, key: &ApplicationKey) {
        let owner = self.owners.intern(&key.owner_id);
        let row = |name| Row {
            id: key.id,
            created_at: key.created_at,
            name,
            owner,
            last4: last4_bytes(&key.last4),
        };
        self.rows.upsert(key.org_id, &key.id, &fold(&key.name), row);
    }

    pub fn remove(&mut self, id: Uuid) {
        self.rows.remove(&id);
    }

    /// Frees what loading over-allocated.
    pub fn shrink_to_fit(&mut self) {
        self.rows.shrink_to_fit();
    }

    /// The ids of one page of the organization's keys, in the query's order, and how many
    /// keys the filter matched.
    pub fn list(&self, org_id: Uuid, query: &ApplicationKeyQuery) -> (Vec<Uuid>, u64) {
        let f = &query.filter;
        let Some(owner) = self.owners.filter(f.owner_id.as_ref()) else {
            return (Vec::new(), 0);
        };
        let field = query.sort.field;
        let listing = Listing {
            name_contains: f.name_contains.as_deref(),
            keep: |row: &Row| {
                within(row.created_at, f.created_from, f.created_to)
                    && owner.is_none_or(|o| row.owner == o)
            },
            order: move |a: &Row, b: &Row, names: &Names| match field {
                ApplicationKeySortField::CreatedAt => a.created_at.cmp(&b.created_at),
                ApplicationKeySortField::Last4 => a.last4.cmp(&b.last4),
                ApplicationKeySortField::Name => by_name(a, b, names),
            },
            descending: query.sort.descending,
            page: query.page,
        };
        self.rows.list(org_id, listing)
    }
}

impl Extend<ApplicationKey> for AppKeyTable {
    fn extend<I: IntoIterator<Item = ApplicationKey>>(&mut self, keys: I) {
        for key in keys {
            self.upsert(&key);
        }
    }
}
