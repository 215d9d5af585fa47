//! Console sign-in. A session is one more way to be a `Principal`: the console calls the same
//! use cases as the API clients, so no rule of key management is written twice.

use super::users::{hash_password, parse_email};
use super::{unexpected, Services};
use crate::domain::audit::Action;
use crate::domain::principal::Principal;
use crate::domain::secret::{KeyDigest, Secret};
use crate::domain::session::{self, Session, SessionPolicy};
use crate::domain::time;
use crate::domain::user::{User, UserChange};
use crate::error::{Error, Result};
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use uuid::Uuid;

pub const MIN_PASSWORD_CHARS: usize = 12;
const WRONG_CREDENTIALS: &str = "Wrong email or password";
const EXPIRED: &str = "Your session has expired; sign in again";
/// Failures allowed at full speed before answers slow down.
const FREE_FAILURES: u32 = 3;
const MAX_DELAY: Duration = Duration::from_secs(8);
/// A source or account is forgiven this long after its last failure.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
const MAX_TRACKED: usize = 100_000;

/// Failed sign-ins per account and per source address, in memory. Each answer after the
/// first few failures waits longer (doubling up to `MAX_DELAY`), so guessing passwords is
/// slow while a user who mistypes once notices nothing.
#[derive(Default)]
pub struct SignInThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl SignInThrottle {
    fn keys(email: &str, source: Option<IpAddr>) -> Vec<String> {
        let mut keys = vec![format!("email:{email}")];
        if let Some(ip) = source {
            keys.push(format!("ip:{ip}"));
        }
        keys
    }

    /// How long to hold the next answer for these keys.
    fn delay(&self, keys: &[String]) -> Duration {
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let worst = keys
            .iter()
            .filter_map(|k| failures.get(k))
            .filter(|(_, at)| at.elapsed() < FORGET_AFTER)
            .map(|(n, _)| *n)
            .max()
            .unwrap_or(0);
        if worst < FREE_FAILURES {
            return Duration::ZERO;
        }
        let doublings = (worst - FREE_FAILURES).min(5);
        (Duration::from_millis(250) * 2u32.pow(doublings)).min(MAX_DELAY)
    }

    fn failed(&self, keys: &[String]) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() >= MAX_TRACKED {
            failures.retain(|_, (_, at)| at.elapsed() < FORGET_AFTER);
        }
        for key in keys {
            let entry = failures.entry(key.clone()).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= FORGET_AFTER {
                entry.0 = 0;
            }
            entry.0 = entry.0.saturating_add(1);
            entry.1 = Instant::now();
        }
    }

    fn succeeded(&self, email: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        failures.remove(&format!("email:{email}"));
    }
}

/// A session just opened: the cookie's token (shown once, to the browser) and its record.
pub struct SignedIn {
    pub token: Secret,
    pub session: Session,
    pub user: User,
}

/// Checks `password` against a PHC string off the async threads (argon2id is slow on purpose).
async fn verify(password: &str, phc: Option<String>) -> bool {
    // Without a hash, verify against a throwaway one, so an unknown email costs as much time
    // as a wrong password and answers cannot tell which accounts exist.
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let phc = match phc {
            Some(phc) => phc,
            None => match hash_password("keyplane-no-such-user") {
                Ok(phc) => phc,
                Err(_) => return false,
            },
        };
        PasswordHash::new(&phc).is_ok_and(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
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
    ) -> Result<SignedIn> {
        let email = email.trim().to_lowercase();
        let keys = SignInThrottle::keys(&email, source);
        let delay = self.throttle.delay(&keys);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let candidates = match parse_email(&email) {
            Ok(email) => self
                .store
                .users_by_email(&email)
                .await
                .map_err(unexpected)?,
            Err(_) => Vec::new(),
        };
        let mut signed_in = None;
        let usable = candidates
            .into_iter()
            .filter(|u| !u.disabled() && !u.service_account && u.password_hash.is_some());
        let mut checked_any = false;
        for user in usable {
            checked_any = true;
            if verify(password, user.password_hash.clone()).await {
                signed_in = Some(user);
                break;
            }
        }
        if !checked_any {
            verify(password, None).await;
        }
        let Some(user) = signed_in else {
            self.throttle.failed(&keys);
            self.metrics.auth_failures.session.inc();
            return Err(Error::Unauthorized(WRONG_CREDENTIALS.to_owned()));
        };
        self.throttle.succeeded(&email);
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
        let user = self
            .index
            .user(session.user_id)
            .filter(|u| u.org_id == session.org_id)
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
            app_key_id: None,
            session_id: Some(crate::domain::audit::session_ref(&session.digest)),
            scopes: None,
            source: None,
        };
        Ok((principal, session))
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
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(Error::invalid(format!(
                "the password must be at least {MIN_PASSWORD_CHARS} characters"
            )));
        }
        let email = parse_email(email)?;
        let mut users = self
            .store
            .users_by_email(&email)
            .await
            .map_err(unexpected)?;
        if let Some(org_id) = org_id {
            users.retain(|u| u.org_id == org_id);
        }
        let user = match users.as_slice() {
            [] => return Err(Error::invalid(format!("no user with email {email}"))),
            [user] => user,
            _ => {
                return Err(Error::invalid(format!(
                    "{email} is a user of several organizations; choose one with --org"
                )))
            }
        };
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
