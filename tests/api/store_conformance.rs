//! One story of storage behaviour, told to every backend through `keyplane::store::connect`:
//! SQLite in a temp dir and PostgreSQL in a fresh database (see `TestDb`). A backend passes
//! when it answers exactly as the others do.

mod expiry;
mod leaks;
mod roles;
mod rotations;

use crate::helpers::TestDb;
use expiry::key_expiry;
use keyplane::domain::api_key::{ApiKey, ApiKeyChange, ApiKeyFilter, ApiKeyQuery, ApiKeySortField};
use keyplane::domain::application_key::{
    ApplicationKey, ApplicationKeyChange, ApplicationKeyFilter, ApplicationKeyQuery,
    ApplicationKeySortField,
};
use keyplane::domain::audit::{Action, AuditEvent, AuditKey, AuditQuery, Verifier, Via};
use keyplane::domain::client_token::{
    ClientToken, ClientTokenChange, ClientTokenFilter, ClientTokenQuery, ClientTokenSortField,
};
use keyplane::domain::credential::ChangeKind;
use keyplane::domain::invitation::{Invitation, InviteType};
use keyplane::domain::list::{Page, Sort};
use keyplane::domain::name::KeyName;
use keyplane::domain::org::Org;
use keyplane::domain::secret::{KeyDigest, Secret};
use keyplane::domain::session::Session;
use keyplane::domain::user::{Role, User, UserChange, UserQuery, UserSortField, UserStatus};
use keyplane::store::{Store, StoreError, StoredConfig};
use leaks::leaked_keys;
use roles::{custom_roles, last_admin_keeps_the_admin_role};
use rotations::rotations;
use std::sync::Arc;
use uuid::Uuid;

/// 2025-01-01T00:00:00Z; every timestamp of the story is this plus a few seconds.
const T0: i64 = 1_735_689_600_000_000;
const SECOND: i64 = 1_000_000;

fn org(name: &str) -> Org {
    Org {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        one_time_read: false,
        created_at: T0,
        num: None,
    }
}

pub(crate) fn user(org: &Org, email: &str, roles: &[Role], at: i64) -> User {
    User {
        id: Uuid::new_v4(),
        org_id: org.id,
        email: email.to_owned(),
        name: Some(format!("Name of {email}")),
        handle: email.to_owned(),
        title: None,
        roles: roles.iter().map(|r| r.id()).collect(),
        status: UserStatus::Active,
        service_account: false,
        password_hash: Some("$argon2id$stand-in".to_owned()),
        created_at: at,
        modified_at: at,
    }
}

fn api_key(org: &Org, creator: &User, name: &str, at: i64) -> ApiKey {
    let secret = Secret::random_hex(16);
    ApiKey {
        id: Uuid::new_v4(),
        org_id: org.id,
        name: name.to_owned(),
        digest: secret.digest(),
        sealed_key: vec![1, 2, 3, 4],
        last4: secret.last4(),
        category: "default".to_owned(),
        remote_config_read_enabled: true,
        created_by: creator.id,
        modified_by: None,
        created_at: at,
        modified_at: at,
        date_last_used: None,
        expires_at: None,
    }
}

fn app_key(owner: &User, name: &str, at: i64) -> ApplicationKey {
    let secret = Secret::random_hex(20);
    ApplicationKey {
        id: Uuid::new_v4(),
        org_id: owner.org_id,
        owner_id: owner.id,
        name: name.to_owned(),
        digest: secret.digest(),
        sealed_key: vec![5, 6, 7],
        last4: secret.last4(),
        scopes: None,
        created_at: at,
        last_used_at: None,
        expires_at: None,
    }
}

fn api_query(sort: ApiKeySortField, descending: bool, size: u32, number: u32) -> ApiKeyQuery {
    ApiKeyQuery {
        filter: ApiKeyFilter::default(),
        sort: Sort {
            field: sort,
            descending,
        },
        page: Page { size, number },
    }
}

fn app_query(sort: ApplicationKeySortField, descending: bool) -> ApplicationKeyQuery {
    ApplicationKeyQuery {
        filter: ApplicationKeyFilter::default(),
        sort: Sort {
            field: sort,
            descending,
        },
        page: Page {
            size: 100,
            number: 0,
        },
    }
}

fn user_query(sort: UserSortField, descending: bool) -> UserQuery {
    UserQuery {
        filter: None,
        statuses: Vec::new(),
        sort: Sort {
            field: sort,
            descending,
        },
        page: Page {
            size: 100,
            number: 0,
        },
    }
}

fn names<T>(items: &[T], name: fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|i| name(i).to_owned()).collect()
}

fn api_names(keys: &[ApiKey]) -> Vec<String> {
    names(keys, |k| &k.name)
}

fn key_name(text: &str) -> KeyName {
    KeyName::parse(text).expect("valid name")
}

/// An organization with one admin, ready for keys.
pub(crate) async fn seeded(store: &dyn Store) -> (Org, User) {
    let o = org("acme");
    store.create_org(&o).await.expect("org");
    let admin = user(&o, "admin@acme.test", &[Role::Admin], T0);
    store.create_user(&admin).await.expect("admin");
    (o, admin)
}

async fn orgs(store: Arc<dyn Store>) {
    let store = &*store;
    assert_eq!(store.org_count().await.expect("count"), 0);
    let a = org("a");
    let mut b = org("b");
    b.created_at = T0 + SECOND;
    store.create_org(&b).await.expect("b");
    store.create_org(&a).await.expect("a");
    assert_eq!(store.org_count().await.expect("count"), 2);
    let listed = store.list_orgs().await.expect("list");
    assert_eq!(
        listed.iter().map(|o| o.id).collect::<Vec<_>>(),
        [a.id, b.id]
    );
    store.set_one_time_read(a.id, true).await.expect("otr");
    let got = store.get_org(a.id).await.expect("get");
    assert!(got.one_time_read);
    assert_eq!(
        (got.name.as_str(), got.created_at),
        (a.name.as_str(), a.created_at)
    );
    assert!(matches!(
        store.get_org(Uuid::new_v4()).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.set_one_time_read(Uuid::new_v4(), true).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.create_org(&a).await,
        Err(StoreError::Conflict("unique"))
    ));
}

