//! First start: an organization, its admin, one API key and one application key, shown once.
//! And the offline recovery path for an operator who lost every key.

use super::api_keys::NewApiKey;
use super::users::{hash_password, parse_email};
use super::{unexpected, Services};
use crate::domain::api_key::ApiKey;
use crate::domain::application_key::ApplicationKey;
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

/// An organization, its admin and its first keys, built but not stored yet.
struct NewOrganization {
    org: Org,
    admin: User,
    api_key: ApiKey,
    app_key: ApplicationKey,
    credentials: InitialCredentials,
}

impl Services {
    fn new_organization(
        &self,
        org_name: &str,
        admin_email: &str,
        one_time_read: bool,
    ) -> Result<NewOrganization> {
        if org_name.trim().is_empty() {
            return Err(Error::invalid("organization name must not be blank"));
        }
        let email = parse_email(admin_email)?;
        let now = time::now();
        let org = Org {
            id: Uuid::new_v4(),
            name: org_name.to_owned(),
            one_time_read,
            created_at: now,
            num: None,
        };
        let password = crate::domain::session::new_password();
        let admin = User {
            id: Uuid::new_v4(),
            org_id: org.id,
            email: email.clone(),
            name: Some("Administrator".to_owned()),
            handle: email.clone(),
            title: None,
            roles: vec![Role::Admin.id()],
            status: UserStatus::Active,
            service_account: false,
            password_hash: Some(hash_password(password.expose())?),
            created_at: now,
            modified_at: now,
        };
        let (api_key, api_secret) = self.new_api_key(
            org.id,
            admin.id,
            NewApiKey {
                name: name("Initial API key")?,
                category: None,
                remote_config_read_enabled: None,
                expiry: Default::default(),
            },
        )?;
        let (app_key, app_secret) =
            self.new_application_key(org.id, admin.id, name("Initial application key")?, None)?;
        Ok(NewOrganization {
            credentials: InitialCredentials {
                org_id: org.id,
                api_key: api_secret,
                app_key: app_secret,
                admin_email: email,
                admin_password: password,
            },
            org,
            admin,
            api_key,
            app_key,
        })
    }

    /// Stores all of `new` in one transaction.
    async fn store_organization(&self, new: NewOrganization) -> Result<InitialCredentials> {
        self.store
            .create_organization(&new.org, &new.admin, &new.api_key, &new.app_key)
            .await
            .map_err(unexpected)?;
        self.refresh_credentials().await;
        Ok(new.credentials)
    }

    /// Creates an organization with its first admin and keys; the secrets are returned once.
    /// New organizations start in One-Time Read mode unless `one_time_read` is false.
    pub async fn create_organization(
        &self,
        org_name: &str,
        admin_email: &str,
        one_time_read: bool,
    ) -> Result<InitialCredentials> {
        let new = self.new_organization(org_name, admin_email, one_time_read)?;
        let org = new.org.id;
        let credentials = self.store_organization(new).await?;
        // One record stands for the organization, its admin and first keys.
        self.audit_cli(org, Action::OrgCreated, Some(org)).await;
        Ok(credentials)
    }

    /// Bootstraps an empty installation; `None` when it already has an organization.
    /// `keep` saves the credentials before they are committed: a crash before the commit
    /// leaves an empty installation (the next start bootstraps again and overwrites them),
    /// a crash after it leaves them saved.
    pub async fn bootstrap_if_empty(
        &self,
        one_time_read: bool,
        keep: impl FnOnce(&InitialCredentials) -> Result<()>,
    ) -> Result<Option<InitialCredentials>> {
        if self.store.org_count().await.map_err(unexpected)? > 0 {
            return Ok(None);
        }
        let new = self.new_organization("keyplane", DEFAULT_ADMIN_EMAIL, one_time_read)?;
        keep(&new.credentials)?;
        self.store_organization(new).await.map(Some)
    }

