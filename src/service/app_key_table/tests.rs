use super::*;
use crate::domain::application_key::ApplicationKeyFilter;
use crate::domain::list::{Page, Sort};
use proptest::prelude::*;

fn key(org_id: Uuid, owner_id: Uuid, n: u8, name: &str) -> ApplicationKey {
    let secret = crate::domain::secret::Secret::new(format!("{n:040x}"));
    ApplicationKey {
        id: Uuid::from_u128(u128::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c)),
        org_id,
        owner_id,
        name: name.to_owned(),
        digest: secret.digest(),
        sealed_key: Vec::new(),
        // Few distinct values, so last4 ties are broken by id.
        last4: format!("{:04x}", n % 6),
        scopes: None,
        created_at: i64::from(n % 7),
        last_used_at: None,
        expires_at: None,
    }
}

/// The rule the SQL list implements, written the slow, obvious way.
fn reference(keys: &[ApplicationKey], org_id: Uuid, q: &ApplicationKeyQuery) -> (Vec<Uuid>, u64) {
    let f = &q.filter;
    let mut hits: Vec<&ApplicationKey> = keys
        .iter()
        .filter(|k| k.org_id == org_id)
        .filter(|k| {
            f.name_contains
                .as_ref()
                .is_none_or(|n| fold(&k.name).contains(&fold(n)))
                && f.created_from.is_none_or(|t| k.created_at >= t)
                && f.created_to.is_none_or(|t| k.created_at <= t)
                && f.owner_id.is_none_or(|o| k.owner_id == o)
        })
        .collect();
    hits.sort_by(|a, b| {
        let field = match q.sort.field {
            ApplicationKeySortField::CreatedAt => a.created_at.cmp(&b.created_at),
            ApplicationKeySortField::Last4 => a.last4.cmp(&b.last4),
            ApplicationKeySortField::Name => fold(&a.name).cmp(&fold(&b.name)),
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
const FIELDS: [ApplicationKeySortField; 3] = [
    ApplicationKeySortField::CreatedAt,
    ApplicationKeySortField::Last4,
    ApplicationKeySortField::Name,
];

#[test]
fn an_owner_without_keys_matches_nothing() {
    let org = Uuid::from_u128(1);
    let mut table = AppKeyTable::default();
    table.extend([key(org, Uuid::from_u128(10), 1, "mine")]);
    let query = |owner_id| ApplicationKeyQuery {
        filter: ApplicationKeyFilter {
            owner_id: Some(owner_id),
            ..Default::default()
        },
        sort: Sort {
            field: ApplicationKeySortField::Name,
            descending: false,
        },
        page: Page::default(),
    };
    assert_eq!(table.list(org, &query(Uuid::from_u128(11))), (vec![], 0));
    assert_eq!(table.list(org, &query(Uuid::from_u128(10))).1, 1);
    assert_eq!(
        table
            .list(Uuid::from_u128(2), &query(Uuid::from_u128(10)))
            .1,
        0
    );
}

proptest! {
    #[test]
    fn lists_as_the_sql_rule_does(
        ops in prop::collection::vec(
            (0u8..40, 0usize..6, any::<bool>(), 0u8..3, any::<bool>()), 0..300),
        // Long names make renames and deletes waste enough of the name buffer to compact it.
        pad in 0usize..250,
        needle in prop::option::of(prop::sample::select(vec!["", "PROD", "émile", "ci", "x"])),
        window in prop::option::of((0i64..7, 0i64..7)),
        owner in prop::option::of(0u8..4),
        field in 0usize..3,
        descending in any::<bool>(),
        size in 1u32..8,
        number in 0u32..6,
    ) {
        let orgs = [Uuid::from_u128(1), Uuid::from_u128(2)];
        let owners = [10u128, 11, 12, 13].map(Uuid::from_u128);
        let mut table = AppKeyTable::default();
        let mut live: Vec<ApplicationKey> = Vec::new();
        // Inserts, renames (same id) and deletes, in any order.
        for (n, name, other_org, owner, delete) in ops {
            let org = orgs[usize::from(other_org)];
            let name = format!("{} {n} {}", NAMES[name], "x".repeat(pad));
            let k = key(org, owners[usize::from(owner)], n, &name);
            live.retain(|l| l.id != k.id);
            if delete {
                table.remove(k.id);
            } else {
                table.upsert(&k);
                live.push(k);
            }
        }
        prop_assert_eq!(table.len(), live.len());
        let query = ApplicationKeyQuery {
            filter: ApplicationKeyFilter {
                name_contains: needle.map(str::to_owned),
                created_from: window.map(|w| w.0),
                created_to: window.map(|w| w.1),
                owner_id: owner.map(|o| owners[usize::from(o)]),
            },
            sort: Sort { field: FIELDS[field], descending },
            page: Page { size, number },
        };
        prop_assert_eq!(table.list(orgs[0], &query), reference(&live, orgs[0], &query));
    }
}

#[test]
fn a_row_stays_small() {
    // Memory is the constraint (see `key_rows`): a row grows only for a reason.
    assert_eq!(std::mem::size_of::<Option<Row>>(), 48);
}