async fn users(store: Arc<dyn Store>) {
    let store = &*store;
    let (o, admin) = seeded(store).await;
    let mut bob = user(&o, "bob@acme.test", &[Role::Standard], T0 + SECOND);
    bob.name = Some("bob".to_owned());
    bob.title = Some("engineer".to_owned());
    store.create_user(&bob).await.expect("bob");
    let mut carol = user(&o, "carol@acme.test", &[], T0 + 2 * SECOND);
    carol.name = Some("Carol".to_owned());
    carol.status = UserStatus::Pending;
    store.create_user(&carol).await.expect("carol");
    let mut robot = user(&o, "robot@acme.test", &[Role::Admin], T0 + 3 * SECOND);
    robot.service_account = true;
    robot.password_hash = None;
    robot.handle = robot.id.to_string();
    store.create_user(&robot).await.expect("robot");

    let got = store.get_user(o.id, bob.id).await.expect("get");
    assert_eq!(got.email, "bob@acme.test");
    assert_eq!(got.title.as_deref(), Some("engineer"));
    assert_eq!(got.roles, [Role::Standard.id()]);
    assert_eq!(got.status, UserStatus::Active);
    assert_eq!(
        (got.created_at, got.modified_at),
        (T0 + SECOND, T0 + SECOND)
    );
    let got = store.get_user(o.id, robot.id).await.expect("robot");
    assert!(got.service_account);
    assert_eq!(got.password_hash, None);
    assert_eq!(got.handle, robot.id.to_string());
    assert_eq!(
        store.get_user(o.id, carol.id).await.expect("c").roles,
        Vec::<Uuid>::new()
    );
    assert_eq!(
        store
            .find_user_by_email(o.id, "carol@acme.test")
            .await
            .expect("by email")
            .id,
        carol.id
    );
    // Sealed organizations: another organization's id finds nothing.
    let other = org("other");
    store.create_org(&other).await.expect("other");
    assert!(matches!(
        store.get_user(other.id, bob.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.find_user_by_email(o.id, "nobody@acme.test").await,
        Err(StoreError::NotFound)
    ));
    let dup = user(&o, "bob@acme.test", &[], T0);
    assert!(matches!(
        store.create_user(&dup).await,
        Err(StoreError::Conflict("email"))
    ));
    // The same email in another organization is another user.
    store
        .create_user(&user(&other, "bob@acme.test", &[], T0))
        .await
        .expect("same email elsewhere");

    let by_ids = store
        .users_by_ids(o.id, &[carol.id, bob.id, Uuid::new_v4()])
        .await
        .expect("by ids");
    assert_eq!(
        by_ids.iter().map(|u| u.id).collect::<Vec<_>>(),
        [bob.id, carol.id]
    );
    assert!(store
        .users_by_ids(o.id, &[])
        .await
        .expect("none")
        .is_empty());
    let admins = store.list_admins(o.id).await.expect("admins");
    assert_eq!(
        admins.iter().map(|u| u.id).collect::<Vec<_>>(),
        [admin.id],
        "service accounts and other roles are not admins"
    );

    let (page, matched, total) = store
        .list_users(o.id, &user_query(UserSortField::Name, false))
        .await
        .expect("list");
    assert_eq!((matched, total), (4, 4));
    let emails: Vec<_> = page.iter().map(|u| u.email.as_str()).collect();
    // Names compare case-insensitively: "bob" < "Carol" < "Name of …".
    assert_eq!(
        emails,
        [
            "bob@acme.test",
            "carol@acme.test",
            "admin@acme.test",
            "robot@acme.test"
        ]
    );
    let (page, _, _) = store
        .list_users(o.id, &user_query(UserSortField::Email, true))
        .await
        .expect("by email desc");
    assert_eq!(page[0].email, "robot@acme.test");
    let (page, _, _) = store
        .list_users(o.id, &user_query(UserSortField::Status, false))
        .await
        .expect("by status");
    assert_eq!(page[3].email, "carol@acme.test", "Pending sorts last");
    let mut filtered = user_query(UserSortField::CreatedAt, false);
    filtered.filter = Some("CAROL".to_owned());
    let (page, matched, total) = store.list_users(o.id, &filtered).await.expect("filter");
    assert_eq!((page.len(), matched, total), (1, 1, 4));
    let mut filtered = user_query(UserSortField::CreatedAt, false);
    filtered.statuses = vec![UserStatus::Pending, UserStatus::Disabled];
    let (page, matched, _) = store.list_users(o.id, &filtered).await.expect("status");
    assert_eq!((page[0].id, matched), (carol.id, 1));
    let mut paged = user_query(UserSortField::CreatedAt, true);
    paged.page = Page { size: 3, number: 1 };
    let (page, matched, _) = store.list_users(o.id, &paged).await.expect("page 1");
    assert_eq!((page.len(), page[0].id, matched), (1, admin.id, 4));

    let change = UserChange {
        email: Some("robert@acme.test".to_owned()),
        name: Some("Robert".to_owned()),
        title: Some(None),
        disabled: None,
        password_hash: None,
    };
    let updated = store
        .update_user(o.id, bob.id, &change, T0 + 10 * SECOND)
        .await
        .expect("update");
    assert_eq!(
        (updated.email.as_str(), updated.handle.as_str()),
        ("robert@acme.test", "robert@acme.test")
    );
    assert_eq!(updated.title, None);
    let reread = store.get_user(o.id, bob.id).await.expect("reread");
    assert_eq!(
        (reread.name.as_deref(), reread.modified_at),
        (Some("Robert"), T0 + 10 * SECOND)
    );
    let steal = UserChange {
        email: Some("carol@acme.test".to_owned()),
        ..UserChange::default()
    };
    assert!(matches!(
        store.update_user(o.id, bob.id, &steal, T0).await,
        Err(StoreError::Conflict("email"))
    ));
    assert!(matches!(
        store.update_user(o.id, Uuid::new_v4(), &change, T0).await,
        Err(StoreError::NotFound)
    ));
    // A service account's handle is its id, whatever its email becomes.
    let renamed = store
        .update_user(
            o.id,
            robot.id,
            &UserChange {
                email: Some("bot@acme.test".to_owned()),
                ..UserChange::default()
            },
            T0,
        )
        .await
        .expect("robot email");
    assert_eq!(renamed.handle, robot.id.to_string());
    let disable = UserChange {
        disabled: Some(true),
        ..UserChange::default()
    };
    let disabled = store
        .update_user(o.id, carol.id, &disable, T0)
        .await
        .expect("disable");
    assert_eq!(disabled.status, UserStatus::Disabled);
    let enable = UserChange {
        disabled: Some(false),
        ..UserChange::default()
    };
    let enabled = store
        .update_user(o.id, carol.id, &enable, T0)
        .await
        .expect("enable");
    assert_eq!(enabled.status, UserStatus::Active);
}

async fn api_keys(store: Arc<dyn Store>) {
    let store = &*store;
    let (o, admin) = seeded(store).await;
    let names = ["beta", "Alpha", "gamma", "épsilon", "Delta"];
    let mut keys = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut key = api_key(&o, &admin, name, T0 + i as i64 * SECOND);
        key.modified_at = T0 + (10 - i as i64) * SECOND;
        key.category = if i % 2 == 0 { "default" } else { "ci" }.to_owned();
        key.remote_config_read_enabled = i != 2;
        store.create_api_key(&key, 5).await.expect("create");
        keys.push(key);
    }
    let extra = api_key(&o, &admin, "one too many", T0);
    assert!(matches!(
        store.create_api_key(&extra, 5).await,
        Err(StoreError::LimitReached { count: 5 })
    ));
    let got = store.get_api_key(o.id, keys[1].id).await.expect("get");
    assert_eq!(got.name, "Alpha");
    assert_eq!(got.digest, keys[1].digest);
    assert_eq!(got.sealed_key, [1, 2, 3, 4]);
    assert_eq!(got.last4, keys[1].last4);
    assert_eq!(
        (got.category.as_str(), got.created_by, got.modified_by),
        ("ci", admin.id, None)
    );
    let found = store.find_api_key(&keys[3].digest).await.expect("find");
    assert_eq!(found.map(|k| k.id), Some(keys[3].id));
    assert!(store
        .find_api_key(&KeyDigest::of("nope"))
        .await
        .expect("find none")
        .is_none());
    assert!(matches!(
        store.get_api_key(Uuid::new_v4(), keys[0].id).await,
        Err(StoreError::NotFound)
    ));

    let list = |sort, desc| async move {
        let query = api_query(sort, desc, 100, 0);
        store.list_api_keys(o.id, &query).await
    };
    let (by_name, total) = list(ApiKeySortField::Name, false).await.expect("by name");
    assert_eq!(total, 5);
    assert_eq!(
        api_names(&by_name),
        ["Alpha", "beta", "Delta", "gamma", "épsilon"]
    );
    let (by_name, _) = list(ApiKeySortField::Name, true).await.expect("desc");
    assert_eq!(api_names(&by_name)[0], "épsilon");
    let (by_created, _) = list(ApiKeySortField::CreatedAt, true)
        .await
        .expect("created");
    assert_eq!(
        api_names(&by_created),
        ["Delta", "épsilon", "gamma", "Alpha", "beta"]
    );
    let (by_modified, _) = list(ApiKeySortField::ModifiedAt, false).await.expect("mod");
    assert_eq!(api_names(&by_modified)[0], "Delta");
    let (by_last4, _) = list(ApiKeySortField::Last4, false).await.expect("last4");
    let mut last4s: Vec<_> = keys.iter().map(|k| k.last4.clone()).collect();
    last4s.sort();
    assert_eq!(
        by_last4.iter().map(|k| k.last4.clone()).collect::<Vec<_>>(),
        last4s
    );
    let (page, total) = store
        .list_api_keys(o.id, &api_query(ApiKeySortField::CreatedAt, false, 2, 2))
        .await
        .expect("page 2");
    assert_eq!((api_names(&page), total), (vec!["Delta".to_owned()], 5));

    let filtered = |filter: ApiKeyFilter| {
        let mut q = api_query(ApiKeySortField::CreatedAt, false, 100, 0);
        q.filter = filter;
        async move { store.list_api_keys(o.id, &q).await.expect("filter") }
    };
    let (hits, total) = filtered(ApiKeyFilter {
        name_contains: Some("ALP".to_owned()),
        ..ApiKeyFilter::default()
    })
    .await;
    assert_eq!((api_names(&hits), total), (vec!["Alpha".to_owned()], 1));
    let (hits, _) = filtered(ApiKeyFilter {
        name_contains: Some("ÉPS".to_owned()),
        ..ApiKeyFilter::default()
    })
    .await;
    assert_eq!(api_names(&hits), ["épsilon"]);
    let (_, total) = filtered(ApiKeyFilter {
        created_from: Some(T0 + SECOND),
        created_to: Some(T0 + 3 * SECOND),
        ..ApiKeyFilter::default()
    })
    .await;
    assert_eq!(total, 3);
    let (hits, _) = filtered(ApiKeyFilter {
        modified_from: Some(T0 + 9 * SECOND),
        modified_to: Some(T0 + 20 * SECOND),
        ..ApiKeyFilter::default()
    })
    .await;
    assert_eq!(api_names(&hits), ["beta", "Alpha"]);
    let (hits, _) = filtered(ApiKeyFilter {
        remote_config_read_enabled: Some(false),
        ..ApiKeyFilter::default()
    })
    .await;
    assert_eq!(api_names(&hits), ["gamma"]);
    let (_, total) = filtered(ApiKeyFilter {
        category: Some("ci".to_owned()),
        ..ApiKeyFilter::default()
    })
    .await;
    assert_eq!(total, 2);

    let change = ApiKeyChange {
        name: key_name("Alpha two"),
        category: Some("prod".to_owned()),
        remote_config_read_enabled: Some(false),
        modified_by: admin.id,
        modified_at: T0 + 60 * SECOND,
        expires_at: None,
    };
    let updated = store
        .update_api_key(o.id, keys[1].id, &change)
        .await
        .expect("update");
    assert_eq!(updated.name, "Alpha two");
    assert_eq!(updated.category, "prod");
    assert!(!updated.remote_config_read_enabled);
    assert_eq!(
        (updated.modified_by, updated.modified_at),
        (Some(admin.id), T0 + 60 * SECOND)
    );
    assert_eq!(updated.created_at, keys[1].created_at);
    let keep = ApiKeyChange {
        name: key_name("Alpha three"),
        category: None,
        remote_config_read_enabled: None,
        modified_by: admin.id,
        modified_at: T0,
        expires_at: None,
    };
    let kept = store
        .update_api_key(o.id, keys[1].id, &keep)
        .await
        .expect("keep");
    assert_eq!(
        (kept.category.as_str(), kept.remote_config_read_enabled),
        ("prod", false)
    );
    let clash = ApiKeyChange {
        name: key_name("beta"),
        ..keep.clone()
    };
    assert!(matches!(
        store.update_api_key(o.id, keys[1].id, &clash).await,
        Err(StoreError::Conflict("name"))
    ));
    assert!(matches!(
        store.update_api_key(o.id, Uuid::new_v4(), &keep).await,
        Err(StoreError::NotFound)
    ));

    store
        .delete_api_key(o.id, keys[0].id)
        .await
        .expect("delete");
    assert!(matches!(
        store.delete_api_key(o.id, keys[0].id).await,
        Err(StoreError::NotFound)
    ));
    // Names are unique per organization, and free again once deleted.
    let dup = api_key(&o, &admin, "gamma", T0);
    assert!(matches!(
        store.create_api_key(&dup, 10).await,
        Err(StoreError::Conflict("name"))
    ));
    let reuse = api_key(&o, &admin, "beta", T0);
    store.create_api_key(&reuse, 5).await.expect("reuse name");
    let mut same_digest = api_key(&o, &admin, "same digest", T0);
    same_digest.digest = reuse.digest;
    assert!(matches!(
        store.create_api_key(&same_digest, 10).await,
        Err(StoreError::Conflict("unique"))
    ));
    let other = org("other");
    store.create_org(&other).await.expect("other");
    let elsewhere = api_key(&other, &admin, "gamma", T0);
    store
        .create_api_key(&elsewhere, 5)
        .await
        .expect("other org");
    assert!(matches!(
        store.delete_api_key(other.id, elsewhere.id).await,
        Err(StoreError::LastKey)
    ));
    assert!(matches!(
        store.delete_api_key(other.id, keys[2].id).await,
        Err(StoreError::NotFound)
    ));
    let missing_org = api_key(&org("missing"), &admin, "x", T0);
    assert!(matches!(
        store.create_api_key(&missing_org, 5).await,
        Err(StoreError::NotFound)
    ));
    for key in &keys[2..] {
        store.delete_api_key(o.id, key.id).await.expect("delete");
    }
    let (left, total) = list(ApiKeySortField::Name, false).await.expect("left");
    assert_eq!(total, 2);
    assert!(matches!(
        store.delete_api_key(o.id, left[0].id).await,
        Ok(())
    ));
    assert!(matches!(
        store.delete_api_key(o.id, left[1].id).await,
        Err(StoreError::LastKey)
    ));
}

