//! `keyplane import`: keys brought from Datadog (or another keyplane) with their values, so
//! agents keep working unchanged. Each write goes through the same store calls, sealing,
//! digests, change log and audit as a key made here; what already holds the value is left
//! alone, so a rerun adds nothing twice.

use super::api_keys::parse_category;
use super::users::parse_email;
use super::{unexpected, Services};
use crate::domain::api_key::{ApiKey, DEFAULT_CATEGORY};
use crate::domain::application_key::{parse_scopes, ApplicationKey};
use crate::domain::audit::Action;
use crate::domain::client_token::ClientToken;
use crate::domain::imported_key::KeyKind;
use crate::domain::name::KeyName;
use crate::domain::org::Org;
use crate::domain::secret::{KeyDigest, Secret};
use crate::domain::time;
use crate::domain::user::{Role, User, UserStatus};
use crate::error::{Error, Result};
use crate::store::StoreError;
use uuid::Uuid;

/// How many other names are tried when the key's name is taken in the organization
/// (Datadog does not require unique names; keyplane does).
const RENAME_ATTEMPTS: u32 = 20;

/// What happened to one imported item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Written (or, in a dry run, would be); the name it got when its own was taken.
    Created { renamed: Option<String> },
    /// The organization already holds this value (or this user).
    AlreadyPresent,
    /// Not written, and why.
    Refused(String),
}

/// A key to import, its value as the source gave it.
#[derive(Debug, Clone)]
pub struct ImportedKey {
    pub kind: KeyKind,
    pub name: String,
    pub value: Secret,
    pub category: Option<String>,
    pub remote_config_read_enabled: Option<bool>,
    pub scopes: Option<Vec<String>>,
    /// The application key's owner; the API key's or token's creator.
    pub owner: Option<Uuid>,
    /// When the key stops working, as the source says (RFC 3339).
    pub expires_at: Option<String>,
}

/// What importing a key comes to before anything is written.
pub enum Planned {
    Done(Outcome),
    /// To be written (unless this is a dry run).
    Write(Box<PlannedKey>),
}

/// A checked key, ready to be written.
pub struct PlannedKey {
    kind: KeyKind,
    name: KeyName,
    value: Secret,
    category: Option<String>,
    remote_config_read_enabled: Option<bool>,
    scopes: Option<Vec<String>>,
    expires_at: Option<crate::domain::time::Micros>,
}

/// A user or service account to import.
#[derive(Debug, Clone)]
pub struct ImportedUser {
    pub email: String,
    pub name: Option<String>,
    pub title: Option<String>,
    pub service_account: bool,
    pub roles: Vec<Role>,
}

impl ImportedKey {
    /// The rules a key made here follows, and the shape of its kind's values. A key that
    /// breaks one is reported and skipped, never written in part.
    fn check(&self) -> Result<PlannedKey> {
        let value = self.value.expose();
        if !self.kind.accepts(value) {
            return Err(Error::invalid(format!(
                "the value is not a valid {}: expected {}",
                self.kind,
                self.kind.expected_shape()
            )));
        }
        if self.kind == KeyKind::ApplicationKey && self.owner.is_none() {
            return Err(Error::invalid("an application key needs its owner"));
        }
        let name = KeyName::parse(&self.name)?;
        let category = match self.kind {
            KeyKind::ApiKey => parse_category(self.category.clone())?,
            _ => None,
        };
        let scopes = match self.kind {
            KeyKind::ApplicationKey => parse_scopes(self.scopes.clone())?,
            _ => None,
        };
        // The expiry comes along as it is: the organization's longest lifetime is for keys
        // made here, and shortening an existing key's would cut off agents unannounced.
        let expires_at = self
            .expires_at
            .as_deref()
            .map(crate::domain::expiry::parse)
            .transpose()?;
        if let Some(at) = expires_at.filter(|at| *at <= time::now()) {
            return Err(Error::invalid(format!(
                "the key expired at {}",
                time::format(at)
            )));
        }
        Ok(PlannedKey {
            expires_at,
            kind: self.kind,
            name,
            value: self.value.clone(),
            category,
            remote_config_read_enabled: self.remote_config_read_enabled,
            scopes,
        })
    }
}

/// `name`, then `name (2)`, `name (3)`… for a name taken by another key.
fn candidate_name(name: &KeyName, attempt: u32) -> Result<KeyName> {
    if attempt == 0 {
        return Ok(name.clone());
    }
    KeyName::parse(&format!("{} ({})", name.as_str(), attempt + 1))
}

