//! Console sign-in. A session is one more way to be a `Principal`: the console calls the same
//! use cases as the API clients, so no rule of key management is written twice.

use super::credential_index::CredentialIndex;
use super::users::{hash_password, parse_email};
use super::{unexpected, Services};
use crate::domain::audit::Action;
use crate::domain::principal::Principal;
use crate::domain::secret::{KeyDigest, Secret};
use crate::domain::session::{self, Session, SessionPolicy};
use crate::domain::time;
use crate::domain::user::{User, UserChange};
use crate::error::{Error, Result};
use std::net::IpAddr;
use std::time::Duration;
use uuid::Uuid;

mod password;
mod throttle;

use password::check;
use throttle::Outcome;
pub use throttle::{Locked, SignInThrottle};

pub const MIN_PASSWORD_CHARS: usize = 12;
const WRONG_CREDENTIALS: &str = "Wrong email or password";
const EXPIRED: &str = "Your session has expired; sign in again";
const BUSY: &str = "Too many sign-ins at once; try again in a moment";

/// Why a sign-in did not open a session.
#[derive(Debug)]
pub enum SignInError {
    /// Too many recent attempts for the account or from the source (429 with Retry-After).
    Locked(Locked),
    Other(Error),
}

impl From<Error> for SignInError {
    fn from(err: Error) -> Self {
        SignInError::Other(err)
    }
}

/// A session just opened: the cookie's token (shown once, to the browser) and its record.
pub struct SignedIn {
    pub token: Secret,
    pub session: Session,
    pub user: User,
}

impl SignedIn {
    /// The user acting through this new session, from `source`.
    pub fn principal(&self, index: &CredentialIndex, source: Option<String>) -> Principal {
        Principal {
            org_id: self.user.org_id,
            user_id: self.user.id,
            roles: self.user.roles.clone(),
            permissions: index.permissions_of(self.user.org_id, &self.user.roles),
            app_key_id: None,
            session_id: Some(crate::domain::audit::session_ref(&self.session.digest)),
            scopes: None,
            source,
            token: None,
        }
    }
}

impl Services {
    /// The one user the operator names by email (`keyplane admin`), in `org_id` when given.
    /// An email held in several organizations is refused unless the organization is named.
    pub(crate) async fn operator_target(&self, org_id: Option<Uuid>, email: &str) -> Result<User> {
        let email = parse_email(email)?;
        let mut users = self
            .store
            .users_by_email(&email)
            .await
            .map_err(unexpected)?;
        if let Some(org_id) = org_id {
            users.retain(|u| u.org_id == org_id);
        }
        match users.len() {
            0 => Err(Error::invalid(format!("no user with email {email}"))),
            1 => Ok(users.remove(0)),
            _ => Err(Error::invalid(format!(
                "{email} is a user of several organizations; choose one with --org"
            ))),
        }
    }
}