async fn application_keys(store: Arc<dyn Store>) {
    let store = &*store;
    let (o, admin) = seeded(store).await;
    let bob = user(&o, "bob@acme.test", &[Role::Standard], T0);
    store.create_user(&bob).await.expect("bob");
    let mut a = app_key(&admin, "zeta", T0);
    a.scopes = Some(vec!["api_keys_read".to_owned(), "user_app_keys".to_owned()]);
    let b = app_key(&admin, "Eta", T0 + SECOND);
    let c = app_key(&bob, "theta", T0 + 2 * SECOND);
    for key in [&a, &b, &c] {
        store.create_application_key(key, 2).await.expect("create");
    }
    assert!(matches!(
        store
            .create_application_key(&app_key(&admin, "third", T0), 2)
            .await,
        Err(StoreError::LimitReached { count: 2 })
    ));
    assert!(matches!(
        store
            .create_application_key(&app_key(&bob, "zeta", T0), 2)
            .await,
        Err(StoreError::Conflict("name"))
    ));
    let got = store.get_application_key(o.id, a.id).await.expect("get");
    assert_eq!(got.scopes, a.scopes);
    assert_eq!(
        (got.owner_id, got.sealed_key.as_slice(), got.last_used_at),
        (admin.id, [5u8, 6, 7].as_slice(), None)
    );
    let found = store.find_application_key(&c.digest).await.expect("find");
    assert_eq!(found.map(|k| (k.id, k.scopes)), Some((c.id, None)));
    assert!(store
        .find_application_key(&KeyDigest::of("nope"))
        .await
        .expect("none")
        .is_none());

    let (by_name, total) = store
        .list_application_keys(o.id, &app_query(ApplicationKeySortField::Name, false))
        .await
        .expect("by name");
    assert_eq!(total, 3);
    assert_eq!(names(&by_name, |k| &k.name), ["Eta", "theta", "zeta"]);
    let (by_created, _) = store
        .list_application_keys(o.id, &app_query(ApplicationKeySortField::CreatedAt, true))
        .await
        .expect("by created");
    assert_eq!(names(&by_created, |k| &k.name), ["theta", "Eta", "zeta"]);
    let mut owned = app_query(ApplicationKeySortField::Name, false);
    owned.filter.owner_id = Some(bob.id);
    let (mine, total) = store
        .list_application_keys(o.id, &owned)
        .await
        .expect("owned");
    assert_eq!(
        (names(&mine, |k| &k.name), total),
        (vec!["theta".into()], 1)
    );
    let mut named = app_query(ApplicationKeySortField::Last4, false);
    named.filter.name_contains = Some("ETA".to_owned());
    named.filter.created_from = Some(T0 + SECOND);
    let (hits, total) = store
        .list_application_keys(o.id, &named)
        .await
        .expect("filtered");
    assert_eq!(total, 2);
    assert!(hits[0].last4 <= hits[1].last4);

    let rename = ApplicationKeyChange {
        name: Some(key_name("zeta prime")),
        scopes: Some(None),
        expires_at: None,
    };
    let updated = store
        .update_application_key(o.id, a.id, &rename)
        .await
        .expect("update");
    assert_eq!(
        (updated.name.as_str(), updated.scopes),
        ("zeta prime", None)
    );
    let rescope = ApplicationKeyChange {
        name: None,
        scopes: Some(Some(vec!["user_access_read".to_owned()])),
        expires_at: None,
    };
    let updated = store
        .update_application_key(o.id, a.id, &rescope)
        .await
        .expect("rescope");
    assert_eq!(updated.name, "zeta prime");
    let reread = store.get_application_key(o.id, a.id).await.expect("reread");
    assert_eq!(reread.scopes, Some(vec!["user_access_read".to_owned()]));
    let clash = ApplicationKeyChange {
        name: Some(key_name("theta")),
        scopes: None,
        expires_at: None,
    };
    assert!(matches!(
        store.update_application_key(o.id, a.id, &clash).await,
        Err(StoreError::Conflict("name"))
    ));
    assert!(matches!(
        store
            .update_application_key(o.id, Uuid::new_v4(), &rename)
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .delete_application_key(o.id, b.id)
        .await
        .expect("delete");
    assert!(matches!(
        store.delete_application_key(o.id, b.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.get_application_key(o.id, b.id).await,
        Err(StoreError::NotFound)
    ));
    // The owner's count went down with the delete.
    store
        .create_application_key(&app_key(&admin, "again", T0), 2)
        .await
        .expect("room again");
}

async fn disabling_a_user_deletes_its_application_keys(store: Arc<dyn Store>) {
    let store = &*store;
    let (o, admin) = seeded(store).await;
    let bob = user(&o, "bob@acme.test", &[Role::Standard], T0);
    store.create_user(&bob).await.expect("bob");
    let bobs: Vec<_> = (0..3)
        .map(|i| app_key(&bob, &format!("b{i}"), T0))
        .collect();
    for key in &bobs {
        store
            .create_application_key(key, 10)
            .await
            .expect("bob key");
    }
    let kept = app_key(&admin, "admin's", T0);
    store
        .create_application_key(&kept, 10)
        .await
        .expect("admin key");
    let before = store.change_seq().await.expect("seq");
    let disable = UserChange {
        disabled: Some(true),
        ..UserChange::default()
    };
    store
        .update_user(o.id, bob.id, &disable, T0 + SECOND)
        .await
        .expect("disable");
    for key in &bobs {
        assert!(store
            .find_application_key(&key.digest)
            .await
            .expect("find")
            .is_none());
    }
    assert!(store
        .find_application_key(&kept.digest)
        .await
        .expect("kept")
        .is_some());
    let changes = store.changes_since(before, 100).await.expect("changes");
    let kinds: Vec<_> = changes.iter().map(|c| c.kind).collect();
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == ChangeKind::ApplicationKey)
            .count(),
        3
    );
    assert!(kinds.contains(&ChangeKind::User));
    // Re-enabled, the user starts from zero keys.
    let enable = UserChange {
        disabled: Some(false),
        ..UserChange::default()
    };
    store
        .update_user(o.id, bob.id, &enable, T0)
        .await
        .expect("enable");
    store
        .create_application_key(&app_key(&bob, "fresh", T0), 1)
        .await
        .expect("count was reset");
}

async fn change_log(store: Arc<dyn Store>) {
    let store = &*store;
    assert_eq!(store.change_seq().await.expect("empty"), 0);
    let (o, admin) = seeded(store).await;
    let after_user = store.change_seq().await.expect("seq");
    assert!(after_user > 0);
    let key = api_key(&o, &admin, "k", T0 + SECOND);
    store.create_api_key(&key, 5).await.expect("key");
    let app = app_key(&admin, "a", T0 + 2 * SECOND);
    store.create_application_key(&app, 5).await.expect("app");
    let rename = ApiKeyChange {
        name: key_name("k2"),
        category: None,
        remote_config_read_enabled: None,
        modified_by: admin.id,
        modified_at: T0 + 3 * SECOND,
        expires_at: None,
    };
    store
        .update_api_key(o.id, key.id, &rename)
        .await
        .expect("rename");
    store
        .update_user(
            o.id,
            admin.id,
            &UserChange {
                title: Some(Some("only the title".to_owned())),
                ..UserChange::default()
            },
            T0,
        )
        .await
        .expect("title");
    store
        .record_usage(&[(key.id, T0 + 4 * SECOND)], &[(app.id, T0)])
        .await
        .expect("usage");
    store
        .delete_application_key(o.id, app.id)
        .await
        .expect("del");

    let changes = store.changes_since(after_user, 100).await.expect("since");
    let seen: Vec<_> = changes.iter().map(|c| (c.kind, c.id)).collect();
    // The title and the usage are not logged: they change nothing a credential does. (The
    // users_updated trigger fires on the columns a write names, as SQLite's does.)
    let expected_head = [
        (ChangeKind::ApiKey, key.id),
        (ChangeKind::ApplicationKey, app.id),
        (ChangeKind::ApiKey, key.id),
    ];
    assert_eq!(&seen[..3], &expected_head);
    assert_eq!(seen.last(), Some(&(ChangeKind::ApplicationKey, app.id)));
    assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(changes.iter().all(|c| c.org_id == o.id));
    assert_eq!(changes[0].digest, Some(key.digest));
    assert_eq!(changes.last().and_then(|c| c.digest), Some(app.digest));
    let newest = store.change_seq().await.expect("newest");
    assert_eq!(changes.last().map(|c| c.seq), Some(newest));
    let first_two = store.changes_since(after_user, 2).await.expect("limit");
    assert_eq!(first_two.len(), 2);
    assert!(store
        .changes_since(newest, 100)
        .await
        .expect("none")
        .is_empty());

    // Pruning drops old entries but always keeps the newest, so the position survives.
    let pruned = store.prune_changes(i64::MAX).await.expect("prune");
    assert!(pruned >= 4, "{pruned}");
    assert_eq!(store.change_seq().await.expect("kept"), newest);
    assert_eq!(store.prune_changes(0).await.expect("nothing older"), 0);
}

async fn credential_entries(store: Arc<dyn Store>) {
    let store = &*store;
    let (o, admin) = seeded(store).await;
    let mut api_ids = Vec::new();
    let mut app_ids = Vec::new();
    for i in 0..7 {
        let key = api_key(&o, &admin, &format!("k{i}"), T0);
        store.create_api_key(&key, 100).await.expect("key");
        api_ids.push(key.id);
        let mut app = app_key(&admin, &format!("a{i}"), T0);
        app.scopes = (i % 2 == 0).then(|| vec!["api_keys_read".to_owned()]);
        store.create_application_key(&app, 100).await.expect("app");
        app_ids.push(app.id);
    }
    api_ids.sort();
    app_ids.sort();
    let mut loaded = Vec::new();
    store
        .each_api_key(&mut |key| loaded.push(key))
        .await
        .expect("every key");
    for key in &loaded {
        let found = store
            .find_api_key(&key.digest)
            .await
            .expect("find")
            .expect("a loaded key exists");
        assert_eq!(
            (key.id, key.org_id, &key.name, &key.last4, &key.category),
            (
                found.id,
                found.org_id,
                &found.name,
                &found.last4,
                &found.category
            )
        );
        assert_eq!(
            (key.created_at, key.modified_at, key.expires_at),
            (found.created_at, found.modified_at, found.expires_at)
        );
        assert_eq!(
            key.remote_config_read_enabled,
            found.remote_config_read_enabled
        );
    }
    let mut seen: Vec<Uuid> = loaded.iter().map(|k| k.id).collect();
    seen.sort();
    assert_eq!(seen, api_ids, "every key once");
    let some: Vec<Uuid> = api_ids.iter().step_by(2).copied().collect();
    let mut fetched: Vec<Uuid> = store
        .api_keys_by_ids(o.id, &[&some[..], &[Uuid::new_v4()]].concat())
        .await
        .expect("by ids")
        .iter()
        .map(|k| k.id)
        .collect();
    fetched.sort();
    assert_eq!(fetched, some, "the keys asked for, unknown ids skipped");
    let other = store
        .api_keys_by_ids(Uuid::new_v4(), &some)
        .await
        .expect("by ids");
    assert!(other.is_empty(), "never another organization's keys");

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.application_keys_after(after, 4).await.expect("page");
        assert!(page.len() <= 4);
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for listed in &page {
            let key = store
                .find_application_key(&listed.digest)
                .await
                .expect("find");
            let key = key.expect("present");
            assert_eq!(
                (listed.id, listed.owner_id, &listed.scopes, &listed.name),
                (key.id, admin.id, &key.scopes, &key.name)
            );
            seen.push(listed.id);
        }
    }
    assert_eq!(seen, app_ids, "every key once, in id order");
    let some: Vec<Uuid> = app_ids.iter().step_by(2).copied().collect();
    let mut fetched: Vec<Uuid> = store
        .application_keys_by_ids(o.id, &[&some[..], &[Uuid::new_v4()]].concat())
        .await
        .expect("by ids")
        .iter()
        .map(|k| k.id)
        .collect();
    fetched.sort();
    assert_eq!(fetched, some, "the keys asked for, unknown ids skipped");
    let other = store
        .application_keys_by_ids(Uuid::new_v4(), &some)
        .await
        .expect("by ids");
    assert!(other.is_empty(), "never another organization's keys");

    let bob = user(&o, "bob@acme.test", &[Role::ReadOnly], T0);
    store.create_user(&bob).await.expect("bob");
    let users = store.user_entries(None, 10).await.expect("users");
    let mut want = vec![admin.id, bob.id];
    want.sort();
    assert_eq!(users.iter().map(|u| u.0).collect::<Vec<_>>(), want);
    let bob_entry = users.iter().find(|u| u.0 == bob.id).expect("bob").1.clone();
    assert_eq!(
        (bob_entry.org_id, bob_entry.roles, bob_entry.disabled),
        (o.id, vec![Role::ReadOnly.id()], false)
    );
    let rest = store.user_entries(Some(want[0]), 10).await.expect("rest");
    assert_eq!(rest.iter().map(|u| u.0).collect::<Vec<_>>(), [want[1]]);
}

