//! Every client token's list fields in memory (`key_rows`), so token lists need no database
//! count. Validation does not look here: it reads the index's digest map.

#[cfg(test)]
mod tests;

use super::key_rows::{self, by_name, hash_id, last4_bytes, within, KeyRows, Listing, Names, Span};
use crate::domain::client_token::{ClientToken, ClientTokenQuery, ClientTokenSortField};
use crate::domain::name::fold;
use uuid::Uuid;

#[derive(Default)]
pub struct ClientTokenTable {
    rows: KeyRows<Row>,
}

struct Row {
    id: Uuid,
    created_at: i64,
    modified_at: i64,
    name: Span,
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

impl ClientTokenTable {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Adds `token`, or replaces what the table held for its id.
    pub fn upsert(&mut self, token: &ClientToken) {
        let row = |name| Row {
            id: token.id,
            created_at: token.created_at,
            modified_at: token.modified_at,
            name,
            last4: last4_bytes(&token.last4),
        };
        self.rows
            .upsert(token.org_id, &token.id, &fold(&token.name), row);
    }

    pub fn remove(&mut self, id: Uuid) {
        self.rows.remove(&id);
    }

    /// Frees what loading over-allocated.
    pub fn shrink_to_fit(&mut self) {
        self.rows.shrink_to_fit();
    }

    /// The ids of one page of the organization's tokens, in the query's order, and how many
    /// tokens the filter matched.
    pub fn list(&self, org_id: Uuid, query: &ClientTokenQuery) -> (Vec<Uuid>, u64) {
        let f = &query.filter;
        let field = query.sort.field;
        let listing = Listing {
            name_contains: f.name_contains.as_deref(),
            keep: |row: &Row| within(row.created_at, f.created_from, f.created_to),
            order: move |a: &Row, b: &Row, names: &Names| match field {
                ClientTokenSortField::CreatedAt => a.created_at.cmp(&b.created_at),
                ClientTokenSortField::ModifiedAt => a.modified_at.cmp(&b.modified_at),
                ClientTokenSortField::Last4 => a.last4.cmp(&b.last4),
                ClientTokenSortField::Name => by_name(a, b, names),
            },
            descending: query.sort.descending,
            page: query.page,
        };
        self.rows.list(org_id, listing)
    }
}

impl Extend<ClientToken> for ClientTokenTable {
    fn extend<I: IntoIterator<Item = ClientToken>>(&mut self, tokens: I) {
        for token in tokens {
            self.upsert(&token);
        }
    }
}
