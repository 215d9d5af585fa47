//! Store conformance for access tokens, on SQLite and PostgreSQL alike: rows, lists, changes,
//! usage, and the change log and index entries every node follows.

use crate::store_conformance::{postgres_store, seeded, sqlite_store, user};
use keyplane::domain::access_token::{
    generate, AccessToken, AccessTokenChange, AccessTokenFilter, AccessTokenQuery,
    AccessTokenSortField, TokenKind,
};
use keyplane::domain::credential::ChangeKind;
use keyplane::domain::list::{Page, Sort};
use keyplane::domain::name::KeyName;
use keyplane::domain::user::{Role, User};
use keyplane::store::{Store, StoreError};
use std::sync::Arc;
use uuid::Uuid;

const T0: i64 = 1_735_689_600_000_000;
const SECOND: i64 = 1_000_000;

fn token(owner: &User, kind: TokenKind, name: &str, at: i64, expires: Option<i64>) -> AccessToken {
    let id = Uuid::new_v4();
    AccessToken {
        id,
        org_id: owner.org_id,
        owner_id: owner.id,
        kind,
        name: name.to_owned(),
        digest: generate(kind, id).digest(),
        scopes: vec!["api_keys_read".to_owned()],
        created_at: at,
        expires_at: expires,
        modified_at: None,
        last_used_at: None,
    }
}

fn query(
    field: AccessTokenSortField,
    descending: bool,
    filter: AccessTokenFilter,
) -> AccessTokenQuery {
    AccessTokenQuery {
        filter,
        sort: Sort { field, descending },
        page: Page {
            size: 100,
            number: 0,
        },
    }
}

fn names(tokens: &[AccessToken]) -> Vec<&str> {
    tokens.iter().map(|t| t.name.as_str()).collect()
}

async fn access_tokens(store: Arc<dyn Store>) {
    let store = &*store;
    let (o, admin) = seeded(store).await;
    let mut robot = user(&o, "robot@acme.test", &[Role::Standard], T0);
    robot.service_account = true;
    store.create_user(&robot).await.expect("robot");
    let start = store.change_seq().await.expect("seq");
    let tokens = [
        token(
            &admin,
            TokenKind::Personal,
            "beta",
            T0,
            Some(T0 + 9 * SECOND),
        ),
        token(
            &admin,
            TokenKind::Personal,
            "Alpha",
            T0 + SECOND,
            Some(T0 + 5 * SECOND),
        ),
        token(
            &robot,
            TokenKind::ServiceAccount,
            "gamma",
            T0 + 2 * SECOND,
            None,
        ),
    ];
    for t in &tokens {
        store.create_access_token(t).await.expect("create");
    }
    let got = store
        .get_access_token(o.id, tokens[2].id)
        .await
        .expect("get");
    assert_eq!(
        (got.kind, got.owner_id, got.expires_at, got.scopes.clone()),
        (
            TokenKind::ServiceAccount,
            robot.id,
            None,
            vec!["api_keys_read".to_owned()]
        )
    );
    assert!(matches!(
        store.get_access_token(Uuid::new_v4(), tokens[0].id).await,
        Err(StoreError::NotFound)
    ));
    let found = store
        .find_access_token(&tokens[1].digest)
        .await
        .expect("find");
    assert_eq!(found.map(|t| t.id), Some(tokens[1].id));

    let all = AccessTokenFilter::default();
    let (page, total) = store
        .list_access_tokens(o.id, &query(AccessTokenSortField::Name, false, all.clone()))
        .await
        .expect("list");
    assert_eq!((names(&page), total), (vec!["Alpha", "beta", "gamma"], 3));
    // A token that never expires sorts after the others ascending, on both backends.
    let (page, _) = store
        .list_access_tokens(
            o.id,
            &query(AccessTokenSortField::ExpiresAt, false, all.clone()),
        )
        .await
        .expect("by expiry");
    assert_eq!(names(&page), vec!["Alpha", "beta", "gamma"]);
    let (page, _) = store
        .list_access_tokens(o.id, &query(AccessTokenSortField::CreatedAt, true, all))
        .await
        .expect("by creation");
    assert_eq!(names(&page), vec!["gamma", "Alpha", "beta"]);
    let by_robot = AccessTokenFilter {
        owners: vec![robot.id],
        ..AccessTokenFilter::default()
    };
    let (page, total) = store
        .list_access_tokens(o.id, &query(AccessTokenSortField::Name, false, by_robot))
        .await
        .expect("by owner");
    assert_eq!((names(&page), total), (vec!["gamma"], 1));
    let named = AccessTokenFilter {
        name_contains: Some("ALP".into()),
        kind: Some(TokenKind::Personal),
        ..AccessTokenFilter::default()
    };
    let (page, _) = store
        .list_access_tokens(o.id, &query(AccessTokenSortField::Name, false, named))
        .await
        .expect("by name");
    assert_eq!(names(&page), vec!["Alpha"]);

    let change = AccessTokenChange {
        name: Some(KeyName::parse("delta").expect("name")),
        scopes: Some(vec!["user_app_keys".into()]),
    };
    let changed = store
        .update_access_token(o.id, tokens[0].id, &change, T0 + 7 * SECOND)
        .await
        .expect("update");
    assert_eq!(
        (
            changed.name.as_str(),
            changed.modified_at,
            changed.expires_at
        ),
        ("delta", Some(T0 + 7 * SECOND), Some(T0 + 9 * SECOND))
    );
    let reread = store
        .get_access_token(o.id, tokens[0].id)
        .await
        .expect("reread");
    assert_eq!(reread.scopes, vec!["user_app_keys".to_owned()]);

    store
        .record_token_usage(&[
            (tokens[1].id, T0 + 8 * SECOND),
            (tokens[1].id, T0 + 3 * SECOND),
        ])
        .await
        .expect("usage");
    let used = store
        .get_access_token(o.id, tokens[1].id)
        .await
        .expect("used");
    assert_eq!(used.last_used_at, Some(T0 + 8 * SECOND));

    store
        .delete_access_token(o.id, tokens[1].id)
        .await
        .expect("delete");
    assert!(matches!(
        store.delete_access_token(o.id, tokens[1].id).await,
        Err(StoreError::NotFound)
    ));
    // Creates, the rescope and the delete are logged, usage is not.
    let changes = store.changes_since(start, 100).await.expect("changes");
    let logged: Vec<(ChangeKind, Uuid)> = changes.iter().map(|c| (c.kind, c.id)).collect();
    assert_eq!(
        logged,
        vec![
            (ChangeKind::AccessToken, tokens[0].id),
            (ChangeKind::AccessToken, tokens[1].id),
            (ChangeKind::AccessToken, tokens[2].id),
            (ChangeKind::AccessToken, tokens[0].id),
            (ChangeKind::AccessToken, tokens[1].id),
        ]
    );
    assert!(changes.iter().all(|c| c.digest.is_some()));
    let entries = store
        .access_token_entries(None, 100)
        .await
        .expect("entries");
    let mut ids: Vec<Uuid> = entries.iter().map(|(_, e)| e.id).collect();
    ids.sort();
    let mut want = vec![tokens[0].id, tokens[2].id];
    want.sort();
    assert_eq!(ids, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_tokens_on_sqlite() {
    let (store, _dir) = sqlite_store().await;
    access_tokens(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_tokens_on_postgres() {
    let Some((store, _db)) = postgres_store().await else {
        return;
    };
    access_tokens(store).await;
}