async fn usage(store: Arc<dyn Store>) {
    let store = &*store;
    let (o, admin) = seeded(store).await;
    let key = api_key(&o, &admin, "k", T0);
    store.create_api_key(&key, 5).await.expect("key");
    let app = app_key(&admin, "a", T0);
    store.create_application_key(&app, 5).await.expect("app");
    store.record_usage(&[], &[]).await.expect("nothing");
    store
        .record_usage(&[(key.id, T0 + 5 * SECOND)], &[(app.id, T0 + 6 * SECOND)])
        .await
        .expect("usage");
    // An older report (another node's late flush) never moves the time back.
    store
        .record_usage(
            &[(key.id, T0 + SECOND), (Uuid::new_v4(), T0)],
            &[(app.id, T0 + SECOND)],
        )
        .await
        .expect("older");
    let got = store.get_api_key(o.id, key.id).await.expect("get");
    assert_eq!(got.date_last_used, Some(T0 + 5 * SECOND));
    assert_eq!(got.modified_at, T0, "usage is not a modification");
    let got = store.get_application_key(o.id, app.id).await.expect("get");
    assert_eq!(got.last_used_at, Some(T0 + 6 * SECOND));
    // One flush carries every key used since the last: each gets its own time.
    let others: Vec<_> = (0..3)
        .map(|i| api_key(&o, &admin, &format!("k{i}"), T0))
        .collect();
    for other in &others {
        store.create_api_key(other, 5).await.expect("key");
    }
    let used: Vec<_> = others
        .iter()
        .zip(7..)
        .map(|(k, s)| (k.id, T0 + s * SECOND))
        .collect();
    store.record_usage(&used, &[]).await.expect("several");
    for (other, (_, at)) in others.iter().zip(&used) {
        let got = store.get_api_key(o.id, other.id).await.expect("get");
        assert_eq!(got.date_last_used, Some(*at));
    }
}

fn client_token(org: &Org, creator: &User, name: &str, at: i64) -> ClientToken {
    let secret = Secret::random_hex(16);
    ClientToken {
        id: Uuid::new_v4(),
        org_id: org.id,
        name: name.to_owned(),
        digest: secret.digest(),
        sealed_key: vec![9, 9],
        last4: secret.last4(),
        created_by: creator.id,
        modified_by: None,
        created_at: at,
        modified_at: at,
        expires_at: None,
    }
}

