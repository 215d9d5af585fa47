//! A list answered from an organization's rows: filter, count, order, page. The same rules
//! as the stores' SQL lists: case-insensitive name substring (`domain::name::fold`), the
//! kind's other filters, ties broken by id in the sort's direction.

use super::{KeyRows, Names, OrgRows, Row};
use crate::domain::list::Page;
use crate::domain::name::fold;
use std::cmp::Ordering;
use uuid::Uuid;

/// What one list asks.
pub struct Listing<'a, K, O> {
    /// As asked (folded here); empty matches every name, as in the stores.
    pub name_contains: Option<&'a str>,
    /// Every filter but the name's (which `Names` answers).
    pub keep: K,
    /// The sort field's order, ascending; the id breaks ties.
    pub order: O,
    pub descending: bool,
    pub page: Page,
}

impl<R: Row> KeyRows<R> {
    /// The ids of one page of the organization's rows, in the listing's order, and how many
    /// rows the filters matched.
    pub fn list<K, O>(&self, org_id: Uuid, listing: Listing<'_, K, O>) -> (Vec<Uuid>, u64)
    where
        K: Fn(&R) -> bool,
        O: Fn(&R, &R, &Names) -> Ordering,
    {
        match self.org(org_id) {
            Some(org) => org.list(listing),
            None => (Vec::new(), 0),
        }
    }
}

impl<R: Row> OrgRows<R> {
    fn list<K, O>(&self, listing: Listing<'_, K, O>) -> (Vec<Uuid>, u64)
    where
        K: Fn(&R) -> bool,
        O: Fn(&R, &R, &Names) -> Ordering,
    {
        let keep = |row: &&R| (listing.keep)(*row);
        let needle = listing.name_contains.map(fold);
        let mut matched: Vec<&R> = match needle.as_deref() {
            Some(needle) if !needle.is_empty() => self
                .names
                .rows_containing(needle.as_bytes())
                .into_iter()
                .filter_map(|i| self.rows.get(i as usize)?.as_ref())
                .filter(keep)
                .collect(),
            _ => self.rows().filter(keep).collect(),
        };
        let total = matched.len() as u64;
        let start = usize::try_from(listing.page.offset()).unwrap_or(usize::MAX);
        if start >= matched.len() {
            return (Vec::new(), total);
        }
        let end = start
            .saturating_add(listing.page.size as usize)
            .min(matched.len());
        let order = |a: &&R, b: &&R| {
            let both = (listing.order)(*a, *b, &self.names).then_with(|| a.id().cmp(&b.id()));
            if listing.descending {
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
            .map(|r| r.id());
        (ids.collect(), total)
    }
}

/// The order of two rows by their folded names (what "sort by name" means in every list).
pub fn by_name<R: Row>(a: &R, b: &R, names: &Names) -> Ordering {
    names.get(a.name()).cmp(names.get(b.name()))
}
