//! JSON:API pieces shared by the v2 resources, in the shapes Datadog sends.

use crate::domain::leak::LeakedKey;
use crate::domain::permission::{catalog, PermissionDef, PermissionSet};
use crate::domain::role::RoleRecord;
use crate::domain::time;
use crate::domain::user::User;
use crate::error::{Error, Result};
use crate::http::extract::object;
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

/// For `Option<Option<T>>` fields with `#[serde(default)]`: absent is `None`, `null` is
/// `Some(None)`, a value is `Some(Some(v))`. JSON:API PATCH needs the three apart.
pub fn present<'de, D, T>(deserializer: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A request body: `{"data": …}`.
#[derive(Deserialize)]
pub struct Body<D> {
    #[serde(deserialize_with = "object", bound = "D: Deserialize<'de>")]
    pub data: D,
}

/// A resource a client creates: `{"type": …, "attributes": …}`.
#[derive(Deserialize)]
pub struct NewResource<A> {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(deserialize_with = "object", bound = "A: Deserialize<'de>")]
    pub attributes: A,
}

impl<A> NewResource<A> {
    pub fn attributes(self, expected_type: &str) -> Result<A> {
        expect_type(&self.kind, expected_type)?;
        Ok(self.attributes)
    }
}

/// A resource a client changes: its `id` must be the one in the path.
#[derive(Deserialize)]
pub struct ChangedResource<A> {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(deserialize_with = "object", bound = "A: Deserialize<'de>")]
    pub attributes: A,
}

impl<A> ChangedResource<A> {
    pub fn attributes(self, path_id: Uuid, expected_type: &str) -> Result<A> {
        if Uuid::parse_str(&self.id).ok() != Some(path_id) {
            return Err(Error::Mismatch(
                "UUID's in the URL and request body do not match".to_owned(),
            ));
        }
        expect_type(&self.kind, expected_type)?;
        Ok(self.attributes)
    }
}

pub fn expect_type(kind: &str, expected: &str) -> Result<()> {
    if kind == expected {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Invalid type: {kind}. data.type must be {expected}"
        )))
    }
}

/// A list response: `{"data": [...], "included": [...]?, "meta": {...}}`.
#[derive(Serialize)]
pub struct ListDocument<T: Serialize, M: Serialize> {
    pub data: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub included: Option<Vec<Included>>,
    pub meta: M,
}

/// `meta.page` of the key lists.
#[derive(Serialize)]
pub struct PageMeta {
    pub total_filtered_count: u64,
}

#[derive(Serialize)]
pub struct Document<T: Serialize> {
    pub data: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub included: Option<Vec<Included>>,
}

impl<T: Serialize> Document<T> {
    pub fn new(data: T) -> Self {
        Self {
            data,
            included: None,
        }
    }
}

/// Objects of `included`: users, their roles, permissions and organizations.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Included {
    User(Box<UserResource>),
    Role(RoleResource),
    Permission(PermissionResource),
    Org(serde_json::Value),
    Leak(LeakedKeyResource),
}

/// Datadog's `LeakedKey`: when and where a key was found.
#[derive(Serialize)]
pub struct LeakedKeyResource {
    id: Uuid,
    #[serde(rename = "type")]
    kind: &'static str,
    attributes: LeakedKeyAttributes,
}

#[derive(Serialize)]
struct LeakedKeyAttributes {
    date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    leak_source: Option<String>,
}

impl From<&LeakedKey> for LeakedKeyResource {
    fn from(leak: &LeakedKey) -> Self {
        Self {
            id: leak.id,
            kind: LEAKED_KEYS,
            attributes: LeakedKeyAttributes {
                date: time::format(leak.date),
                leak_source: leak.source.clone(),
            },
        }
    }
}

const LEAKED_KEYS: &str = "leaked_keys";

/// `included` with the leak records of a response's keys appended (none: unchanged).
pub fn with_leaks<'a>(
    included: Option<Vec<Included>>,
    leaks: impl Iterator<Item = &'a LeakedKey>,
) -> Option<Vec<Included>> {
    let mut leaks = leaks.map(|l| Included::Leak(l.into())).peekable();
    if leaks.peek().is_none() {
        return included;
    }
    let mut all = included.unwrap_or_default();
    all.extend(leaks);
    Some(all)
}

impl Included {
    /// The users, then each of their roles (among `roles`) once.
    pub fn users_with_roles(users: &[User], roles: &[RoleRecord]) -> Vec<Included> {
        let held = |r: &&RoleRecord| users.iter().any(|u| u.roles.contains(&r.id));
        users
            .iter()
            .map(|u| Included::User(Box::new(u.into())))
            .chain(
                roles
                    .iter()
                    .filter(held)
                    .map(|r| Included::Role(RoleResource::new(r, None))),
            )
            .collect()
    }

    pub fn users(users: &[User]) -> Vec<Included> {
        users
            .iter()
            .map(|u| Included::User(Box::new(u.into())))
            .collect()
    }
}

/// A role as Datadog shows it: `user_count` where Datadog sends one (lists, gets, creates).
#[derive(Serialize)]
pub struct RoleResource {
    #[serde(rename = "type")]
    kind: &'static str,
    id: Uuid,
    attributes: RoleAttributes,
    relationships: RoleRelationships,
}

#[derive(Serialize)]
struct RoleAttributes {
    name: String,
    managed: bool,
    created_at: String,
    modified_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_count: Option<u64>,
}