async fn client_tokens(store: Arc<dyn Store>) {
    let store = &*store;
    let (o, admin) = seeded(store).await;
    let start = store.change_seq().await.expect("seq");
    let tokens: Vec<_> = ["web", "Mobile", "rum"]
        .iter()
        .enumerate()
        .map(|(i, n)| client_token(&o, &admin, n, T0 + i as i64 * SECOND))
        .collect();
    for token in &tokens {
        store.create_client_token(token).await.expect("create");
    }
    assert!(matches!(
        store
            .create_client_token(&client_token(&o, &admin, "web", T0))
            .await,
        Err(StoreError::Conflict("name"))
    ));
    let got = store
        .get_client_token(o.id, tokens[1].id)
        .await
        .expect("get");
    assert_eq!(
        (got.name.as_str(), got.sealed_key.as_slice(), got.created_by),
        ("Mobile", [9u8, 9].as_slice(), admin.id)
    );
    let found = store
        .find_client_token(&tokens[2].digest)
        .await
        .expect("find");
    assert_eq!(found.map(|t| t.id), Some(tokens[2].id));
    assert!(matches!(
        store.get_client_token(Uuid::new_v4(), tokens[0].id).await,
        Err(StoreError::NotFound)
    ));
    let query = |field, descending, name: Option<&str>| ClientTokenQuery {
        filter: ClientTokenFilter {
            name_contains: name.map(str::to_owned),
            ..ClientTokenFilter::default()
        },
        sort: Sort { field, descending },
        page: Page { size: 2, number: 0 },
    };
    let (page, total) = store
        .list_client_tokens(o.id, &query(ClientTokenSortField::Name, false, None))
        .await
        .expect("list");
    assert_eq!(
        (names(&page, |t| &t.name), total),
        (vec!["Mobile".to_owned(), "rum".to_owned()], 3)
    );
    let (page, total) = store
        .list_client_tokens(
            o.id,
            &query(ClientTokenSortField::CreatedAt, true, Some("M")),
        )
        .await
        .expect("filtered");
    assert_eq!(
        (names(&page, |t| &t.name), total),
        (vec!["rum".to_owned(), "Mobile".to_owned()], 2)
    );
    let rename = ClientTokenChange {
        name: key_name("browser"),
        modified_by: admin.id,
        modified_at: T0 + 9 * SECOND,
        expires_at: None,
    };
    let renamed = store
        .update_client_token(o.id, tokens[0].id, &rename)
        .await
        .expect("rename");
    assert_eq!(
        (
            renamed.name.as_str(),
            renamed.modified_by,
            renamed.modified_at
        ),
        ("browser", Some(admin.id), T0 + 9 * SECOND)
    );
    let clash = ClientTokenChange {
        name: key_name("rum"),
        ..rename.clone()
    };
    assert!(matches!(
        store.update_client_token(o.id, tokens[0].id, &clash).await,
        Err(StoreError::Conflict("name"))
    ));
    assert!(matches!(
        store
            .update_client_token(o.id, Uuid::new_v4(), &rename)
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .delete_client_token(o.id, tokens[1].id)
        .await
        .expect("delete");
    assert!(matches!(
        store.delete_client_token(o.id, tokens[1].id).await,
        Err(StoreError::NotFound)
    ));
    let log = store.changes_since(start, 100).await.expect("log");
    assert_eq!(log.len(), 5, "3 creates, a rename, a delete");
    assert!(log.iter().all(|c| c.kind == ChangeKind::ClientToken));
    assert_eq!(log[4].digest, Some(tokens[1].digest));
    let entries = store.client_tokens_after(None, 10).await.expect("entries");
    let mut want = vec![tokens[0].id, tokens[2].id];
    want.sort();
    assert_eq!(entries.iter().map(|t| t.id).collect::<Vec<_>>(), want);
    let rest = store
        .client_tokens_after(Some(want[0]), 10)
        .await
        .expect("rest");
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].org_id, o.id);
    let mut fetched: Vec<Uuid> = store
        .client_tokens_by_ids(o.id, &[tokens[0].id, tokens[1].id, tokens[2].id])
        .await
        .expect("by ids")
        .iter()
        .map(|t| t.id)
        .collect();
    fetched.sort();
    assert_eq!(
        fetched, want,
        "the tokens asked for, the deleted one skipped"
    );
    let other = store
        .client_tokens_by_ids(Uuid::new_v4(), &want)
        .await
        .expect("by ids");
    assert!(other.is_empty(), "never another organization's tokens");
    assert!(store
        .client_tokens_by_ids(o.id, &[])
        .await
        .expect("none")
        .is_empty());
}

async fn sessions(store: Arc<dyn Store>) {
    let store = &*store;
    let (o, admin) = seeded(store).await;
    let bob = user(&o, "bob@acme.test", &[Role::Standard], T0);
    store.create_user(&bob).await.expect("bob");
    // The same email in another organization: sign-in sees both.
    let other = org("other");
    store.create_org(&other).await.expect("other");
    let twin = user(&other, "bob@acme.test", &[], T0 + SECOND);
    store.create_user(&twin).await.expect("twin");
    let found = store
        .users_by_email("bob@acme.test")
        .await
        .expect("by email");
    assert_eq!(
        found.iter().map(|u| u.id).collect::<Vec<_>>(),
        [bob.id, twin.id]
    );
    assert!(store
        .users_by_email("nobody@acme.test")
        .await
        .expect("none")
        .is_empty());

    let session = |u: &User, token: &str, at: i64| Session {
        digest: KeyDigest::of(token),
        user_id: u.id,
        org_id: u.org_id,
        created_at: at,
        last_seen_at: at,
    };
    let a1 = session(&admin, "a1", T0);
    let a2 = session(&admin, "a2", T0 + 10 * SECOND);
    let b1 = session(&bob, "b1", T0);
    let t1 = session(&twin, "t1", T0);
    for s in [&a1, &a2, &b1, &t1] {
        store.create_session(s).await.expect("session");
    }
    let got = store
        .get_session(&a1.digest)
        .await
        .expect("get")
        .expect("a1");
    assert_eq!(
        (got.user_id, got.org_id, got.created_at),
        (admin.id, o.id, T0)
    );
    assert!(store
        .get_session(&KeyDigest::of("none"))
        .await
        .expect("none")
        .is_none());
    store
        .touch_session(&a1.digest, T0 + 5 * SECOND)
        .await
        .expect("touch");
    store.touch_session(&a1.digest, T0).await.expect("older");
    let got = store
        .get_session(&a1.digest)
        .await
        .expect("get")
        .expect("a1");
    assert_eq!(got.last_seen_at, T0 + 5 * SECOND, "never moves back");

    // A new password ends the user's sessions; the same password again does not.
    let same = UserChange {
        password_hash: admin.password_hash.clone(),
        ..UserChange::default()
    };
    store
        .update_user(o.id, admin.id, &same, T0)
        .await
        .expect("same password");
    assert!(store.get_session(&a1.digest).await.expect("a1").is_some());
    let new = UserChange {
        password_hash: Some("$argon2id$another".to_owned()),
        ..UserChange::default()
    };
    let updated = store
        .update_user(o.id, admin.id, &new, T0)
        .await
        .expect("new password");
    assert_eq!(updated.password_hash.as_deref(), Some("$argon2id$another"));
    assert_eq!(
        store
            .get_user(o.id, admin.id)
            .await
            .expect("admin")
            .password_hash
            .as_deref(),
        Some("$argon2id$another")
    );
    assert!(store.get_session(&a1.digest).await.expect("a1").is_none());
    assert!(store.get_session(&a2.digest).await.expect("a2").is_none());
    assert!(store.get_session(&b1.digest).await.expect("b1").is_some());
    // So does disabling.
    let disable = UserChange {
        disabled: Some(true),
        ..UserChange::default()
    };
    store
        .update_user(o.id, bob.id, &disable, T0)
        .await
        .expect("disable");
    assert!(store.get_session(&b1.digest).await.expect("b1").is_none());

    let a3 = session(&admin, "a3", T0 + 20 * SECOND);
    store.create_session(&a3).await.expect("a3");
    store.delete_session(&t1.digest).await.expect("sign out");
    store
        .delete_session(&t1.digest)
        .await
        .expect("signing out twice is fine");
    assert!(store.get_session(&t1.digest).await.expect("t1").is_none());
    let old = session(&admin, "old", T0 - 100 * SECOND);
    store.create_session(&old).await.expect("old");
    let idle = session(&admin, "idle", T0 + 30 * SECOND);
    store.create_session(&idle).await.expect("idle");
    store
        .touch_session(&a3.digest, T0 + 50 * SECOND)
        .await
        .expect("busy");
    let pruned = store
        .prune_sessions(T0 - 50 * SECOND, T0 + 40 * SECOND)
        .await
        .expect("prune");
    assert_eq!(pruned, 2, "the old one and the idle one");
    assert!(store.get_session(&a3.digest).await.expect("a3").is_some());
}

