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
        expires_at: None,
    }
}

#[test]
fn the_expiry_is_kept_and_changed_with_the_key() {
    let org = Uuid::from_u128(1);
    let mut table = ApiKeyTable::default();
    let plain = key(org, 1, "plain", "default", true);
    let expiring = ApiKey {
        expires_at: Some(42),
        ..key(org, 2, "expiring", "default", true)
    };
    table.extend([plain.clone(), expiring.clone()]);
    assert_eq!(table.get(&plain.digest).map(|e| e.expires_at), Some(None));
    assert_eq!(
        table.get(&expiring.digest).map(|e| e.expires_at),
        Some(Some(42))
    );
    table.upsert(&ApiKey {
        expires_at: None,
        ..expiring.clone()
    });
    assert_eq!(
        table.get(&expiring.digest).map(|e| e.expires_at),
        Some(None)
    );
    assert_eq!(table.next_expiry(0), None);
    assert_eq!(table.digests(100).count(), 2);
}

#[test]
fn expiries_are_found_by_instant() {
    let org = Uuid::from_u128(1);
    let mut table = ApiKeyTable::default();
    let expiring = ApiKey {
        expires_at: Some(42),
        ..key(org, 2, "expiring", "default", true)
    };
    table.extend([key(org, 1, "plain", "default", true), expiring.clone()]);
    assert_eq!(table.next_expiry(0), Some(42));
    assert_eq!(table.next_expiry(42), None);
    let due: Vec<_> = table.expired_between(41, 42).map(|d| d.0).collect();
    assert_eq!(due, vec![expiring.digest.0]);
    assert_eq!(table.expired_between(42, 100).count(), 0);
    assert_eq!(table.digests(41).count(), 2);
    assert_eq!(table.digests(42).count(), 1);
    table.remove(&expiring.digest);
    assert_eq!(table.next_expiry(0), None);
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
        ops in prop::collection::vec((0u8..40, 0usize..6, any::<bool>(), any::<bool>()), 0..300),
        // Long names make renames and deletes waste enough of the name buffer to compact it.
        pad in 0usize..250,
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
            let name = format!("{} {n} {}", NAMES[name], "x".repeat(pad));
            let k = key(org, n, &name, category, n % 2 == 0);
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

#[test]
fn a_row_stays_small() {
    // Memory is the constraint (see `key_rows`); the flag's niche keeps a free slot
    // (`None`) at no extra cost.
    assert_eq!(std::mem::size_of::<Option<Row>>(), 96);
}