/// The one rule for console passwords, wherever they are set.
pub(crate) fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid(format!(
            "the password must be at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

impl Services {
    pub fn session_policy(&self) -> SessionPolicy {
        self.limits.sessions
    }

    /// Opens a console session for the enabled user with this email and password.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        source: Option<IpAddr>,
    ) -> Result<SignedIn, SignInError> {
        let wrong = || Error::Unauthorized(WRONG_CREDENTIALS.to_owned());
        // Checked before anything is counted or looked up: no stored email is malformed
        // (or over 255 characters), so refusing these at once tells nothing.
        let Ok(email) = parse_email(email) else {
            self.sign_in_failed(source).await;
            return Err(wrong().into());
        };
        let keys = SignInThrottle::keys(&email, source);
        if let Err(locked) = self.throttle.admit(&keys) {
            self.sign_in_failed(source).await;
            return Err(SignInError::Locked(locked));
        }
        let Some(slot) = self.throttle.slot().await else {
            // Not checked, so not counted either.
            self.throttle.settle(&keys, Outcome::Unchecked);
            return Err(Error::Unavailable(BUSY.to_owned()).into());
        };
        let found = self.store.users_by_email(&email).await;
        let candidates: Vec<User> = found
            .map_err(|err| {
                self.throttle.settle(&keys, Outcome::Unchecked);
                unexpected(err)
            })?
            .into_iter()
            .filter(|u| !u.disabled() && !u.service_account && u.password_hash.is_some())
            .collect();
        let hashes = candidates
            .iter()
            .filter_map(|u| u.password_hash.clone())
            .collect();
        let matched = check(slot, password, hashes).await;
        let Some(user) = matched.and_then(|i| candidates.into_iter().nth(i)) else {
            self.throttle.settle(&keys, Outcome::Failed);
            self.sign_in_failed(source).await;
            return Err(wrong().into());
        };
        self.throttle.settle(&keys, Outcome::Succeeded);
        Ok(self.open_session(user).await?)
    }

    /// A new console session for `user`, who has just proven who they are.
    pub(crate) async fn open_session(&self, user: User) -> Result<SignedIn> {
        let token = session::new_token();
        let now = time::now();
        let session = Session {
            digest: token.digest(),
            user_id: user.id,
            org_id: user.org_id,
            created_at: now,
            last_seen_at: now,
        };
        self.store
            .create_session(&session)
            .await
            .map_err(unexpected)?;
        Ok(SignedIn {
            token,
            session,
            user,
        })
    }

    /// The signed-in user behind a session cookie's token.
    pub async fn session_principal(&self, token: &str) -> Result<(Principal, Session)> {
        let digest = KeyDigest::of(token);
        let expired = || Error::Unauthorized(EXPIRED.to_owned());
        let found = self
            .metrics
            .db("get_session", self.store.get_session(&digest))
            .await
            .map_err(unexpected)?;
        let Some(mut session) = found.filter(|s| s.digest.matches(&digest)) else {
            return Err(expired());
        };
        let policy = self.session_policy();
        let now = time::now();
        if session.expired(&policy, now) {
            self.store
                .delete_session(&digest)
                .await
                .map_err(unexpected)?;
            return Err(expired());
        }
        // The index knows at once when a user is disabled or changes role.
        let (user, permissions) = self
            .index
            .user(session.user_id)
            .filter(|(u, _)| u.org_id == session.org_id)
            .ok_or_else(expired)?;
        if session.needs_touch(&policy, now) {
            self.store
                .touch_session(&digest, now)
                .await
                .map_err(unexpected)?;
            session.last_seen_at = now;
        }
        let principal = Principal {
            org_id: session.org_id,
            user_id: session.user_id,
            roles: user.roles,
            permissions,
            app_key_id: None,
            session_id: Some(crate::domain::audit::session_ref(&session.digest)),
            scopes: None,
            source: None,
            token: None,
        };
        Ok((principal, session))
    }

    /// A failed sign-in counts toward its source's failures, as a refused key does.
    async fn sign_in_failed(&self, source: Option<IpAddr>) {
        self.metrics.auth_failures.session.inc();
        if let Some(ip) = source {
            if self.penalty.failed(ip) {
                self.audit_failure_burst(ip.to_string()).await;
            }
        }
    }

    pub async fn sign_out(&self, token: &str) -> Result<()> {
        self.store
            .delete_session(&KeyDigest::of(token))
            .await
            .map_err(unexpected)
    }

    /// Sets a user's console password (`keyplane admin set-password`), ending its sessions.
    pub async fn set_password(
        &self,
        org_id: Option<Uuid>,
        email: &str,
        password: &str,
    ) -> Result<User> {
        check_password(password)?;
        let user = &self.operator_target(org_id, email).await?;
        let change = UserChange {
            password_hash: Some(hash_password(password)?),
            ..UserChange::default()
        };
        let updated = self
            .store
            .update_user(user.org_id, user.id, &change, time::now())
            .await
            .map_err(unexpected)?;
        self.audit_cli(user.org_id, Action::PasswordSet, Some(user.id))
            .await;
        Ok(updated)
    }

    /// Drops sessions past their idle or absolute expiry.
    pub(crate) async fn prune_sessions(&self) {
        let policy = self.session_policy();
        let now = time::now();
        let micros = |d: Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
        let pruned = self
            .store
            .prune_sessions(now - micros(policy.absolute), now - micros(policy.idle))
            .await;
        if let Err(err) = pruned {
            tracing::warn!(error = %err, "pruning expired sessions failed");
        }
    }
}

impl Services {
    /// The signed-in user and organization, for the console's header and permissions.
    pub async fn whoami(&self, who: &Principal) -> Result<(User, crate::domain::org::Org)> {
        let user = self
            .store
            .get_user(who.org_id, who.user_id)
            .await
            .map_err(|_| Error::Unauthorized(EXPIRED.to_owned()))?;
        let org = self.store.get_org(who.org_id).await.map_err(unexpected)?;
        Ok((user, org))
    }
}
