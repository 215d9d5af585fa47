use super::list::{Page, Sort};
use super::time::Micros;
use uuid::Uuid;

/// Datadog's three built-in (managed) roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Standard,
    ReadOnly,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Standard, Role::ReadOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Standard => "standard",
            Role::ReadOnly => "read_only",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// The name Datadog gives the role.
    pub fn display_name(self) -> &'static str {
        match self {
            Role::Admin => "Datadog Admin Role",
            Role::Standard => "Datadog Standard Role",
            Role::ReadOnly => "Datadog Read Only Role",
        }
    }

    /// Managed roles have the same id in every organization of a keyplane installation.
    pub fn id(self) -> Uuid {
        match self {
            Role::Admin => Uuid::from_u128(0x6b2c_5a2e_7d0c_11ee_9f0a_0242_ac12_0001),
            Role::Standard => Uuid::from_u128(0x6b2c_5a2e_7d0c_11ee_9f0a_0242_ac12_0002),
            Role::ReadOnly => Uuid::from_u128(0x6b2c_5a2e_7d0c_11ee_9f0a_0242_ac12_0003),
        }
    }

    pub fn from_id(id: Uuid) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.id() == id)
    }

    /// The key-management permissions each managed role grants, as Datadog's defaults:
    /// Standard users read API keys, manage their own application keys and the organization's
    /// client tokens; Read Only users see who is in the organization and its client tokens.
    pub fn grants(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Standard => matches!(
                permission,
                ApiKeysRead | UserAppKeys | UserAccessRead | ClientTokensRead | ClientTokensWrite
            ),
            Role::ReadOnly => matches!(permission, UserAccessRead | ClientTokensRead),
        }
    }
}

/// The permissions that gate key management, named as Datadog names them.
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
    /// Organization settings (org configs).
    OrgManagement,
}

impl Permission {
    pub const ALL: [Permission; 14] = [
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
            OrgManagement => "org_management",
        }
    }

    /// The permission named `name`: the one list of names an application key's scopes
    /// may hold.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    Active,
    Pending,
    Disabled,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "Active",
            UserStatus::Pending => "Pending",
            UserStatus::Disabled => "Disabled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            UserStatus::Active,
            UserStatus::Pending,
            UserStatus::Disabled,
        ]
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(text))
    }
}

/// A user or a service account (Datadog models both as `users`).
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub org_id: Uuid,
    /// Always lowercased, as Datadog stores it.
    pub email: String,
    pub name: Option<String>,
    /// The email for a user, the id for a service account.
    pub handle: String,
    pub title: Option<String>,
    pub roles: Vec<Role>,
    pub status: UserStatus,
    pub service_account: bool,
    /// argon2id PHC string; `None` for service accounts and users who never set one.
    pub password_hash: Option<String>,
    pub created_at: Micros,
    pub modified_at: Micros,
}

impl User {
    pub fn disabled(&self) -> bool {
        self.status == UserStatus::Disabled
    }

    pub fn grants(&self, permission: Permission) -> bool {
        self.roles.iter().any(|r| r.grants(permission))
    }

    /// Whether this user can act at all: signed in once (Active), or holding a password or
    /// an application key. A Pending admin who has none of these cannot manage anything.
    pub fn can_act(&self, holds_app_key: bool) -> bool {
        !self.disabled()
            && (self.status == UserStatus::Active || self.password_hash.is_some() || holds_app_key)
    }
}

/// Every permission any of `roles` grants.
pub fn permissions_of(roles: &[Role]) -> impl Iterator<Item = Permission> + '_ {
    Permission::ALL
        .into_iter()
        .filter(|p| roles.iter().any(|r| r.grants(*p)))
}

/// A validated change to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub email: Option<String>,
    pub name: Option<String>,
    /// `Some(None)` clears the title.
    pub title: Option<Option<String>>,
    pub disabled: Option<bool>,
    /// A new argon2id PHC string; setting one ends the user's console sessions.
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSortField {
    Name,
    Email,
    CreatedAt,
    ModifiedAt,
    Status,
}

impl UserSortField {
    pub fn parse(field: &str) -> Option<Self> {
        match field.to_ascii_lowercase().as_str() {
            "name" => Some(Self::Name),
            "email" => Some(Self::Email),
            "created_at" => Some(Self::CreatedAt),
            "modified_at" => Some(Self::ModifiedAt),
            "status" => Some(Self::Status),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct UserQuery {
    /// Case-insensitive substring of the name or the email.
    pub filter: Option<String>,
    pub statuses: Vec<UserStatus>,
    pub sort: Sort<UserSortField>,
    pub page: Page,
}
