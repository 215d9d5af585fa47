//! Custom roles in the store: their rows, the change log that carries them to every node,
//! who holds them, and the last-admin rule when a role is taken away.

use super::{org, seeded, user, SECOND, T0};
use keyplane::domain::credential::ChangeKind;
use keyplane::domain::permission::{Permission, PermissionSet};
use keyplane::domain::role::{Role, RoleChange, RoleName, RoleRecord};
use keyplane::store::{Store, StoreError};
use std::sync::Arc;
use uuid::Uuid;

fn set(permissions: &[Permission]) -> PermissionSet {
    permissions.iter().map(|p| p.index()).collect()
}

fn role(org_id: Uuid, name: &str, permissions: &[Permission], at: i64) -> RoleRecord {
    RoleRecord {
        id: Uuid::new_v4(),
        org_id,
        name: name.to_owned(),
        permissions: set(permissions),
        created_at: at,
        modified_at: at,
    }
}

pub(super) async fn custom_roles(store: Arc<dyn Store>) {
    let store = &*store;
    let (o, admin) = seeded(store).await;
    let other = org("Other");
    store.create_org(&other).await.expect("other org");
    let readers = role(o.id, "readers", &[Permission::ApiKeysRead], T0);
    let writers = role(o.id, "Writers", &[Permission::ApiKeysWrite], T0 + SECOND);
    let elsewhere = role(other.id, "readers", &[], T0);
    for r in [&readers, &writers, &elsewhere] {
        store.create_role(r).await.expect("create");
    }
    assert_eq!(
        store.get_role(o.id, readers.id).await.expect("get"),
        readers
    );
    assert!(matches!(
        store.get_role(other.id, readers.id).await,
        Err(StoreError::NotFound)
    ));
    let names: Vec<String> = store
        .list_roles(o.id)
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(
        names,
        ["Writers", "readers"],
        "byte order, one organization"
    );

    let before = store.change_seq().await.expect("seq");
    let change = RoleChange {
        name: Some(RoleName::parse("Readers").expect("name")),
        permissions: Some(set(&[Permission::ApiKeysRead])),
        // Applied to the row read inside the write, after the replacement.
        toggle: Some((Permission::ClientTokensRead.index(), true)),
    };
    let changed = store
        .update_role(o.id, readers.id, &change, T0 + 2 * SECOND)
        .await
        .expect("update");
    assert_eq!(changed.name, "Readers");
    assert!(changed
        .permissions
        .contains(Permission::ClientTokensRead.index()));
    assert_eq!(
        store.get_role(o.id, readers.id).await.expect("reread"),
        changed
    );
    let logged = store.changes_since(before, 10).await.expect("changes");
    assert!(
        logged
            .iter()
            .any(|c| c.kind == ChangeKind::Role && c.id == readers.id && c.org_id == o.id),
        "a permission change reaches every node: {logged:?}"
    );
    assert!(matches!(
        store.update_role(other.id, readers.id, &change, T0).await,
        Err(StoreError::NotFound)
    ));

    // Two grants at once: both hold (each applies to the row as the write reads it).
    let grant = |p: Permission| RoleChange {
        toggle: Some((p.index(), true)),
        ..RoleChange::default()
    };
    let (one, two) = (
        grant(Permission::UserAppKeys),
        grant(Permission::AuditLogsRead),
    );
    let (a, b) = tokio::join!(
        store.update_role(o.id, writers.id, &one, T0 + 2 * SECOND),
        store.update_role(o.id, writers.id, &two, T0 + 2 * SECOND),
    );
    a.expect("one");
    b.expect("two");
    let both = store.get_role(o.id, writers.id).await.expect("writers");
    for p in [
        Permission::ApiKeysWrite,
        Permission::UserAppKeys,
        Permission::AuditLogsRead,
    ] {
        assert!(both.permissions.contains(p.index()), "{p:?} lost");
    }

    let entries = store.role_entries(None, 2).await.expect("entries");
    assert_eq!(entries.len(), 2);
    let rest = store
        .role_entries(Some(entries[1].0), 10)
        .await
        .expect("rest");
    let mut ids: Vec<Uuid> = entries.iter().chain(&rest).map(|e| e.0).collect();
    ids.sort();
    let mut want = vec![readers.id, writers.id, elsewhere.id];
    want.sort();
    assert_eq!(ids, want);
    let entry = entries
        .iter()
        .chain(&rest)
        .find(|e| e.0 == readers.id)
        .expect("readers")
        .1
        .clone();
    assert_eq!(
        (entry.org_id, entry.permissions),
        (o.id, changed.permissions)
    );

    // Holding roles: managed and custom side by side, each once.
    let bob = user(&o, "bob@acme.test", &[Role::Standard], T0);
    store.create_user(&bob).await.expect("bob");
    for _ in 0..2 {
        store
            .set_user_role(o.id, bob.id, readers.id, true, T0 + 3 * SECOND)
            .await
            .expect("grant");
    }
    store
        .set_user_role(o.id, bob.id, writers.id, true, T0 + 3 * SECOND)
        .await
        .expect("grant writers");
    let got = store.get_user(o.id, bob.id).await.expect("bob");
    assert_eq!(got.roles, [Role::Standard.id(), readers.id, writers.id]);
    let entries = store.user_entries(None, 10).await.expect("user entries");
    let bob_entry = entries.iter().find(|e| e.0 == bob.id).expect("bob entry");
    assert_eq!(bob_entry.1.roles, got.roles);
    assert!(matches!(
        store
            .set_user_role(other.id, bob.id, readers.id, true, T0)
            .await,
        Err(StoreError::NotFound)
    ));

    // Deleting a role takes it from its holders, in the same write.
    let before = store.change_seq().await.expect("seq");
    store
        .delete_role(o.id, readers.id, T0 + 4 * SECOND)
        .await
        .expect("delete");
    assert!(matches!(
        store.get_role(o.id, readers.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_role(o.id, readers.id, T0).await,
        Err(StoreError::NotFound)
    ));
    let got = store.get_user(o.id, bob.id).await.expect("bob");
    assert_eq!(got.roles, [Role::Standard.id(), writers.id]);
    let logged = store.changes_since(before, 10).await.expect("changes");
    assert!(logged
        .iter()
        .any(|c| c.kind == ChangeKind::Role && c.id == readers.id));
    assert!(logged
        .iter()
        .any(|c| c.kind == ChangeKind::User && c.id == bob.id));
    store
        .set_user_role(o.id, bob.id, writers.id, false, T0 + 5 * SECOND)
        .await
        .expect("revoke");
    let got = store.get_user(o.id, bob.id).await.expect("bob");
    assert_eq!(got.roles, [Role::Standard.id()]);
    assert_eq!(
        store.get_user(o.id, admin.id).await.expect("admin").roles,
        [Role::Admin.id()]
    );
}

pub(super) async fn last_admin_keeps_the_admin_role(store: Arc<dyn Store>) {
    let store = &*store;
    let (o, admin) = seeded(store).await;
    let refused = store
        .set_user_role(o.id, admin.id, Role::Admin.id(), false, T0)
        .await;
    assert!(matches!(refused, Err(StoreError::LastAdmin)), "{refused:?}");
    let second = user(&o, "second@acme.test", &[Role::Standard], T0);
    store.create_user(&second).await.expect("second");
    store
        .set_user_role(o.id, second.id, Role::Admin.id(), true, T0)
        .await
        .expect("a second admin");
    store
        .set_user_role(o.id, admin.id, Role::Admin.id(), false, T0)
        .await
        .expect("another admin can act");
    let refused = store
        .set_user_role(o.id, second.id, Role::Admin.id(), false, T0)
        .await;
    assert!(matches!(refused, Err(StoreError::LastAdmin)), "{refused:?}");
}
