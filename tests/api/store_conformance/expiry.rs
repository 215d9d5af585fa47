//! Key expiry in the store: `expires_at` of API keys, application keys and client tokens is
//! kept on insert, set and cleared by updates, carried by the index entries, and every change
//! of it is logged, so each node's index learns it.

use super::{api_key, app_key, client_token, key_name, seeded, SECOND, T0};
use keyplane::domain::api_key::{ApiKey, ApiKeyChange};
use keyplane::domain::application_key::{ApplicationKey, ApplicationKeyChange};
use keyplane::domain::client_token::{ClientToken, ClientTokenChange};
use keyplane::domain::credential::ChangeKind;
use keyplane::store::Store;
use std::sync::Arc;

const LATER: i64 = T0 + 3_600 * SECOND;

fn api_change(name: &str, expires_at: Option<Option<i64>>, by: uuid::Uuid) -> ApiKeyChange {
    ApiKeyChange {
        name: key_name(name),
        category: None,
        remote_config_read_enabled: None,
        expires_at,
        modified_by: by,
        modified_at: T0 + 2 * SECOND,
    }
}

pub(super) async fn key_expiry(store: Arc<dyn Store>) {
    let store = &*store;
    let (o, admin) = seeded(store).await;

    let key = api_key(&o, &admin, "expiring", T0);
    let key = ApiKey {
        expires_at: Some(LATER),
        ..key
    };
    store.create_api_key(&key, 10).await.expect("api key");
    let plain = api_key(&o, &admin, "plain", T0);
    store.create_api_key(&plain, 10).await.expect("plain key");
    let got = store.get_api_key(o.id, key.id).await.expect("get");
    assert_eq!(got.expires_at, Some(LATER));
    let found = store.find_api_key(&key.digest).await.expect("find");
    assert_eq!(found.and_then(|k| k.expires_at), Some(LATER));
    let got = store.get_api_key(o.id, plain.id).await.expect("get plain");
    assert_eq!(got.expires_at, None);

    // Leaving it, changing it, clearing it; each update that touches it is logged.
    let before = store.change_seq().await.expect("seq");
    let kept = store
        .update_api_key(o.id, key.id, &api_change("expiring", None, admin.id))
        .await
        .expect("keep");
    assert_eq!(kept.expires_at, Some(LATER));
    let moved = store
        .update_api_key(
            o.id,
            key.id,
            &api_change("expiring", Some(Some(LATER + SECOND)), admin.id),
        )
        .await
        .expect("move");
    assert_eq!(moved.expires_at, Some(LATER + SECOND));
    let cleared = store
        .update_api_key(o.id, key.id, &api_change("expiring", Some(None), admin.id))
        .await
        .expect("clear");
    assert_eq!(cleared.expires_at, None);
    let logged = store.changes_since(before, 100).await.expect("log");
    assert!(
        logged
            .iter()
            .filter(|c| c.kind == ChangeKind::ApiKey && c.id == key.id)
            .count()
            >= 3,
        "{logged:?}"
    );

    let app = ApplicationKey {
        expires_at: Some(LATER),
        ..app_key(&admin, "expiring app", T0)
    };
    store.create_application_key(&app, 10).await.expect("app");
    let entries = store
        .application_keys_after(None, 100)
        .await
        .expect("entries");
    let entry = entries.iter().find(|k| k.id == app.id);
    assert_eq!(entry.and_then(|k| k.expires_at), Some(LATER));
    let before = store.change_seq().await.expect("seq");
    let renamed = store
        .update_application_key(
            o.id,
            app.id,
            &ApplicationKeyChange {
                name: Some(key_name("renamed app")),
                ..ApplicationKeyChange::default()
            },
        )
        .await
        .expect("rename");
    assert_eq!(renamed.expires_at, Some(LATER));
    let cleared = store
        .update_application_key(
            o.id,
            app.id,
            &ApplicationKeyChange {
                expires_at: Some(None),
                ..ApplicationKeyChange::default()
            },
        )
        .await
        .expect("clear");
    assert_eq!(cleared.expires_at, None);
    let stored = store.get_application_key(o.id, app.id).await.expect("get");
    assert_eq!(
        (stored.name.as_str(), stored.expires_at),
        ("renamed app", None)
    );
    let set = store
        .update_application_key(
            o.id,
            app.id,
            &ApplicationKeyChange {
                expires_at: Some(Some(LATER)),
                ..ApplicationKeyChange::default()
            },
        )
        .await
        .expect("set");
    assert_eq!(set.expires_at, Some(LATER));
    let logged = store.changes_since(before, 100).await.expect("log");
    assert_eq!(
        logged
            .iter()
            .filter(|c| c.kind == ChangeKind::ApplicationKey && c.id == app.id)
            .count(),
        3,
        "{logged:?}"
    );

    let token = ClientToken {
        expires_at: Some(LATER),
        ..client_token(&o, &admin, "expiring token", T0)
    };
    store.create_client_token(&token).await.expect("token");
    let entries = store.client_tokens_after(None, 100).await.expect("entries");
    let entry = entries.iter().find(|t| t.id == token.id);
    assert_eq!(entry.and_then(|t| t.expires_at), Some(LATER));
    let change = |expires_at| ClientTokenChange {
        name: key_name("expiring token"),
        expires_at,
        modified_by: admin.id,
        modified_at: T0 + SECOND,
    };
    let kept = store
        .update_client_token(o.id, token.id, &change(None))
        .await
        .expect("keep");
    assert_eq!(kept.expires_at, Some(LATER));
    let cleared = store
        .update_client_token(o.id, token.id, &change(Some(None)))
        .await
        .expect("clear");
    assert_eq!(cleared.expires_at, None);
    let set = store
        .update_client_token(o.id, token.id, &change(Some(Some(LATER + SECOND))))
        .await
        .expect("set");
    assert_eq!(set.expires_at, Some(LATER + SECOND));
    let found = store.find_client_token(&token.digest).await.expect("find");
    assert_eq!(found.and_then(|t| t.expires_at), Some(LATER + SECOND));

    // What `keyplane migrate` copies keeps its expiry.
    let api = ApiKey {
        expires_at: Some(LATER),
        ..api_key(&o, &admin, "imported", T0)
    };
    let app = ApplicationKey {
        expires_at: Some(LATER),
        ..app_key(&admin, "imported app", T0)
    };
    let token = ClientToken {
        expires_at: Some(LATER),
        ..client_token(&o, &admin, "imported token", T0)
    };
    store
        .import_api_keys(std::slice::from_ref(&api))
        .await
        .expect("import");
    store
        .import_application_keys(std::slice::from_ref(&app))
        .await
        .expect("import");
    store
        .import_client_tokens(std::slice::from_ref(&token))
        .await
        .expect("import");
    let api = store.get_api_key(o.id, api.id).await.expect("get");
    let app = store.get_application_key(o.id, app.id).await.expect("get");
    let token = store.get_client_token(o.id, token.id).await.expect("get");
    assert_eq!(
        (api.expires_at, app.expires_at, token.expires_at),
        (Some(LATER), Some(LATER), Some(LATER))
    );
}
