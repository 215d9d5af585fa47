use super::*;
use crate::domain::list::Page;

/// The smallest row: found by id, listed by name.
struct Named {
    id: Uuid,
    name: Span,
}

impl Row for Named {
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

fn put(rows: &mut KeyRows<Named>, org: Uuid, n: u128, name: &str) -> Option<Named> {
    let id = Uuid::from_u128(n);
    rows.upsert(org, &id, name, |name| Named { id, name })
}

fn named(rows: &KeyRows<Named>, org: Uuid, needle: Option<&str>, page: Page) -> (Vec<u128>, u64) {
    let listing = Listing {
        name_contains: needle,
        keep: |_: &Named| true,
        order: by_name,
        descending: false,
        page,
    };
    let (ids, total) = rows.list(org, listing);
    (ids.iter().map(|id| id.as_u128()).collect(), total)
}

const ALL: Page = Page {
    size: 100,
    number: 0,
};

#[test]
fn a_row_is_found_by_its_key_in_its_organization() {
    let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let mut rows = KeyRows::default();
    put(&mut rows, a, 10, "ten");
    put(&mut rows, b, 11, "eleven");
    assert_eq!(rows.len(), 2);
    let found = rows.get(&Uuid::from_u128(11)).map(|(org, r)| (org, r.id));
    assert_eq!(found, Some((b, Uuid::from_u128(11))));
    assert!(rows.get(&Uuid::from_u128(12)).is_none());
    assert_eq!(named(&rows, a, None, ALL), (vec![10], 1));
    assert_eq!(named(&rows, Uuid::from_u128(3), None, ALL), (vec![], 0));
}

#[test]
fn an_upsert_replaces_the_row_and_its_name() {
    let org = Uuid::from_u128(1);
    let mut rows = KeyRows::default();
    assert!(put(&mut rows, org, 10, "old").is_none());
    let replaced = put(&mut rows, org, 10, "new");
    assert_eq!(replaced.map(|r| r.id), Some(Uuid::from_u128(10)));
    assert_eq!(rows.len(), 1);
    assert_eq!(named(&rows, org, Some("old"), ALL), (vec![], 0));
    assert_eq!(named(&rows, org, Some("NEW"), ALL), (vec![10], 1));
}

#[test]
fn removed_rows_free_their_slot_and_compaction_keeps_names() {
    let org = Uuid::from_u128(1);
    let mut rows = KeyRows::default();
    let long = "y".repeat(200);
    for n in 0..100 {
        put(&mut rows, org, n, &format!("{n:03} {long}"));
    }
    // Enough dead bytes to compact the buffer more than once.
    for n in 0..90 {
        assert!(rows.remove(&Uuid::from_u128(n)).is_some());
    }
    assert!(rows.remove(&Uuid::from_u128(0)).is_none());
    put(&mut rows, org, 200, "reuses a slot");
    assert_eq!(rows.len(), 11);
    let (ids, total) = named(&rows, org, None, ALL);
    assert_eq!(total, 11);
    assert_eq!(ids, (90..100).chain([200]).collect::<Vec<_>>());
    assert_eq!(named(&rows, org, Some("095 y"), ALL), (vec![95], 1));
    let page = Page { size: 3, number: 1 };
    assert_eq!(named(&rows, org, Some(""), page), (vec![93, 94, 95], 11));
    let beyond = Page { size: 3, number: 9 };
    assert_eq!(named(&rows, org, None, beyond), (vec![], 11));
}

#[test]
fn last4_compares_as_the_stores_do() {
    assert!(last4_bytes("ab") < last4_bytes("ab0"));
    assert!(last4_bytes("abcd") < last4_bytes("abce"));
    assert_eq!(last4_bytes("abcdef"), *b"abcd");
}