#[derive(Serialize)]
struct RoleRelationships {
    permissions: Linkages,
}

#[derive(Serialize)]
pub struct Linkages {
    data: Vec<Linkage>,
}

impl Linkages {
    /// The listed permissions of `set`, in the catalog's order.
    pub fn permissions(set: &PermissionSet) -> Self {
        let catalog = catalog();
        Self {
            data: set
                .iter()
                .filter_map(|i| catalog.get(i))
                .filter(|p| p.listed)
                .map(|p| Linkage {
                    kind: "permissions",
                    id: p.id,
                })
                .collect(),
        }
    }

    pub fn of(kind: &'static str, ids: impl IntoIterator<Item = Uuid>) -> Self {
        Self {
            data: ids.into_iter().map(|id| Linkage { kind, id }).collect(),
        }
    }
}

impl RoleResource {
    pub fn new(role: &RoleRecord, user_count: Option<u64>) -> Self {
        Self {
            kind: "roles",
            id: role.id,
            attributes: RoleAttributes {
                name: role.name.clone(),
                managed: role.is_managed(),
                created_at: time::format(role.created_at),
                modified_at: time::format(role.modified_at),
                user_count,
            },
            relationships: RoleRelationships {
                permissions: Linkages::permissions(&role.permissions),
            },
        }
    }
}

/// A permission of the catalog, as `GET /api/v2/permissions` lists it.
#[derive(Serialize)]
pub struct PermissionResource {
    #[serde(rename = "type")]
    kind: &'static str,
    id: Uuid,
    attributes: PermissionAttributes,
}

#[derive(Serialize)]
struct PermissionAttributes {
    created: String,
    description: String,
    display_name: String,
    display_type: String,
    group_name: String,
    name: String,
    name_aliases: [(); 0],
    restricted: bool,
}

impl From<&PermissionDef> for PermissionResource {
    fn from(p: &PermissionDef) -> Self {
        Self {
            kind: "permissions",
            id: p.id,
            attributes: PermissionAttributes {
                created: p.created.clone(),
                description: p.description.clone(),
                display_name: p.display_name.clone(),
                display_type: p.display_type.clone(),
                group_name: p.group_name.clone(),
                name: p.name.clone(),
                name_aliases: [],
                restricted: p.restricted,
            },
        }
    }
}

impl PermissionResource {
    /// The listed permissions of `set`, in the catalog's order.
    pub fn list(set: &PermissionSet) -> Vec<PermissionResource> {
        let catalog = catalog();
        set.iter()
            .filter_map(|i| catalog.get(i))
            .filter(|p| p.listed)
            .map(PermissionResource::from)
            .collect()
    }
}

#[derive(Serialize)]
pub struct Linkage {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: Uuid,
}

/// `{"data": {...}}` or `{"data": null}`.
#[derive(Serialize)]
pub struct Relationship {
    pub data: Option<Linkage>,
}

impl Relationship {
    pub fn user(id: Option<Uuid>) -> Self {
        Self {
            data: id.map(|id| Linkage { kind: "users", id }),
        }
    }

    pub fn none() -> Self {
        Self { data: None }
    }

    /// `leak_information`: the key's leak record, or `null`.
    pub fn leak(leak: Option<&LeakedKey>) -> Self {
        Self {
            data: leak.map(|l| Linkage {
                kind: LEAKED_KEYS,
                id: l.id,
            }),
        }
    }
}

#[derive(Serialize)]
pub struct UserResource {
    #[serde(rename = "type")]
    kind: &'static str,
    id: Uuid,
    attributes: UserAttributes,
    relationships: UserRelationships,
}

/// No `icon`: keyplane has no avatars, and Datadog's schema types `icon` as a string, never
/// null, so typed clients may refuse a null.
#[derive(Serialize)]
struct UserAttributes {
    name: Option<String>,
    handle: String,
    created_at: String,
    modified_at: String,
    email: String,
    title: Option<String>,
    verified: bool,
    service_account: bool,
    disabled: bool,
    allowed_login_methods: [(); 0],
    status: &'static str,
    uuid: Uuid,
    last_login_time: Option<String>,
}

#[derive(Serialize)]
struct UserRelationships {
    roles: Linkages,
    org: Relationship,
    /// Only the current user carries it (keyplane has no teams: always empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    team_roles: Option<Linkages>,
}

impl UserResource {
    /// As `GET /api/v2/current_user` shows the caller.
    pub fn current(user: &User) -> Self {
        let mut resource = Self::from(user);
        resource.relationships.team_roles = Some(Linkages::of("team_roles", []));
        resource
    }
}

impl From<&User> for UserResource {
    fn from(user: &User) -> Self {
        Self {
            kind: "users",
            id: user.id,
            attributes: UserAttributes {
                name: user.name.clone(),
                handle: user.handle.clone(),
                created_at: time::format(user.created_at),
                modified_at: time::format(user.modified_at),
                email: user.email.clone(),
                title: user.title.clone(),
                verified: user.status != crate::domain::user::UserStatus::Pending,
                service_account: user.service_account,
                disabled: user.disabled(),
                allowed_login_methods: [],
                status: user.status.as_str(),
                uuid: user.id,
                last_login_time: None,
            },
            relationships: UserRelationships {
                roles: Linkages::of("roles", user.roles.iter().copied()),
                org: Relationship {
                    data: Some(Linkage {
                        kind: "orgs",
                        id: user.org_id,
                    }),
                },
                team_roles: None,
            },
        }
    }
}
