//! Users and service accounts, as much of Datadog's users API as key management needs.
//! Disabling a user deletes its application keys at once; the API keys it created stay.

use super::{unexpected, Services};
use crate::domain::audit::Action;
use crate::domain::principal::Principal;
use crate::domain::time;
use crate::domain::user::{Permission, User, UserChange, UserQuery, UserStatus};
use crate::error::{Error, Result};
use crate::store::StoreError;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHasher};
use uuid::Uuid;

const MAX_TEXT_CHARS: usize = 255;

/// An argon2id PHC string for `password`.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

/// Emails are stored lowercased, as Datadog does.
pub fn parse_email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let well_formed = email.len() <= MAX_TEXT_CHARS
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
    if well_formed {
        Ok(email)
    } else {
        Err(Error::invalid(format!("Invalid email: {raw}")))
    }
}

pub fn parse_text(field: &str, raw: String) -> Result<String> {
    if raw.chars().count() > MAX_TEXT_CHARS || raw.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "{field} must be at most {MAX_TEXT_CHARS} characters without control characters"
        )));
    }
    Ok(raw)
}

/// What creating a user or service account asks for, already parsed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: Option<String>,
    pub title: Option<String>,
    /// Role ids, managed or custom, each once.
    pub roles: Vec<Uuid>,
}

fn user_not_found(id: Uuid) -> Error {
    Error::NotFoundText(format!("{id} not found"))
}

impl Services {
    pub(super) fn map_user_error(&self, id: Uuid, email: Option<&str>, err: StoreError) -> Error {
        match err {
            StoreError::NotFound => user_not_found(id),
            StoreError::Conflict(_) => Error::Conflict(format!(
                "A user with the email {} already exists",
                email.unwrap_or_default()
            )),
            // Counted in the store's write, so two admins disabling each other cannot both pass.
            StoreError::LastAdmin => Error::Refused(
                "The organization's last enabled admin cannot be disabled".to_owned(),
            ),
            other => unexpected(other),
        }
    }

    async fn insert_user(&self, org_id: Uuid, new: NewUser, service_account: bool) -> Result<User> {
        let known = self.roles_by_ids(org_id, &new.roles).await?;
        if let Some(missing) = new
            .roles
            .iter()
            .find(|id| !known.iter().any(|r| r.id == **id))
        {
            return Err(Error::invalid(format!("Role {missing} not found")));
        }
        let now = time::now();
        let id = Uuid::new_v4();
        let user = User {
            id,
            org_id,
            handle: if service_account {
                id.to_string()
            } else {
                new.email.clone()
            },
            email: new.email,
            name: new.name,
            title: new.title,
            roles: new.roles,
            // Invited users are Pending until they sign in; service accounts act at once.
            status: if service_account {
                UserStatus::Active
            } else {
                UserStatus::Pending
            },
            service_account,
            password_hash: None,
            created_at: now,
            modified_at: now,
        };
        self.store
            .create_user(&user)
            .await
            .map_err(|e| self.map_user_error(id, Some(&user.email), e))?;
        self.refresh_credentials().await;
        Ok(user)
    }

    pub async fn create_user(&self, who: &Principal, new: NewUser) -> Result<User> {
        who.require(Permission::UserAccessInvite)?;
        let user = self.insert_user(who.org_id, new, false).await?;
        self.audit(who, Action::UserCreated, Some(user.id)).await;
        Ok(user)
    }

    pub async fn create_service_account(&self, who: &Principal, new: NewUser) -> Result<User> {
        who.require(Permission::ServiceAccountWrite)?;
        // A scoped key cannot make an identity with permissions its scopes lack.
        let granted = self.index.permissions_of(who.org_id, &new.roles);
        super::roles::within_ceiling(who, &granted)?;
        let user = self.insert_user(who.org_id, new, true).await?;
        self.audit(who, Action::UserCreated, Some(user.id)).await;
        Ok(user)
    }

    pub async fn get_user(&self, who: &Principal, id: Uuid) -> Result<User> {
        who.require(Permission::UserAccessRead)?;
        self.store
            .get_user(who.org_id, id)
            .await
            .map_err(|e| self.map_user_error(id, None, e))
    }

    /// One page of users, the number matched and the organization's total.
    pub async fn list_users(
        &self,
        who: &Principal,
        query: &UserQuery,
    ) -> Result<(Vec<User>, u64, u64)> {
        who.require(Permission::UserAccessRead)?;
        self.store
            .list_users(who.org_id, query)
            .await
            .map_err(unexpected)
    }

    /// Updates a user; `disabled: true` disables it, deleting its application keys.
    pub async fn update_user(&self, who: &Principal, id: Uuid, change: UserChange) -> Result<User> {
        let target = self.get_user(who, id).await?;
        if target.service_account {
            who.require_any(&[
                Permission::UserAccessManage,
                Permission::ServiceAccountWrite,
            ])?;
        } else {
            who.require(Permission::UserAccessManage)?;
        }
        let user = self
            .store
            .update_user(who.org_id, id, &change, time::now())
            .await
            .map_err(|e| self.map_user_error(id, change.email.as_deref(), e))?;
        self.refresh_credentials().await;
        let action = Action::of_user_change(target.disabled(), user.disabled());
        self.audit(who, action, Some(id)).await;
        Ok(user)
    }

    /// DELETE /users/{id}: disables; an already disabled user is not found, as in Datadog.
    pub async fn disable_user(&self, who: &Principal, id: Uuid) -> Result<()> {
        let target = self.get_user(who, id).await?;
        if target.disabled() {
            return Err(user_not_found(id));
        }
        let change = UserChange {
            disabled: Some(true),
            ..UserChange::default()
        };
        self.update_user(who, id, change).await.map(|_| ())
    }

    /// The users of the caller's organization with these ids, each once whatever the
    /// repeats in `ids` (for `included` and v1's owner names).
    pub async fn users_by_ids(&self, org_id: Uuid, ids: &[Uuid]) -> Result<Vec<User>> {
        self.store
            .users_by_ids(org_id, ids)
            .await
            .map_err(unexpected)
    }
}