    /// The organizations an offline command may act in: `org` alone (which must exist), or
    /// every organization in creation order.
    async fn candidate_orgs(&self, org: Option<Uuid>) -> Result<Vec<Org>> {
        match org {
            Some(id) => match self.store.get_org(id).await {
                Ok(org) => Ok(vec![org]),
                Err(StoreError::NotFound) => Err(Error::invalid(format!("no organization {id}"))),
                Err(e) => Err(unexpected(e)),
            },
            None => self.store.list_orgs().await.map_err(unexpected),
        }
    }

    /// The one match across organizations; several are refused, so a tenant who plants
    /// another org's admin email in its own org cannot catch the recovery key.
    fn only_match(found: Vec<(User, Org)>, email: &str) -> Result<Option<(User, Org)>> {
        if found.len() > 1 {
            let orgs: Vec<String> = found
                .iter()
                .map(|(_, o)| format!("{} ({})", o.id, o.name))
                .collect();
            return Err(Error::invalid(format!(
                "{email} belongs to users of several organizations: {}; choose one with --org",
                orgs.join(", ")
            )));
        }
        Ok(found.into_iter().next())
    }

    /// The admin an offline recovery acts for: the active admin with `email` (in `org`, or
    /// the only organization holding one), or the first active admin of `org` or of the
    /// installation's first organization.
    async fn recovery_admin(&self, email: Option<&str>, org: Option<Uuid>) -> Result<(User, Org)> {
        let wanted = email.map(|e| e.trim().to_lowercase());
        let mut found = Vec::new();
        for org in self.candidate_orgs(org).await? {
            let admins = self.store.list_admins(org.id).await.map_err(unexpected)?;
            match &wanted {
                Some(e) => {
                    if let Some(admin) = admins.into_iter().find(|u| &u.email == e) {
                        found.push((admin, org));
                    }
                }
                None => {
                    if let Some(admin) = admins.into_iter().next() {
                        return Ok((admin, org));
                    }
                }
            }
        }
        if let Some(hit) = Self::only_match(found, email.unwrap_or_default())? {
            return Ok(hit);
        }
        Err(match email {
            Some(e) => Error::invalid(format!("no active admin user with email {e}")),
            None => Error::invalid("the installation has no active admin user"),
        })
    }

    /// Offline: a new application key owned by the enabled user with `email` (any role),
    /// or by the first admin of `org` or of the first organization.
    pub async fn mint_application_key(
        &self,
        email: Option<&str>,
        org: Option<Uuid>,
        key_name: &str,
    ) -> Result<(User, Org, Secret)> {
        let (owner, org) = match email {
            None => self.recovery_admin(None, org).await?,
            Some(e) => self.enabled_user(e, org).await?,
        };
        let (key, secret) = self
            .insert_application_key(
                owner.org_id,
                owner.id,
                KeyName::parse(key_name)?,
                None,
                Default::default(),
            )
            .await?;
        self.audit_cli(owner.org_id, Action::ApplicationKeyCreated, Some(key.id))
            .await;
        Ok((owner, org, secret))
    }

    async fn enabled_user(&self, email: &str, org: Option<Uuid>) -> Result<(User, Org)> {
        let wanted = email.trim().to_lowercase();
        let mut found = Vec::new();
        for org in self.candidate_orgs(org).await? {
            match self.store.find_user_by_email(org.id, &wanted).await {
                Ok(user) if !user.disabled() => found.push((user, org)),
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(unexpected(e)),
            }
        }
        Self::only_match(found, email)?
            .ok_or_else(|| Error::invalid(format!("no enabled user with email {email}")))
    }

    /// Offline recovery: a new API key in an admin's organization, within the key limit.
    pub async fn mint_api_key(
        &self,
        email: Option<&str>,
        org: Option<Uuid>,
        key_name: &str,
    ) -> Result<(User, Org, Secret)> {
        let (admin, org) = self.recovery_admin(email, org).await?;
        let new = NewApiKey {
            name: KeyName::parse(key_name)?,
            category: None,
            remote_config_read_enabled: None,
            expiry: Default::default(),
        };
        let (key, secret) = self.insert_api_key(admin.org_id, admin.id, new).await?;
        self.audit_cli(admin.org_id, Action::ApiKeyCreated, Some(key.id))
            .await;
        Ok((admin, org, secret))
    }
}
