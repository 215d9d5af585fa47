use super::list::{Page, Sort};
use super::time::Micros;
use uuid::Uuid;

pub use super::permission::Permission;
pub use super::role::Role;

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
    /// The ids of the roles held, managed or custom.
    pub roles: Vec<Uuid>,
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

    pub fn is_admin(&self) -> bool {
        self.roles.contains(&Role::Admin.id())
    }

    /// Whether this user can act at all: signed in once (Active), or holding a password or
    /// an application key. A Pending admin who has none of these cannot manage anything.
    pub fn can_act(&self, holds_app_key: bool) -> bool {
        !self.disabled()
            && (self.status == UserStatus::Active || self.password_hash.is_some() || holds_app_key)
    }
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

impl UserQuery {
    /// Whether `user` passes the filters, as the stores apply them: a case-insensitive
    /// substring of the name or the email, and the statuses.
    pub fn matches(&self, user: &User) -> bool {
        let named = self.filter.as_ref().is_none_or(|f| {
            let f = f.to_lowercase();
            user.email.contains(&f)
                || user
                    .name
                    .as_ref()
                    .is_some_and(|n| n.to_lowercase().contains(&f))
        });
        named && (self.statuses.is_empty() || self.statuses.contains(&user.status))
    }

    /// The query's order, ties broken by creation and id as the stores break them.
    pub fn order(&self, a: &User, b: &User) -> std::cmp::Ordering {
        let by = match self.sort.field {
            UserSortField::Name => a
                .name
                .as_deref()
                .unwrap_or_default()
                .to_lowercase()
                .cmp(&b.name.as_deref().unwrap_or_default().to_lowercase()),
            UserSortField::Email => a.email.cmp(&b.email),
            UserSortField::CreatedAt => a.created_at.cmp(&b.created_at),
            UserSortField::ModifiedAt => a.modified_at.cmp(&b.modified_at),
            UserSortField::Status => a.status.as_str().cmp(b.status.as_str()),
        };
        let by = if self.sort.descending {
            by.reverse()
        } else {
            by
        };
        by.then(a.created_at.cmp(&b.created_at))
            .then(a.id.cmp(&b.id))
    }
}
