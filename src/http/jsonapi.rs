//! JSON:API pieces shared by the v2 resources, in the shapes Datadog sends.

use crate::domain::time;
use crate::domain::user::User;
use serde::Serialize;
use uuid::Uuid;

#[derive(Serialize)]
pub struct Document<T: Serialize> {
    pub data: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub included: Option<Vec<UserResource>>,
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

#[derive(Serialize)]
struct UserAttributes {
    name: Option<String>,
    handle: String,
    created_at: String,
    modified_at: String,
    email: String,
    icon: Option<String>,
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
                icon: None,
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
                    data: vec![Linkage {
                        kind: "roles",
                        id: user.role.id(),
                    }],
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
