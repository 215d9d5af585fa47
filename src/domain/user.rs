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
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Standard => "standard",
            Role::ReadOnly => "read_only",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(Role::Admin),
            "standard" => Some(Role::Standard),
            "read_only" => Some(Role::ReadOnly),
            _ => None,
        }
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

    pub fn grants(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Standard => matches!(permission, ApiKeysRead | UserAppKeys | UserAccessRead),
            Role::ReadOnly => matches!(permission, UserAccessRead),
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
}

impl Permission {
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
        }
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
        match text {
            "Active" => Some(UserStatus::Active),
            "Pending" => Some(UserStatus::Pending),
            "Disabled" => Some(UserStatus::Disabled),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub org_id: Uuid,
    /// Always lowercased, as Datadog stores it.
    pub email: String,
    pub name: Option<String>,
    pub handle: String,
    pub title: Option<String>,
    pub role: Role,
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
}
