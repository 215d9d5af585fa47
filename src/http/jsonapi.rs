//! JSON:API pieces shared by the v2 resources, in the shapes Datadog sends.

use crate::domain::time::{self, Micros};
use crate::domain::user::{Role, User};
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

/// Objects of `included`: users and their roles.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Included {
    User(Box<UserResource>),
    Role(RoleResource),
}

impl Included {
    /// The users, then each of their roles once.
    pub fn users_with_roles(users: &[User]) -> Vec<Included> {
        let mut roles: Vec<Role> = Vec::new();
        for role in users.iter().flat_map(|u| u.roles.iter()) {
            if !roles.contains(role) {
                roles.push(*role);
            }
        }
        users
            .iter()
            .map(|u| Included::User(Box::new(u.into())))
            .chain(roles.into_iter().map(|r| Included::Role(r.into())))
            .collect()
    }

    pub fn users(users: &[User]) -> Vec<Included> {
        users
            .iter()
            .map(|u| Included::User(Box::new(u.into())))
            .collect()
    }
}

/// Managed roles exist from the start; they carry keyplane's release date.
const ROLES_CREATED_AT: Micros = 1_767_225_600_000_000;

#[derive(Serialize)]
pub struct RoleResource {
    #[serde(rename = "type")]
    kind: &'static str,
    id: Uuid,
    attributes: RoleAttributes,
}

#[derive(Serialize)]
struct RoleAttributes {
    name: &'static str,
    managed: bool,
    created_at: String,
    modified_at: String,
}

impl From<Role> for RoleResource {
    fn from(role: Role) -> Self {
        Self {
            kind: "roles",
            id: role.id(),
            attributes: RoleAttributes {
                name: role.display_name(),
                managed: true,
                created_at: time::format(ROLES_CREATED_AT),
                modified_at: time::format(ROLES_CREATED_AT),
            },
        }
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
    roles: RoleLinkages,
    org: Relationship,
}

#[derive(Serialize)]
struct RoleLinkages {
    data: Vec<Linkage>,
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
                roles: RoleLinkages {
                    data: user
                        .roles
                        .iter()
                        .map(|r| Linkage {
                            kind: "roles",
                            id: r.id(),
                        })
                        .collect(),
                },
                org: Relationship {
                    data: Some(Linkage {
                        kind: "orgs",
                        id: user.org_id,
                    }),
                },
            },
        }
    }
}
