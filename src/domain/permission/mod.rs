//! Datadog's permissions: one catalog, in Datadog's order (what `GET /api/v2/permissions`
//! lists and what application-key scopes and custom roles may name), the handful keyplane
//! enforces as typed handles into it, and a compact set over its indices.

mod set;

pub use set::PermissionSet;

use serde::Deserialize;
use std::collections::HashMap;
use std::sync::LazyLock;
use uuid::Uuid;

/// Datadog's catalog as recorded in 2026-03 (`GET /api/v2/permissions`, 300 entries).
const DATADOG: &str = include_str!("datadog.json");

/// One permission as Datadog describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct PermissionDef {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub description: String,
    /// As recorded (RFC 3339); these dates are Datadog's, not this installation's.
    pub created: String,
    pub group_name: String,
    pub display_type: String,
    /// Datadog grants restricted permissions to every new role unless it opts out.
    pub restricted: bool,
    /// Whether `GET /api/v2/permissions` lists it. Datadog checks `user_access_read` and the
    /// self-profile permissions without listing them; every role holds them.
    #[serde(default = "listed")]
    pub listed: bool,
}

fn listed() -> bool {
    true
}

/// Permissions Datadog enforces (as spec x-permissions and token scopes) but does not list;
/// keyplane gives them fixed ids of its own so that roles and sets can carry them.
const UNLISTED: [(&str, &str, u128); 3] = [
    (
        "user_access_read",
        "View the users, roles and service accounts of your organization.",
        0x6b2c_5a2e_7d0c_11ee_9f0a_0242_ac12_0101,
    ),
    (
        "user_self_profile_read",
        "View your own profile.",
        0x6b2c_5a2e_7d0c_11ee_9f0a_0242_ac12_0102,
    ),
    (
        "user_self_profile_write",
        "Edit your own profile.",
        0x6b2c_5a2e_7d0c_11ee_9f0a_0242_ac12_0103,
    ),
];

pub struct Catalog {
    entries: Vec<PermissionDef>,
    by_name: HashMap<String, usize>,
    by_id: HashMap<Uuid, usize>,
    handles: [usize; Permission::ALL.len()],
    restricted: PermissionSet,
    implicit: PermissionSet,
}

/// The catalog, read once. The data is compiled in and a unit test reads it, so a failure
/// here is a build defect, not a runtime condition.
pub fn catalog() -> &'static Catalog {
    static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
        Catalog::parse(DATADOG).unwrap_or_else(|e| panic!("permission catalog: {e}"))
    });
    &CATALOG
}

impl Catalog {
    fn parse(text: &str) -> Result<Self, String> {
        let mut entries: Vec<PermissionDef> =
            serde_json::from_str(text).map_err(|e| e.to_string())?;
        for (name, description, id) in UNLISTED {
            entries.push(PermissionDef {
                id: Uuid::from_u128(id),
                name: name.to_owned(),
                display_name: name.to_owned(),
                description: description.to_owned(),
                created: "2020-08-25T19:17:23.539701Z".to_owned(),
                group_name: "Access Management".to_owned(),
                display_type: "read".to_owned(),
                restricted: false,
                listed: false,
            });
        }
        if entries.len() > PermissionSet::CAPACITY {
            return Err(format!("{} permissions do not fit a set", entries.len()));
        }
        let by_name: HashMap<String, usize> = entries
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.clone(), i))
            .collect();
        let by_id: HashMap<Uuid, usize> =
            entries.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
        if by_name.len() != entries.len() || by_id.len() != entries.len() {
            return Err("duplicate permission name or id".to_owned());
        }
        let mut handles = [0; Permission::ALL.len()];
        for (slot, handle) in handles.iter_mut().zip(Permission::ALL) {
            *slot = *by_name
                .get(handle.as_str())
                .ok_or_else(|| format!("{} is not in the catalog", handle.as_str()))?;
        }
        let set_of = |keep: &dyn Fn(&PermissionDef) -> bool| {
            entries
                .iter()
                .enumerate()
                .filter(|(_, p)| keep(p))
                .map(|(i, _)| i)
                .collect::<PermissionSet>()
        };
        let restricted = set_of(&|p| p.restricted);
        let implicit = set_of(&|p| !p.listed);
        Ok(Self {
            entries,
            by_name,
            by_id,
            handles,
            restricted,
            implicit,
        })
    }

    /// Every permission, listed ones first in Datadog's order.
    pub fn all(&self) -> &[PermissionDef] {
        &self.entries
    }

    /// The permissions `GET /api/v2/permissions` shows, with their catalog indices.
    pub fn listed(&self) -> impl Iterator<Item = (usize, &PermissionDef)> {
        self.entries.iter().enumerate().filter(|(_, p)| p.listed)
    }

    pub fn get(&self, index: usize) -> Option<&PermissionDef> {
        self.entries.get(index)
    }

    pub fn index_of_name(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    pub fn index_of_id(&self, id: Uuid) -> Option<usize> {
        self.by_id.get(&id).copied()
    }

    pub fn index(&self, permission: Permission) -> usize {
        self.handles[permission as usize]
    }

    /// What Datadog adds to every new role unless it opts out.
    pub fn restricted(&self) -> PermissionSet {
        self.restricted
    }

    /// What every role grants without listing it.
    pub fn implicit(&self) -> PermissionSet {
        self.implicit
    }

    /// Every permission in the catalog.
    pub fn everything(&self) -> PermissionSet {
        (0..self.entries.len()).collect()
    }

    pub fn set_of(&self, permissions: &[Permission]) -> PermissionSet {
        permissions.iter().map(|p| self.index(*p)).collect()
    }
}

