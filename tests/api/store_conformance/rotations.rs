//! Rotations in the store: the secret replaced in place, the previous one kept with its
//! deadline and following later rotations, the change log that carries both to every node,
//! and a deleted key taking its previous secrets with it.

use super::{api_key, seeded, SECOND, T0};
use keyplane::domain::credential::ChangeKind;
use keyplane::domain::rotation::{Caller, CallerSeen, RotatedKind, Rotation};
use keyplane::domain::secret::KeyDigest;
use keyplane::store::{Store, StoreError};
use std::sync::Arc;
use uuid::Uuid;

fn rotation(org_id: Uuid, key_id: Uuid, secret: &str, at: i64, grace: i64) -> Rotation {
    Rotation {
        kind: RotatedKind::ApiKey,
        org_id,
        key_id,
        digest: KeyDigest::of(secret),
        sealed_key: secret.as_bytes().to_vec(),
        last4: secret[secret.len() - 4..].to_owned(),
        rotated_by: Uuid::nil(),
        rotated_at: at,
        previous_valid_until: at + grace,
    }
}

pub(super) async fn rotations(store: Arc<dyn Store>) {
    let store = &*store;
    let (o, admin) = seeded(store).await;
    let key = api_key(&o, &admin, "rotated", T0);
    store.create_api_key(&key, 10).await.expect("create");
    let seq = store.change_seq().await.expect("seq");

    let first = rotation(o.id, key.id, "second-secret-0001", T0 + SECOND, 60 * SECOND);
    store.rotate_secret(&first).await.expect("rotate");
    let got = store.get_api_key(o.id, key.id).await.expect("get");
    assert!(got.digest.matches(&first.digest));
    assert_eq!(got.last4, "0001");
    assert_eq!(got.name, key.name);
    assert_eq!(got.created_at, key.created_at);
    assert_eq!(got.modified_at, T0 + SECOND);
    assert!(store
        .find_api_key(&key.digest)
        .await
        .expect("find")
        .is_none());
    let previous = store
        .find_previous_secret(&key.digest)
        .await
        .expect("previous")
        .expect("kept");
    assert_eq!(previous.key_id, key.id);
    assert_eq!(previous.kind, RotatedKind::ApiKey);
    assert!(previous.current_digest.matches(&first.digest));
    assert_eq!(previous.valid_until, T0 + 61 * SECOND);
    // The log says: the previous secret, the old digest gone, the new one there.
    let changes = store.changes_since(seq, 100).await.expect("changes");
    let kinds: Vec<_> = changes.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            ChangeKind::PreviousSecret,
            ChangeKind::ApiKey,
            ChangeKind::ApiKey
        ],
        "{changes:?}"
    );
    assert!(changes[1].digest.expect("old").matches(&key.digest));
    assert!(changes[2].digest.expect("new").matches(&first.digest));

    // Callers counted on two nodes merge: the earliest first sighting, the latest last one,
    // the sum of requests; a key without previous secrets records none.
    let agent = Caller {
        source: "10.0.0.7".to_owned(),
        user_agent: "datadog-agent/7.70.0".to_owned(),
        hostname: "web-1".to_owned(),
    };
    let seen = |key_id: Uuid, first: i64, last: i64, requests: u64| CallerSeen {
        key_id,
        org_id: o.id,
        caller: agent.clone(),
        first_seen: first,
        last_seen: last,
        requests,
    };
    store
        .record_rotation_callers(&[seen(key.id, T0 + 5 * SECOND, T0 + 6 * SECOND, 3)])
        .await
        .expect("record");
    store
        .record_rotation_callers(&[
            seen(key.id, T0 + 4 * SECOND, T0 + 5 * SECOND, 2),
            seen(Uuid::new_v4(), T0, T0, 1),
        ])
        .await
        .expect("record again");
    let callers = store.rotation_callers(o.id, key.id).await.expect("callers");
    assert_eq!(callers, [seen(key.id, T0 + 4 * SECOND, T0 + 6 * SECOND, 5)]);

    // A second rotation: the first previous secret now leads to the newest secret.
    let second = rotation(o.id, key.id, "third-secret-0002", T0 + 2 * SECOND, 0);
    store.rotate_secret(&second).await.expect("rotate again");
    let previous = store
        .find_previous_secret(&key.digest)
        .await
        .expect("previous")
        .expect("kept");
    assert!(previous.current_digest.matches(&second.digest));
    // No grace: the secret it replaced is not kept.
    assert!(store
        .find_previous_secret(&first.digest)
        .await
        .expect("none")
        .is_none());
    assert_eq!(
        store
            .previous_secrets_of(o.id, key.id)
            .await
            .expect("of")
            .len(),
        1
    );
    assert_eq!(
        store
            .live_previous_secrets(T0 + 61 * SECOND - 1)
            .await
            .expect("live")
            .len(),
        1
    );
    assert!(store
        .live_previous_secrets(T0 + 61 * SECOND)
        .await
        .expect("live")
        .is_empty());
    // Unknown keys and other organizations' keys are not found.
    let stray = rotation(o.id, Uuid::new_v4(), "nothing-here-0003", T0, SECOND);
    assert!(matches!(
        store.rotate_secret(&stray).await,
        Err(StoreError::NotFound)
    ));
    let foreign = rotation(Uuid::new_v4(), key.id, "nothing-here-0004", T0, SECOND);
    assert!(matches!(
        store.rotate_secret(&foreign).await,
        Err(StoreError::NotFound)
    ));

    // A deleted key takes its previous secrets along, and the log says so.
    let keep = api_key(&o, &admin, "keeps the org alive", T0);
    store.create_api_key(&keep, 10).await.expect("create");
    let seq = store.change_seq().await.expect("seq");
    store.delete_api_key(o.id, key.id).await.expect("delete");
    assert!(store
        .find_previous_secret(&key.digest)
        .await
        .expect("gone")
        .is_none());
    assert!(store
        .rotation_callers(o.id, key.id)
        .await
        .expect("callers")
        .is_empty());
    let changes = store.changes_since(seq, 100).await.expect("changes");
    assert!(
        changes.iter().any(|c| c.kind == ChangeKind::PreviousSecret
            && c.digest.is_some_and(|d| d.matches(&key.digest))),
        "{changes:?}"
    );

    // Sweeping forgets what ended before the cut.
    let other = api_key(&o, &admin, "swept", T0);
    store.create_api_key(&other, 10).await.expect("create");
    let swept = rotation(o.id, other.id, "swept-secret-0005", T0, SECOND);
    store.rotate_secret(&swept).await.expect("rotate");
    assert_eq!(store.sweep_previous_secrets(T0).await.expect("sweep"), 0);
    assert_eq!(
        store
            .sweep_previous_secrets(T0 + 2 * SECOND)
            .await
            .expect("sweep"),
        1
    );
}