/// The audit trail: one gapless chain, even when nodes append at once, listed per organization.
async fn audit_trail(store: Arc<dyn Store>) {
    let (o, admin) = seeded(&*store).await;
    let other = org("other");
    store.create_org(&other).await.expect("other");
    assert_eq!(store.audit_head().await.expect("empty"), None);
    let mac_key = AuditKey::derive(&[3; 32]);
    let app_key = Uuid::new_v4();
    let event = |org_id, action, at, target| AuditEvent {
        at,
        org_id: Some(org_id),
        actor_id: Some(admin.id),
        action,
        target_id: target,
        source: Some("127.0.0.1".to_owned()),
        via: Some(Via::Key),
        credential_id: Some(app_key),
    };
    let key = Uuid::new_v4();
    let first = store
        .append_audit(&event(o.id, Action::ApiKeyCreated, T0, Some(key)), &mac_key)
        .await
        .expect("append");
    assert_eq!(first.seq, 1);
    let appends: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            let mac_key = mac_key.clone();
            let e = event(
                if i % 2 == 0 { o.id } else { other.id },
                Action::SignedIn,
                T0 + i * SECOND,
                None,
            );
            tokio::spawn(async move { store.append_audit(&e, &mac_key).await })
        })
        .collect();
    for task in appends {
        task.await.expect("join").expect("append");
    }
    let mut cli = event(o.id, Action::ApiKeyRevoked, T0 + 60 * SECOND, Some(key));
    (cli.actor_id, cli.source) = (None, Some("cli".to_owned()));
    (cli.via, cli.credential_id) = (Some(Via::Cli), None);
    store.append_audit(&cli, &mac_key).await.expect("cli");

    let chain = store.audit_records(0, 100).await.expect("chain");
    assert_eq!(
        chain.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=22).collect::<Vec<i64>>()
    );
    let head = store.audit_head().await.expect("head");
    let mut verifier = Verifier::new(mac_key.clone(), head.as_ref(), None);
    for record in &chain {
        verifier.check(record).expect("chained");
    }
    assert_eq!(verifier.finish(head.as_ref()), Ok(22));
    assert_eq!(chain[0].event.via, Some(Via::Key));
    assert_eq!(chain[0].event.credential_id, Some(app_key));
    assert_eq!(chain[21].event.via, Some(Via::Cli));
    // Another key cannot extend the chain: its head does not verify.
    let refused = store
        .append_audit(&cli, &AuditKey::derive(&[4; 32]))
        .await
        .expect_err("foreign key");
    assert!(format!("{refused}").contains("head"), "{refused}");
    assert_eq!(store.audit_records(20, 100).await.expect("tail").len(), 2);
    assert_eq!(chain[21].event.actor_id, None);
    assert_eq!(chain[21].event.source.as_deref(), Some("cli"));

    let page = |query: AuditQuery| {
        let store = store.clone();
        async move { store.list_audit(o.id, &query).await.expect("list") }
    };
    let (records, matched) = page(AuditQuery {
        page: Page { size: 5, number: 0 },
        ..AuditQuery::default()
    })
    .await;
    assert_eq!(
        matched, 12,
        "1 + 10 sign-ins + 1 revoke in this organization"
    );
    assert_eq!(records[0].seq, 22, "newest first");
    let (records, matched) = page(AuditQuery {
        target_id: Some(key),
        page: Page::default(),
        ..AuditQuery::default()
    })
    .await;
    assert_eq!(
        (records.iter().map(|r| r.seq).collect::<Vec<_>>(), matched),
        (vec![22, 1], 2)
    );
    let (_, matched) = page(AuditQuery {
        action: Some(Action::SignedIn),
        from: Some(T0 + 4 * SECOND),
        to: Some(T0 + 8 * SECOND),
        actor_id: Some(admin.id),
        page: Page::default(),
        ..AuditQuery::default()
    })
    .await;
    assert_eq!(matched, 3, "sign-ins at 4, 6 and 8 s");
}