/// The permissions that gate key management, named as Datadog names them: typed handles
/// into the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    ApiKeysRead,
    ApiKeysWrite,
    ApiKeysDelete,
    OrgAppKeysRead,
    OrgAppKeysWrite,
    UserAppKeys,
    UserAccessRead,
    UserAccessInvite,
    UserAccessManage,
    ServiceAccountWrite,
    ClientTokensRead,
    ClientTokensWrite,
    AuditLogsRead,
    UserSelfProfileWrite,
    OrgManagement,
}

impl Permission {
    pub const ALL: [Permission; 15] = [
        Permission::ApiKeysRead,
        Permission::ApiKeysWrite,
        Permission::ApiKeysDelete,
        Permission::OrgAppKeysRead,
        Permission::OrgAppKeysWrite,
        Permission::UserAppKeys,
        Permission::UserAccessRead,
        Permission::UserAccessInvite,
        Permission::UserAccessManage,
        Permission::ServiceAccountWrite,
        Permission::ClientTokensRead,
        Permission::ClientTokensWrite,
        Permission::AuditLogsRead,
        Permission::UserSelfProfileWrite,
        Permission::OrgManagement,
    ];

    pub fn as_str(self) -> &'static str {
        use Permission::*;
        match self {
            ApiKeysRead => "api_keys_read",
            ApiKeysWrite => "api_keys_write",
            ApiKeysDelete => "api_keys_delete",
            OrgAppKeysRead => "org_app_keys_read",
            OrgAppKeysWrite => "org_app_keys_write",
            UserAppKeys => "user_app_keys",
            UserAccessRead => "user_access_read",
            UserAccessInvite => "user_access_invite",
            UserAccessManage => "user_access_manage",
            ServiceAccountWrite => "service_account_write",
            ClientTokensRead => "client_tokens_read",
            ClientTokensWrite => "client_tokens_write",
            AuditLogsRead => "audit_logs_read",
            UserSelfProfileWrite => "user_self_profile_write",
            OrgManagement => "org_management",
        }
    }

    pub fn index(self) -> usize {
        catalog().index(self)
    }
}

/// Whether `name` is a permission of the catalog: what an application key's scopes may hold.
pub fn is_known(name: &str) -> bool {
    catalog().index_of_name(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_reads_in_datadogs_order() {
        let catalog = catalog();
        let listed: Vec<_> = catalog.listed().collect();
        assert_eq!(listed.len(), 300);
        assert_eq!(listed[0].1.name, "admin");
        // Datadog's BDD fixture `permission` is `ListPermissions` data[4]: it must be grantable.
        assert_eq!(listed[4].1.name, "logs_live_tail");
        assert!(!listed[4].1.restricted);
        assert_eq!(catalog.restricted().len(), 10);
        for p in Permission::ALL {
            assert_eq!(catalog.all()[p.index()].name, p.as_str());
        }
        assert!(catalog
            .get(catalog.index_of_name("user_access_read").unwrap())
            .is_some_and(|p| !p.listed));
    }

    #[test]
    fn scopes_are_catalog_names() {
        for name in [
            "dashboards_read",
            "dashboards_write",
            "dashboards_public_share",
        ] {
            assert!(is_known(name), "{name}");
        }
        assert!(!is_known("dashboards"));
    }
}
