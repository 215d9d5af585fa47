//! First start: an organization, its admin, one API key and one application key, shown once.
//! And the offline recovery path for an operator who lost every key.

use super::api_keys::NewApiKey;
use super::users::{hash_password, parse_email};
use super::{unexpected, Services};
use crate::domain::audit::Action;
use crate::domain::name::KeyName;
use crate::domain::org::Org;
use crate::domain::secret::Secret;
use crate::domain::time;
use crate::domain::user::{Role, User, UserStatus};
use crate::error::{Error, Result};
use crate::store::StoreError;
use uuid::Uuid;

pub const DEFAULT_ADMIN_EMAIL: &str = "admin@keyplane.local";

/// The secrets of a fresh installation. `Debug` redacts every secret.
#[derive(Debug)]
pub struct InitialCredentials {
    pub org_id: Uuid,
    pub api_key: Secret,
    pub app_key: Secret,
    pub admin_email: String,
    pub admin_password: Secret,
}

impl InitialCredentials {
    /// The `<data-dir>/initial-credentials` file, in env-file form.
    pub fn env_file(&self) -> String {
        format!(
            "DD_API_KEY={}\nDD_APP_KEY={}\nKEYPLANE_ADMIN_EMAIL={}\nKEYPLANE_ADMIN_PASSWORD={}\n",
            self.api_key.expose(),
            self.app_key.expose(),
            self.admin_email,
            self.admin_password.expose()
        )
    }
}

fn name(text: &str) -> Result<KeyName> {
    KeyName::parse(text)
}

impl Services {
    /// Creates an organization with its first admin and keys; the secrets are returned once.
    pub async fn create_organization(
        &self,
        org_name: &str,
        admin_email: &str,
    ) -> Result<InitialCredentials> {
        if org_name.trim().is_empty() {
            return Err(Error::invalid("organization name must not be blank"));
        }
        let email = parse_email(admin_email)?;
        let now = time::now();
        let org = Org {
            id: Uuid::new_v4(),
            name: org_name.to_owned(),
            one_time_read: false,
            created_at: now,
        };
        self.store.create_org(&org).await.map_err(unexpected)?;
        let password = crate::domain::session::new_password();
        let admin = User {
            id: Uuid::new_v4(),
            org_id: org.id,
            email: email.clone(),
            name: Some("Administrator".to_owned()),
            handle: email.clone(),
            title: None,
            roles: vec![Role::Admin],
            status: UserStatus::Active,
            service_account: false,
            password_hash: Some(hash_password(password.expose())?),
            created_at: now,
            modified_at: now,
        };
        self.store.create_user(&admin).await.map_err(unexpected)?;
        self.refresh_credentials().await;
        let (_, api_key) = self
            .insert_api_key(
                org.id,
                admin.id,
                NewApiKey {
                    name: name("Initial API key")?,
                    category: None,
                    remote_config_read_enabled: None,
                },
            )
            .await?;
        let (_, app_key) = self
            .insert_application_key(org.id, admin.id, name("Initial application key")?, None)
            .await?;
        Ok(InitialCredentials {
            org_id: org.id,
            api_key,
            app_key,
            admin_email: email,
            admin_password: password,
        })
    }

    /// Bootstraps an empty installation; `None` when it already has an organization.
    pub async fn bootstrap_if_empty(&self) -> Result<Option<InitialCredentials>> {
        if self.store.org_count().await.map_err(unexpected)? > 0 {
            return Ok(None);
        }
        self.create_organization("keyplane", DEFAULT_ADMIN_EMAIL)
            .await
            .map(Some)
    }

    /// The admin an offline recovery acts for: the active admin with `email`, or the first
    /// active admin of the installation's first organization.
    async fn recovery_admin(&self, email: Option<&str>) -> Result<User> {
        let wanted = email.map(|e| e.trim().to_lowercase());
        for org in self.store.list_orgs().await.map_err(unexpected)? {
            let admins = self.store.list_admins(org.id).await.map_err(unexpected)?;
            let hit = match &wanted {
                Some(e) => admins.into_iter().find(|u| &u.email == e),
                None => admins.into_iter().next(),
            };
            if let Some(admin) = hit {
                return Ok(admin);
            }
        }
        Err(match email {
            Some(e) => Error::invalid(format!("no active admin user with email {e}")),
            None => Error::invalid("the installation has no active admin user"),
        })
    }

    /// Offline: a new application key owned by the enabled user with `email` (any role),
    /// or by the first admin of the first organization.
    pub async fn mint_application_key(
        &self,
        email: Option<&str>,
        key_name: &str,
    ) -> Result<(User, Secret)> {
        let owner = match email {
            None => self.recovery_admin(None).await?,
            Some(e) => self.enabled_user(e).await?,
        };
        let (key, secret) = self
            .insert_application_key(owner.org_id, owner.id, KeyName::parse(key_name)?, None)
            .await?;
        self.audit_cli(owner.org_id, Action::ApplicationKeyCreated, Some(key.id))
            .await;
        Ok((owner, secret))
    }

    async fn enabled_user(&self, email: &str) -> Result<User> {
        let wanted = email.trim().to_lowercase();
        for org in self.store.list_orgs().await.map_err(unexpected)? {
            match self.store.find_user_by_email(org.id, &wanted).await {
                Ok(user) if !user.disabled() => return Ok(user),
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(unexpected(e)),
            }
        }
        Err(Error::invalid(format!(
            "no enabled user with email {email}"
        )))
    }

    /// Offline recovery: a new API key in an admin's organization, within the key limit.
    pub async fn mint_api_key(
        &self,
        email: Option<&str>,
        key_name: &str,
    ) -> Result<(User, Secret)> {
        let admin = self.recovery_admin(email).await?;
        let new = NewApiKey {
            name: KeyName::parse(key_name)?,
            category: None,
            remote_config_read_enabled: None,
        };
        let (key, secret) = self.insert_api_key(admin.org_id, admin.id, new).await?;
        self.audit_cli(admin.org_id, Action::ApiKeyCreated, Some(key.id))
            .await;
        Ok((admin, secret))
    }
}