/// Rows copied by `keyplane migrate` land as they are, past the key limits, and the counts
/// and the change log follow them as after ordinary writes.
async fn imports(store: Arc<dyn Store>) {
    let store = &*store;
    let o = org("imported");
    store.create_org(&o).await.expect("org");
    let mut admin = user(&o, "admin@acme.test", &[Role::Admin], T0);
    admin.status = UserStatus::Pending;
    let gone = UserStatus::Disabled;
    let mut left = user(&o, "left@acme.test", &[], T0 + SECOND);
    left.status = gone;
    store
        .import_users(&[admin.clone(), left.clone()])
        .await
        .expect("users");
    let keys: Vec<_> = (0..7)
        .map(|i| {
            let mut k = api_key(&o, &admin, &format!("k{i}"), T0 + i * SECOND);
            k.date_last_used = Some(T0 + 99 * SECOND);
            k.modified_by = Some(admin.id);
            k
        })
        .collect();
    store.import_api_keys(&keys).await.expect("api keys");
    let apps: Vec<_> = (0..3)
        .map(|i| {
            let mut k = app_key(&admin, &format!("a{i}"), T0);
            k.scopes = Some(vec!["api_keys_read".to_owned()]);
            k.last_used_at = Some(T0 + SECOND);
            k
        })
        .collect();
    store
        .import_application_keys(&apps)
        .await
        .expect("app keys");
    store.import_users(&[]).await.expect("empty batch");
    let tokens: Vec<_> = (0..2)
        .map(|i| client_token(&o, &admin, &format!("t{i}"), T0))
        .collect();
    store.import_client_tokens(&tokens).await.expect("tokens");
    assert!(store
        .find_client_token(&tokens[1].digest)
        .await
        .expect("token")
        .is_some());

    let got = store.get_user(o.id, left.id).await.expect("left");
    assert_eq!(got.status, UserStatus::Disabled);
    let got = store.get_api_key(o.id, keys[3].id).await.expect("key");
    assert_eq!(
        (got.date_last_used, got.modified_by, got.created_at),
        (Some(T0 + 99 * SECOND), Some(admin.id), T0 + 3 * SECOND)
    );
    let got = store
        .get_application_key(o.id, apps[2].id)
        .await
        .expect("app");
    assert_eq!(
        (got.scopes, got.last_used_at),
        (apps[2].scopes.clone(), Some(T0 + SECOND))
    );
    // Seven keys over a limit of five: counted, so a create is refused and deletes work.
    assert!(matches!(
        store
            .create_api_key(&api_key(&o, &admin, "eighth", T0), 5)
            .await,
        Err(StoreError::LimitReached { count: 7 })
    ));
    assert!(matches!(
        store
            .create_application_key(&app_key(&admin, "fourth", T0), 3)
            .await,
        Err(StoreError::LimitReached { count: 3 })
    ));
    let log = store.changes_since(0, 100).await.expect("log");
    assert_eq!(log.len(), 2 + 7 + 3 + 2);
    assert!(matches!(
        store.import_api_keys(&keys[..1]).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.changes_since(0, 100).await.expect("log").len(),
        14,
        "a failed batch writes nothing"
    );
}

/// The key rules hold when writers race: on SQLite they queue for the one writer, on
/// PostgreSQL for the write lock and the count rows.
async fn concurrent_writers(store: Arc<dyn Store>) {
    let (o, admin) = seeded(&*store).await;
    let creates = (0..12).map(|i| {
        let store = store.clone();
        let key = api_key(&o, &admin, &format!("race {i}"), T0);
        tokio::spawn(async move { store.create_api_key(&key, 5).await })
    });
    let mut created = 0;
    for task in creates.collect::<Vec<_>>() {
        match task.await.expect("join") {
            Ok(()) => created += 1,
            Err(StoreError::LimitReached { count: 5 }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 5);
    let (keys, _) = store
        .list_api_keys(o.id, &api_query(ApiKeySortField::Name, false, 100, 0))
        .await
        .expect("list");
    let deletes = keys.iter().map(|k| {
        let store = store.clone();
        let (org_id, id) = (o.id, k.id);
        tokio::spawn(async move { store.delete_api_key(org_id, id).await })
    });
    let mut deleted = 0;
    for task in deletes.collect::<Vec<_>>() {
        match task.await.expect("join") {
            Ok(()) => deleted += 1,
            Err(StoreError::LastKey) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(deleted, 4, "exactly one key survives");

    // Writes that may share one commit keep their own outcomes: a duplicate name fails
    // alone, and what succeeded is stored.
    let names: Vec<String> = (0..12)
        .map(|i| match i % 3 {
            0 => "twin".to_owned(),
            _ => format!("single {i}"),
        })
        .collect();
    let creates: Vec<_> = names
        .iter()
        .map(|name| {
            let store = store.clone();
            let key = api_key(&o, &admin, name, T0);
            tokio::spawn(async move { store.create_api_key(&key, 1000).await })
        })
        .collect();
    let (mut ok, mut conflicts) = (0, 0);
    for task in creates {
        match task.await.expect("join") {
            Ok(()) => ok += 1,
            Err(StoreError::Conflict("name")) => conflicts += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, conflicts), (9, 3), "one twin and every single");
    let (keys, total) = store
        .list_api_keys(o.id, &api_query(ApiKeySortField::Name, false, 100, 0))
        .await
        .expect("list");
    assert_eq!(total, 10, "the survivor, one twin and eight singles");
    assert_eq!(keys.iter().filter(|k| k.name == "twin").count(), 1);

    // Keys created while their owner is being disabled: every key that existed when the
    // disable committed is gone with it, and none is added after it (the store refuses a
    // disabled owner's keys in the insert itself). The log orders the two.
    let bob = user(&o, "bob@acme.test", &[Role::Standard], T0);
    store.create_user(&bob).await.expect("bob");
    let adds: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            let key = app_key(&bob, &format!("bob {i}"), T0);
            tokio::spawn(async move { store.create_application_key(&key, 1000).await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let disable = UserChange {
        disabled: Some(true),
        ..UserChange::default()
    };
    store
        .update_user(o.id, bob.id, &disable, T0)
        .await
        .expect("disable");
    let mut created = 0;
    for task in adds {
        match task.await.expect("join") {
            Ok(_) => created += 1,
            Err(StoreError::OwnerDisabled) => {}
            Err(other) => panic!("create: {other:?}"),
        }
    }
    let log = store.changes_since(0, 10_000).await.expect("log");
    let disabled_at = log
        .iter()
        .rev()
        .find(|c| c.id == bob.id)
        .map(|c| c.seq)
        .expect("disable logged");
    let mut owned = app_query(ApplicationKeySortField::Name, false);
    owned.filter.owner_id = Some(bob.id);
    let (left, _) = store
        .list_application_keys(o.id, &owned)
        .await
        .expect("owned");
    let names: Vec<&str> = left.iter().map(|k| k.name.as_str()).collect();
    assert!(
        names.is_empty(),
        "keys of a disabled owner survive: {names:?}"
    );
    let deleted = log
        .iter()
        .filter(|c| c.kind == ChangeKind::ApplicationKey && c.seq > disabled_at)
        .count();
    assert!(
        deleted >= created,
        "{created} created, {deleted} deleted with the owner"
    );
}

/// The change log seen by a reader never skips an entry that commits later: concurrent
/// writers commit in the order of their log entries.
async fn change_log_in_commit_order(store: Arc<dyn Store>) {
    let (o, _) = seeded(&*store).await;
    let start = store.change_seq().await.expect("seq");
    // Writers that share no row (each its own users), so only the log orders them.
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let store = store.clone();
            let o = o.clone();
            tokio::spawn(async move {
                for i in 0..15 {
                    let u = user(&o, &format!("w{w}.{i}@acme.test"), &[], T0);
                    store.create_user(&u).await.expect("user");
                }
            })
        })
        .collect();
    // Follow the log as a node does while the writers run: reading from the last position
    // seen must never step past an entry that commits later.
    let mut seq = start;
    let mut seen = std::collections::HashSet::new();
    loop {
        let done = writers.iter().all(|w| w.is_finished());
        let batch = store.changes_since(seq, 7).await.expect("follow");
        for change in &batch {
            assert!(change.seq > seq);
            seq = change.seq;
            seen.insert(change.id);
        }
        if batch.is_empty() {
            if done {
                break;
            }
            tokio::task::yield_now().await;
        }
    }
    for w in writers {
        w.await.expect("writer");
    }
    let all = store.changes_since(start, 1000).await.expect("all");
    assert_eq!(all.len(), 120);
    assert_eq!(
        seen.len(),
        120,
        "the follower stepped past entries that committed later"
    );
}

/// Names are unique as read (NFKC, case folded, trimmed), for API keys, application keys and
/// client tokens, on create and on rename; the index holds it, not a check before the write.
async fn look_alike_names(store: Arc<dyn Store>) {
    let store = &*store;
    let (o, admin) = seeded(store).await;
    let look_alikes = [
        "PROD AGENT",
        "prod agent",
        "Prod agent ",
        "Prod\u{a0}agent",
        "ＰＲＯＤ agent",
    ];
    let conflict = |r: &Result<(), StoreError>| matches!(r, Err(StoreError::Conflict("name")));
    store
        .create_api_key(&api_key(&o, &admin, "Prod agent", T0), 100)
        .await
        .expect("api key");
    store
        .create_application_key(&app_key(&admin, "Prod agent", T0), 100)
        .await
        .expect("app key");
    store
        .create_client_token(&client_token(&o, &admin, "Prod agent", T0))
        .await
        .expect("token");
    for name in look_alikes {
        let api = store
            .create_api_key(&api_key(&o, &admin, name, T0), 100)
            .await;
        assert!(conflict(&api), "API key {name:?}: {api:?}");
        let app = store
            .create_application_key(&app_key(&admin, name, T0), 100)
            .await;
        assert!(conflict(&app), "application key {name:?}: {app:?}");
        let token = store
            .create_client_token(&client_token(&o, &admin, name, T0))
            .await;
        assert!(conflict(&token), "client token {name:?}: {token:?}");
    }
    for (a, b) in [("Café", "Cafe\u{301}"), ("Straße", "STRASSE")] {
        store
            .create_client_token(&client_token(&o, &admin, a, T0))
            .await
            .expect("first");
        let second = store
            .create_client_token(&client_token(&o, &admin, b, T0))
            .await;
        assert!(conflict(&second), "{b:?} beside {a:?}: {second:?}");
    }
    // A rename to a look-alike is refused too; renaming a key to its own case variant is not.
    let other = api_key(&o, &admin, "other", T0);
    store.create_api_key(&other, 100).await.expect("other");
    let rename = |name: &str| ApiKeyChange {
        name: key_name(name),
        category: None,
        remote_config_read_enabled: None,
        modified_by: admin.id,
        modified_at: T0 + SECOND,
        expires_at: None,
    };
    let renamed = store
        .update_api_key(o.id, other.id, &rename("prod AGENT"))
        .await;
    assert!(
        matches!(renamed, Err(StoreError::Conflict("name"))),
        "{renamed:?}"
    );
    store
        .update_api_key(o.id, other.id, &rename("OTHER"))
        .await
        .expect("own case variant");
    let app = app_key(&admin, "second", T0);
    store.create_application_key(&app, 100).await.expect("app");
    let change = ApplicationKeyChange {
        name: Some(key_name("PROD agent")),
        scopes: None,
        expires_at: None,
    };
    let renamed = store.update_application_key(o.id, app.id, &change).await;
    assert!(
        matches!(renamed, Err(StoreError::Conflict("name"))),
        "{renamed:?}"
    );
    let token = client_token(&o, &admin, "web", T0);
    store.create_client_token(&token).await.expect("web");
    let change = ClientTokenChange {
        name: key_name("Prod Agent"),
        modified_by: admin.id,
        modified_at: T0 + SECOND,
        expires_at: None,
    };
    let renamed = store.update_client_token(o.id, token.id, &change).await;
    assert!(
        matches!(renamed, Err(StoreError::Conflict("name"))),
        "{renamed:?}"
    );
    // Names are unique per organization only.
    let elsewhere = org("elsewhere");
    store.create_org(&elsewhere).await.expect("org");
    let stranger = user(&elsewhere, "s@elsewhere.test", &[Role::Admin], T0);
    store.create_user(&stranger).await.expect("user");
    store
        .create_api_key(&api_key(&elsewhere, &stranger, "PROD AGENT", T0), 100)
        .await
        .expect("same name in another org");
}

fn disable() -> UserChange {
    UserChange {
        disabled: Some(true),
        ..UserChange::default()
    }
}

/// The organization keeps an admin who can act: the rule is checked inside the disabling
/// write, a Pending admin without password or key does not count, and two admins disabling
/// each other at once cannot both succeed.
async fn last_admin_who_can_act(store: Arc<dyn Store>) {
    let store: &dyn Store = &*store;
    let (o, admin) = seeded(store).await;
    let refused = store.update_user(o.id, admin.id, &disable(), T0).await;
    assert!(matches!(refused, Err(StoreError::LastAdmin)), "{refused:?}");
    let mut ghost = user(&o, "ghost@acme.test", &[Role::Admin], T0);
    ghost.status = UserStatus::Pending;
    ghost.password_hash = None;
    store.create_user(&ghost).await.expect("ghost");
    let mut robot = user(&o, "robot@acme.test", &[Role::Admin], T0);
    robot.service_account = true;
    store.create_user(&robot).await.expect("robot");
    let refused = store.update_user(o.id, admin.id, &disable(), T0).await;
    assert!(
        matches!(refused, Err(StoreError::LastAdmin)),
        "a Pending admin without password or key cannot act: {refused:?}"
    );
    // A key lets the Pending admin act: then the last real admin may go.
    store
        .create_application_key(&app_key(&ghost, "ghost's", T0), 10)
        .await
        .expect("ghost key");
    store
        .update_user(o.id, admin.id, &disable(), T0)
        .await
        .expect("another admin can act");
    // Now the ghost is the one admin who can act.
    let refused = store.update_user(o.id, ghost.id, &disable(), T0).await;
    assert!(matches!(refused, Err(StoreError::LastAdmin)), "{refused:?}");

    for round in 0..8 {
        let team = org(&format!("race {round}"));
        store.create_org(&team).await.expect("org");
        let a = user(&team, "a@race.test", &[Role::Admin], T0);
        let b = user(&team, "b@race.test", &[Role::Admin], T0);
        store.create_user(&a).await.expect("a");
        store.create_user(&b).await.expect("b");
        let change = disable();
        let (by_a, by_b) = tokio::join!(
            store.update_user(team.id, b.id, &change, T0),
            store.update_user(team.id, a.id, &change, T0),
        );
        let outcomes = [&by_a, &by_b].map(|r| match r {
            Ok(_) => "disabled",
            Err(StoreError::LastAdmin) => "refused",
            Err(_) => "error",
        });
        outcomes
            .iter()
            .for_each(|o| assert_ne!(*o, "error", "{by_a:?} {by_b:?}"));
        let mut sorted = outcomes;
        sorted.sort_unstable();
        assert_eq!(sorted, ["disabled", "refused"], "round {round}");
        let enabled = [a.id, b.id].len() - disabled_count(store, team.id, &[a.id, b.id]).await;
        assert_eq!(enabled, 1, "round {round}: one admin stays");
    }
}

async fn disabled_count(store: &dyn Store, org_id: Uuid, ids: &[Uuid]) -> usize {
    let mut disabled = 0;
    for id in ids {
        if store.get_user(org_id, *id).await.expect("user").status == UserStatus::Disabled {
            disabled += 1;
        }
    }
    disabled
}

/// A key is never added to a disabled owner, even by a write racing the disable: after the
/// disable commits, the owner holds no key, and a later insert is refused.
async fn no_key_survives_its_owners_disable(store: Arc<dyn Store>) {
    let store: &dyn Store = &*store;
    let (o, _admin) = seeded(store).await;
    for round in 0..8 {
        let bob = user(&o, &format!("bob{round}@acme.test"), &[Role::Standard], T0);
        store.create_user(&bob).await.expect("bob");
        let mint = async {
            let mut minted = 0;
            for i in 0..20 {
                match store
                    .create_application_key(&app_key(&bob, &format!("r{round} k{i}"), T0), 1000)
                    .await
                {
                    Ok(()) => minted += 1,
                    Err(StoreError::OwnerDisabled) => {}
                    Err(e) => panic!("insert: {e:?}"),
                }
                tokio::task::yield_now().await;
            }
            minted
        };
        let disabling = async {
            tokio::task::yield_now().await;
            store.update_user(o.id, bob.id, &disable(), T0).await
        };
        let (_, disabled) = tokio::join!(mint, disabling);
        disabled.expect("disable");
        let mut query = app_query(ApplicationKeySortField::Name, false);
        query.filter.owner_id = Some(bob.id);
        let (left, _) = store
            .list_application_keys(o.id, &query)
            .await
            .expect("list");
        assert_eq!(
            left.len(),
            0,
            "round {round}: keys of the disabled owner survived"
        );
        let late = store
            .create_application_key(&app_key(&bob, &format!("late {round}"), T0), 1000)
            .await;
        assert!(matches!(late, Err(StoreError::OwnerDisabled)), "{late:?}");
    }
}

/// Rows written before migration 0004 have no `unique_name`, and may be look-alikes of each
/// other: the store fills the column at start-up, starts whatever the duplicates, and the
/// first filled name then holds against new look-alikes. `forget` turns the rows into such
/// rows with the backend's own connection.
async fn legacy_names_are_folded_at_start<F, Fut>(url: &str, forget: F)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let store = keyplane::store::connect(url).await.expect("store");
    let (o, admin) = seeded(&*store).await;
    let legacy = api_key(&o, &admin, "Legacy", T0);
    let twin = api_key(&o, &admin, "twin", T0 + SECOND);
    for key in [&legacy, &twin] {
        store.create_api_key(key, 100).await.expect("key");
    }
    drop(store);
    forget().await;
    let store = keyplane::store::connect(url)
        .await
        .expect("starts with look-alike rows from before 0004");
    let again = store
        .create_api_key(&api_key(&o, &admin, "legacy", T0), 100)
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict("name"))),
        "{again:?}"
    );
    let twin = store
        .get_api_key(o.id, twin.id)
        .await
        .expect("the twin stays");
    assert_eq!(twin.name, "LEGACY");
}

/// What the rows looked like before 0004: no folded name, and look-alikes side by side.
const FORGET_UNIQUE_NAMES: [&str; 2] = [
    "UPDATE api_keys SET unique_name = NULL",
    "UPDATE api_keys SET name = 'LEGACY', name_folded = 'legacy' WHERE name = 'twin'",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_names_are_folded_at_start_on_sqlite() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("keyplane.db").display());
    legacy_names_are_folded_at_start(&url, || async {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("sqlite");
        for statement in FORGET_UNIQUE_NAMES {
            sqlx::query(statement)
                .execute(&mut conn)
                .await
                .expect("forget");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_names_are_folded_at_start_on_postgres() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    legacy_names_are_folded_at_start(&db.url, || async {
        let mut conn = db.connect().await;
        for statement in FORGET_UNIQUE_NAMES {
            sqlx::query(statement)
                .execute(&mut conn)
                .await
                .expect("forget");
        }
    })
    .await;
}

fn pending_user(org: &Org, email: &str) -> User {
    User {
        status: UserStatus::Pending,
        password_hash: None,
        ..user(org, email, &[Role::Standard], T0)
    }
}

async fn invitations(store: Arc<dyn Store>) {
    let (o, admin) = seeded(&*store).await;
    let joiner = pending_user(&o, "joiner@acme.test");
    store.create_user(&joiner).await.expect("joiner");
    let issue = |user: &User, at: i64| {
        Invitation::issue(
            o.id,
            user.id,
            Some(admin.id),
            InviteType::Invite,
            at,
            10 * SECOND,
        )
    };
    let (first, first_secret) = issue(&joiner, T0);
    store.create_invitation(&first).await.expect("create");
    let (second, secret) = issue(&joiner, T0 + SECOND);
    store.create_invitation(&second).await.expect("create");
    let got = store.get_invitation(o.id, first.id).await.expect("get");
    assert_eq!(
        (
            got.user_id,
            got.invited_by,
            got.invite_type,
            got.expires_at,
            got.accepted_at
        ),
        (
            joiner.id,
            Some(admin.id),
            InviteType::Invite,
            T0 + 10 * SECOND,
            None
        )
    );
    assert!(matches!(
        store.get_invitation(Uuid::new_v4(), first.id).await,
        Err(StoreError::NotFound)
    ));
    let found = store.find_invitation(&second.digest).await.expect("find");
    assert_eq!(found.map(|i| i.id), Some(second.id));
    assert!(store
        .find_invitation(&KeyDigest::of("nope"))
        .await
        .expect("find")
        .is_none());
    let listed = store.user_invitations(o.id, joiner.id).await.expect("list");
    assert_eq!(
        listed.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![second.id, first.id]
    );

    // Expired, unknown: nothing happens.
    let expired = store
        .accept_invitation(&second.digest, T0 + 11 * SECOND, "$h")
        .await;
    assert!(matches!(expired, Err(StoreError::NotFound)));
    let unknown = store
        .accept_invitation(&KeyDigest::of("x"), T0 + 2 * SECOND, "$h")
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)));
    let untouched = store.get_user(o.id, joiner.id).await.expect("user");
    assert_eq!(
        (untouched.status, untouched.password_hash),
        (UserStatus::Pending, None)
    );

    let (inv, user) = store
        .accept_invitation(
            &KeyDigest::of(secret.expose()),
            T0 + 2 * SECOND,
            "$argon2id$new",
        )
        .await
        .expect("accept");
    assert_eq!(
        (inv.id, inv.accepted_at),
        (second.id, Some(T0 + 2 * SECOND))
    );
    assert_eq!(user.status, UserStatus::Active);
    assert_eq!(user.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(user.modified_at, T0 + 2 * SECOND);
    // Once only; the user's other links died with it.
    let twice = store
        .accept_invitation(&second.digest, T0 + 3 * SECOND, "$h2")
        .await;
    assert!(matches!(twice, Err(StoreError::NotFound)));
    let other_link = store
        .accept_invitation(
            &KeyDigest::of(first_secret.expose()),
            T0 + 3 * SECOND,
            "$h2",
        )
        .await;
    assert!(matches!(other_link, Err(StoreError::NotFound)));
    let first = store.get_invitation(o.id, first.id).await.expect("get");
    assert_eq!(first.cancelled_at, Some(T0 + 2 * SECOND));

    // A user with a password keeps it.
    let (for_admin, _) = issue(&admin, T0);
    store.create_invitation(&for_admin).await.expect("create");
    let taken = store
        .accept_invitation(&for_admin.digest, T0 + SECOND, "$h3")
        .await;
    assert!(matches!(taken, Err(StoreError::NotFound)));

    // Cancelling counts the pending ones only.
    let late = pending_user(&o, "late@acme.test");
    store.create_user(&late).await.expect("late");
    let (inv, _) = issue(&late, T0);
    store.create_invitation(&inv).await.expect("create");
    assert_eq!(
        store
            .cancel_invitations(o.id, late.id, T0 + SECOND)
            .await
            .expect("cancel"),
        1
    );
    assert_eq!(
        store
            .cancel_invitations(o.id, late.id, T0 + SECOND)
            .await
            .expect("cancel"),
        0
    );
    let cancelled = store
        .accept_invitation(&inv.digest, T0 + 2 * SECOND, "$h")
        .await;
    assert!(matches!(cancelled, Err(StoreError::NotFound)));
}

async fn org_configs(store: Arc<dyn Store>) {
    let (o, _) = seeded(&*store).await;
    let other = org("other");
    store.create_org(&other).await.expect("org");
    assert!(store.org_configs(o.id).await.expect("list").is_empty());
    let config = |name: &str, value: &str, at: i64| StoredConfig {
        name: name.to_owned(),
        value: value.to_owned(),
        modified_at: at,
    };
    store
        .put_org_config(o.id, &config("monitor_timezone", "\"UTC\"", T0))
        .await
        .expect("put");
    store
        .put_org_config(o.id, &config("custom_roles", "true", T0))
        .await
        .expect("put");
    store
        .put_org_config(
            o.id,
            &config("monitor_timezone", "\"Europe/Paris\"", T0 + SECOND),
        )
        .await
        .expect("replace");
    assert_eq!(
        store.org_configs(o.id).await.expect("list"),
        vec![
            config("custom_roles", "true", T0),
            config("monitor_timezone", "\"Europe/Paris\"", T0 + SECOND)
        ]
    );
    assert!(store.org_configs(other.id).await.expect("list").is_empty());
}

pub(crate) async fn sqlite_store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("keyplane.db").display());
    let store = keyplane::store::connect(&url).await.expect("sqlite");
    (store, dir)
}

pub(crate) async fn postgres_store() -> Option<(Arc<dyn Store>, TestDb)> {
    let db = TestDb::create().await?;
    let store = keyplane::store::connect(&db.url).await.expect("postgres");
    Some((store, db))
}

// One test per scenario and backend, so a failure names both; a macro because the list is
// the same for each backend and nothing else varies.
macro_rules! on_every_backend {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let (store, _dir) = super::sqlite_store().await;
                    super::$scenario(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let Some((store, _db)) = super::postgres_store().await else { return };
                    super::$scenario(store).await;
                }
            )*
        }
    };
}

on_every_backend!(
    orgs,
    users,
    api_keys,
    application_keys,
    disabling_a_user_deletes_its_application_keys,
    change_log,
    credential_entries,
    usage,
    client_tokens,
    sessions,
    audit_trail,
    imports,
    concurrent_writers,
    change_log_in_commit_order,
    look_alike_names,
    last_admin_who_can_act,
    no_key_survives_its_owners_disable,
    invitations,
    org_configs,
    custom_roles,
    last_admin_keeps_the_admin_role,
    rotations,
    key_expiry,
    leaked_keys,
);
