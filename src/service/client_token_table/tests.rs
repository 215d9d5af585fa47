use super::*;
use crate::domain::client_token::ClientTokenFilter;
use crate::domain::list::{Page, Sort};
use proptest::prelude::*;

fn token(org_id: Uuid, n: u8, name: &str) -> ClientToken {
    let secret = crate::domain::secret::Secret::new(format!("pub{n:032x}"));
    ClientToken {
        id: Uuid::from_u128(u128::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c)),
        org_id,
        name: name.to_owned(),
        digest: secret.digest(),
        sealed_key: Vec::new(),
        last4: format!("{:04x}", n % 6),
        created_by: Uuid::nil(),
        modified_by: None,
        created_at: i64::from(n % 7),
        modified_at: i64::from(n % 5),
        expires_at: None,
    }
}

/// The rule the SQL list implements, written the slow, obvious way.
fn reference(tokens: &[ClientToken], org_id: Uuid, q: &ClientTokenQuery) -> (Vec<Uuid>, u64) {
    let f = &q.filter;
    let mut hits: Vec<&ClientToken> = tokens
        .iter()
        .filter(|t| t.org_id == org_id)
        .filter(|t| {
            f.name_contains
                .as_ref()
                .is_none_or(|n| fold(&t.name).contains(&fold(n)))
                && f.created_from.is_none_or(|from| t.created_at >= from)
                && f.created_to.is_none_or(|to| t.created_at <= to)
        })
        .collect();
    hits.sort_by(|a, b| {
        let field = match q.sort.field {
            ClientTokenSortField::CreatedAt => a.created_at.cmp(&b.created_at),
            ClientTokenSortField::ModifiedAt => a.modified_at.cmp(&b.modified_at),
            ClientTokenSortField::Last4 => a.last4.cmp(&b.last4),
            ClientTokenSortField::Name => fold(&a.name).cmp(&fold(&b.name)),
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
        .map(|t| t.id);
    (ids.collect(), hits.len() as u64)
}

const NAMES: [&str; 6] = ["Prod", "prod-eu", "Émile", "ÉMILE-2", "ci", "staging ci"];
const FIELDS: [ClientTokenSortField; 4] = [
    ClientTokenSortField::CreatedAt,
    ClientTokenSortField::ModifiedAt,
    ClientTokenSortField::Last4,
    ClientTokenSortField::Name,
];

proptest! {
    #[test]
    fn lists_as_the_sql_rule_does(
        ops in prop::collection::vec((0u8..40, 0usize..6, any::<bool>(), any::<bool>()), 0..300),
        // Long names make renames and deletes waste enough of the name buffer to compact it.
        pad in 0usize..250,
        needle in prop::option::of(prop::sample::select(vec!["", "PROD", "émile", "ci", "x"])),
        window in prop::option::of((0i64..7, 0i64..7)),
        field in 0usize..4,
        descending in any::<bool>(),
        size in 1u32..8,
        number in 0u32..6,
    ) {
        let orgs = [Uuid::from_u128(1), Uuid::from_u128(2)];
        let mut table = ClientTokenTable::default();
        let mut live: Vec<ClientToken> = Vec::new();
        // Inserts, renames (same id) and deletes, in any order.
        for (n, name, other_org, delete) in ops {
            let org = orgs[usize::from(other_org)];
            let name = format!("{} {n} {}", NAMES[name], "x".repeat(pad));
            let t = token(org, n, &name);
            live.retain(|l| l.id != t.id);
            if delete {
                table.remove(t.id);
            } else {
                table.upsert(&t);
                live.push(t);
            }
        }
        prop_assert_eq!(table.len(), live.len());
        let query = ClientTokenQuery {
            filter: ClientTokenFilter {
                name_contains: needle.map(str::to_owned),
                created_from: window.map(|w| w.0),
                created_to: window.map(|w| w.1),
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
    assert_eq!(std::mem::size_of::<Option<Row>>(), 56);
}