impl Services {
    /// The organization keys are imported into: `id` (which must exist), else the one
    /// named `name`, else a new one (in `one_time_read` mode), not stored yet: it is stored
    /// by `create_import_org` once something is to be written in it. Returns it and whether
    /// it is new.
    pub async fn import_target_org(
        &self,
        id: Option<Uuid>,
        name: &str,
        one_time_read: bool,
    ) -> Result<(Org, bool)> {
        if let Some(id) = id {
            return match self.store.get_org(id).await {
                Ok(org) => Ok((org, false)),
                Err(StoreError::NotFound) => Err(Error::invalid(format!("no organization {id}"))),
                Err(e) => Err(unexpected(e)),
            };
        }
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::invalid("organization name must not be blank"));
        }
        let orgs = self.store.list_orgs().await.map_err(unexpected)?;
        let named: Vec<&Org> = orgs.iter().filter(|o| o.name == name).collect();
        match named.as_slice() {
            [org] => return Ok(((*org).clone(), false)),
            [] => {}
            several => {
                let ids: Vec<String> = several.iter().map(|o| o.id.to_string()).collect();
                return Err(Error::invalid(format!(
                    "several organizations are named {name} ({}); choose one with --org-id",
                    ids.join(", ")
                )));
            }
        }
        let org = Org {
            id: Uuid::new_v4(),
            name: name.to_owned(),
            one_time_read,
            created_at: time::now(),
            num: None,
        };
        Ok((org, true))
    }

    /// Stores an organization `import_target_org` made.
    pub async fn create_import_org(&self, org: &Org) -> Result<()> {
        self.store.create_org(org).await.map_err(unexpected)?;
        self.audit_cli(org.id, Action::OrgCreated, Some(org.id))
            .await;
        Ok(())
    }

    /// The user with `user.email` in `org`, created (Pending until they sign in; a service
    /// account Active) when missing. A dry run's new user has an id nothing holds.
    pub async fn import_user(
        &self,
        org: Uuid,
        user: &ImportedUser,
        dry_run: bool,
    ) -> Result<(Uuid, Outcome)> {
        let email = parse_email(&user.email)?;
        match self.store.find_user_by_email(org, &email).await {
            Ok(found) => return Ok((found.id, Outcome::AlreadyPresent)),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(unexpected(e)),
        }
        let now = time::now();
        let id = Uuid::new_v4();
        let roles = if user.roles.is_empty() {
            vec![Role::Standard.id()]
        } else {
            user.roles.iter().map(|r| r.id()).collect()
        };
        let created = User {
            id,
            org_id: org,
            handle: if user.service_account {
                id.to_string()
            } else {
                email.clone()
            },
            email,
            name: user
                .name
                .clone()
                .map(|n| super::users::parse_text("name", n))
                .transpose()?,
            title: user
                .title
                .clone()
                .map(|t| super::users::parse_text("title", t))
                .transpose()?,
            roles,
            status: if user.service_account {
                UserStatus::Active
            } else {
                UserStatus::Pending
            },
            service_account: user.service_account,
            password_hash: None,
            created_at: now,
            modified_at: now,
        };
        if !dry_run {
            self.store
                .create_user(&created)
                .await
                .map_err(|e| self.map_user_error(id, Some(&created.email), e))?;
            self.audit_cli(org, Action::UserCreated, Some(id)).await;
        }
        Ok((id, Outcome::Created { renamed: None }))
    }

    /// Decides what importing `key` into `org` would do, writing nothing: the value
    /// already in `org` is left alone; a value another organization holds is refused (a key
    /// names one organization). `planned` holds the digests this run has written or will
    /// write, so a value given twice counts once, in a dry run too.
    pub async fn plan_key(
        &self,
        org: Uuid,
        key: &ImportedKey,
        planned: &mut std::collections::HashSet<[u8; 32]>,
    ) -> Result<Planned> {
        let checked = match key.check() {
            Ok(checked) => checked,
            Err(err) => return Ok(Planned::Done(Outcome::Refused(err.to_string()))),
        };
        let digest = checked.value.digest();
        if let Some(holder) = self.holder_of(checked.kind, &digest).await? {
            return Ok(Planned::Done(if holder == org {
                Outcome::AlreadyPresent
            } else {
                Outcome::Refused("the value belongs to another organization".to_owned())
            }));
        }
        if !planned.insert(digest.0) {
            return Ok(Planned::Done(Outcome::AlreadyPresent));
        }
        Ok(Planned::Write(Box::new(checked)))
    }

    /// Writes a planned key, owned (application keys) or created (the rest) by `owner`.
    pub async fn write_planned_key(
        &self,
        org: Uuid,
        owner: Option<Uuid>,
        key: &PlannedKey,
    ) -> Result<Outcome> {
        let actor = owner.unwrap_or(Uuid::nil());
        if key.kind == KeyKind::ApplicationKey && owner.is_none() {
            return Ok(Outcome::Refused(
                "an application key needs its owner".to_owned(),
            ));
        }
        for attempt in 0..RENAME_ATTEMPTS {
            let Ok(name) = candidate_name(&key.name, attempt) else {
                break;
            };
            match self.write_key(org, actor, key, &name).await {
                Ok(id) => {
                    self.audit_cli(org, created_action(key.kind), Some(id))
                        .await;
                    let renamed = (attempt > 0).then(|| name.as_str().to_owned());
                    return Ok(Outcome::Created { renamed });
                }
                Err(StoreError::Conflict("name")) => continue,
                Err(StoreError::OwnerDisabled) => {
                    return Ok(Outcome::Refused("the owner is disabled".to_owned()))
                }
                Err(e) => return Err(unexpected(e)),
            }
        }
        Ok(Outcome::Refused(format!(
            "the name {} and its variants are taken",
            key.name.as_str()
        )))
    }

    /// The organization whose key of `kind` has this digest.
    async fn holder_of(&self, kind: KeyKind, digest: &KeyDigest) -> Result<Option<Uuid>> {
        let found = match kind {
            KeyKind::ApiKey => self
                .store
                .find_api_key(digest)
                .await
                .map(|k| k.filter(|k| k.digest.matches(digest)).map(|k| k.org_id)),
            KeyKind::ApplicationKey => self
                .store
                .find_application_key(digest)
                .await
                .map(|k| k.filter(|k| k.digest.matches(digest)).map(|k| k.org_id)),
            KeyKind::ClientToken => self
                .store
                .find_client_token(digest)
                .await
                .map(|k| k.filter(|k| k.digest.matches(digest)).map(|k| k.org_id)),
        };
        found.map_err(unexpected)
    }

    /// Stores the key under `name`; the secret sealed under the new id, as every key is.
    async fn write_key(
        &self,
        org_id: Uuid,
        actor: Uuid,
        key: &PlannedKey,
        name: &KeyName,
    ) -> std::result::Result<Uuid, StoreError> {
        let id = Uuid::new_v4();
        let secret = &key.value;
        let sealed_key = self
            .vault
            .seal(id, secret)
            .map_err(|e| StoreError::Backend(format!("sealing: {e}")))?;
        let now = time::now();
        let name = name.as_str().to_owned();
        match key.kind {
            KeyKind::ApiKey => {
                let row = ApiKey {
                    id,
                    org_id,
                    name,
                    digest: secret.digest(),
                    sealed_key,
                    last4: secret.last4(),
                    category: key
                        .category
                        .clone()
                        .unwrap_or_else(|| DEFAULT_CATEGORY.to_owned()),
                    remote_config_read_enabled: key.remote_config_read_enabled.unwrap_or(true),
                    created_by: actor,
                    modified_by: Some(actor),
                    created_at: now,
                    modified_at: now,
                    date_last_used: None,
                    expires_at: key.expires_at,
                };
                // The organization's key limit is for keys made here; the keys agents
                // already send must all come along.
                self.store.create_api_key(&row, u64::MAX).await?;
            }
            KeyKind::ApplicationKey => {
                let row = ApplicationKey {
                    id,
                    org_id,
                    owner_id: actor,
                    name,
                    digest: secret.digest(),
                    sealed_key,
                    last4: secret.last4(),
                    scopes: key.scopes.clone(),
                    created_at: now,
                    last_used_at: None,
                    expires_at: key.expires_at,
                };
                self.store.create_application_key(&row, u64::MAX).await?;
            }
            KeyKind::ClientToken => {
                let row = ClientToken {
                    id,
                    org_id,
                    name,
                    digest: secret.digest(),
                    sealed_key,
                    last4: secret.last4(),
                    created_by: actor,
                    modified_by: Some(actor),
                    created_at: now,
                    modified_at: now,
                    expires_at: key.expires_at,
                };
                self.store.create_client_token(&row).await?;
            }
        }
        Ok(id)
    }

    /// The first enabled admin of `org`, who stands as the creator of imported API keys and
    /// tokens that name none.
    pub async fn first_admin(&self, org: Uuid) -> Result<Option<Uuid>> {
        let admins = self.store.list_admins(org).await.map_err(unexpected)?;
        Ok(admins.into_iter().find(|u| !u.disabled()).map(|u| u.id))
    }
}

fn created_action(kind: KeyKind) -> Action {
    match kind {
        KeyKind::ApiKey => Action::ApiKeyCreated,
        KeyKind::ApplicationKey => Action::ApplicationKeyCreated,
        KeyKind::ClientToken => Action::ClientTokenCreated,
    }
}
