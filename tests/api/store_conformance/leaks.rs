//! Leak records in the store: written once per credential, read back per organization.

use super::{org, seeded, SECOND, T0};
use keyplane::domain::leak::{LeakKind, LeakedKey};
use keyplane::store::Store;
use std::sync::Arc;
use uuid::Uuid;

fn leak(org_id: Uuid, kind: LeakKind, credential_id: Uuid, at: i64) -> LeakedKey {
    LeakedKey {
        id: Uuid::new_v4(),
        org_id,
        kind,
        credential_id,
        date: at,
        source: Some("https://example.test/paste".to_owned()),
    }
}

pub(super) async fn leaked_keys(store: Arc<dyn Store>) {
    let store = &*store;
    let (o, _) = seeded(store).await;
    let other = org("Other");
    store.create_org(&other).await.expect("org");
    let (api, app, token) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let first = leak(o.id, LeakKind::ApiKey, api, T0);
    assert!(store.record_leak(&first).await.expect("record"));
    // A second report of the same credential writes nothing: the first record stands.
    let again = leak(o.id, LeakKind::ApiKey, api, T0 + SECOND);
    assert!(!store.record_leak(&again).await.expect("record again"));
    let second = LeakedKey {
        source: None,
        ..leak(o.id, LeakKind::ApplicationKey, app, T0 + SECOND)
    };
    assert!(store.record_leak(&second).await.expect("record"));
    let elsewhere = leak(other.id, LeakKind::AccessToken, token, T0);
    assert!(store.record_leak(&elsewhere).await.expect("record"));

    let mut found = store
        .leaks_of(o.id, &[api, app, token, Uuid::new_v4()])
        .await
        .expect("leaks");
    found.sort_by_key(|l| l.date);
    assert_eq!(found, vec![first, second]);
    assert!(store.leaks_of(o.id, &[]).await.expect("none").is_empty());
    assert_eq!(
        store.leaks_of(other.id, &[token]).await.expect("other"),
        vec![elsewhere.clone()]
    );
    let all = store.org_leaks(o.id).await.expect("all");
    assert_eq!(all, found);
    assert_eq!(
        store.org_leaks(other.id).await.expect("all"),
        vec![elsewhere]
    );
}
