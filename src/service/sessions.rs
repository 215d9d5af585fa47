//! Console sign-in. A session is one more way to be a `Principal`: the console calls the same
//! use cases as the API clients, so no rule of key management is written twice.

use super::credential_index::CredentialIndex;
use super::limits::{entry, source_bucket, Bounded};
use super::users::{hash_password, parse_email};
use super::{unexpected, Services};
use crate::domain::audit::Action;
use crate::domain::principal::Principal;
use crate::domain::secret::{KeyDigest, Secret};
use crate::domain::session::{self, Session, SessionPolicy};
use crate::domain::time;
use crate::domain::user::{User, UserChange};
use crate::error::{Error, Result};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

pub const MIN_PASSWORD_CHARS: usize = 12;
const WRONG_CREDENTIALS: &str = "Wrong email or password";
const EXPIRED: &str = "Your session has expired; sign in again";
const BUSY: &str = "Too many sign-ins at once; try again in a moment";
/// Attempts an account may make at full speed. A source gets more: many people may share
/// one address (an office, a reverse proxy).
const FREE_PER_ACCOUNT: u32 = 3;
const FREE_PER_SOURCE: u32 = 10;
/// The pause after the first attempt past the free ones, doubling up to `MAX_PAUSE`.
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const MAX_PAUSE: Duration = Duration::from_secs(8);
/// A source or account is forgiven this long after its last attempt.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Accounts and sources tracked at once; past it the least used go (O(1)).
const MAX_TRACKED: usize = 100_000;
/// Password checks run at once, at most (each holds 19 MiB while it runs, and keeps it).
const MAX_SLOTS: usize = 8;
/// Password checks allowed to wait for a free slot, per slot.
const QUEUE_PER_SLOT: usize = 4;

/// What the throttle counts: an account by a digest of its email (a fixed size whatever was
/// sent), a source by its address (IPv6 by its /64).
#[derive(Clone, PartialEq, Eq, Hash)]
enum ThrottleKey {
    Account([u8; 32]),
    Source(IpAddr),
}

#[derive(Clone, Copy)]
struct Attempts {
    count: u32,
    last: Instant,
    /// No attempt is admitted before this instant.
    locked_until: Instant,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Failed,
    Succeeded,
    /// Admitted, then refused before its password was checked (the line was full).
    Unchecked,
}

/// Sign-in attempts are over the limit: refused, with no password check, for this long.
#[derive(Debug, Clone, Copy)]
pub struct Locked(pub Duration);

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

/// Limits console sign-in, in memory. Each admitted attempt counts at once (before its
/// password is checked), so parallel guesses gain nothing; past the free attempts the next
/// one is admitted only after a pause that doubles up to `MAX_PAUSE`, and every attempt in
/// that pause is refused at once, without any argon2 work. A success forgives the account.
///
/// argon2id is slow and large (19 MiB) on purpose, so only a few checks run at once (two
/// per core, at most `MAX_SLOTS`) and a short queue waits for them; past it a sign-in is answered
/// 503 at once instead of piling up memory and threads.
pub struct SignInThrottle {
    attempts: Bounded<ThrottleKey, Attempts>,
    slots: Arc<Semaphore>,
    /// argon2 memory, one buffer per slot at most, kept for the next check.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
    in_line: Arc<AtomicUsize>,
    max_in_line: usize,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let slots = (cores * 2).clamp(2, MAX_SLOTS);
        Self {
            attempts: Bounded::new(MAX_TRACKED),
            slots: Arc::new(Semaphore::new(slots)),
            memory: Arc::default(),
            in_line: Arc::default(),
            max_in_line: slots * (1 + QUEUE_PER_SLOT),
        }
    }
}

/// Holds one place in line for a password check until dropped.
struct InLine(Arc<AtomicUsize>);

impl Drop for InLine {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The right to run one password check, with the argon2 memory it runs in; it moves into
/// the blocking task, so a client that hangs up cannot free it while argon2 still runs.
struct Slot {
    memory: Vec<Block>,
    pool: Arc<Mutex<Vec<Vec<Block>>>>,
    _permit: OwnedSemaphorePermit,
    _in_line: InLine,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let memory = std::mem::take(&mut self.memory);
        self.pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(memory);
    }
}

fn pause(over: u32) -> Duration {
    (FIRST_PAUSE * 2u32.saturating_pow(over.min(5))).min(MAX_PAUSE)
}

impl SignInThrottle {
    fn keys(email: &str, source: Option<IpAddr>) -> Vec<(ThrottleKey, u32)> {
        let mut keys = vec![(
            ThrottleKey::Account(Sha256::digest(email.as_bytes()).into()),
            FREE_PER_ACCOUNT,
        )];
        if let Some(ip) = source {
            keys.push((ThrottleKey::Source(source_bucket(ip)), FREE_PER_SOURCE));
        }
        keys
    }

    /// Counts an attempt for every key, or refuses it (counting nothing) while any key is
    /// in its pause, saying how long that pause still lasts. An attempt past the free ones
    /// holds its keys until it is settled: one check at a time once the limit is reached.
    fn admit(&self, keys: &[(ThrottleKey, u32)]) -> Result<(), Locked> {
        let now = Instant::now();
        let mut table = self.attempts.lock();
        let fresh = || Attempts {
            count: 0,
            last: now,
            locked_until: now,
        };
        let wait = keys
            .iter()
            .filter_map(|(key, _)| table.peek(key))
            .filter(|a| now.duration_since(a.last) < FORGET_AFTER)
            .map(|a| a.locked_until.saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if !wait.is_zero() {
            return Err(Locked(wait));
        }
        for (key, free) in keys {
            let Some(mut seen) = entry(&mut table, key, fresh) else {
                continue;
            };
            if now.duration_since(seen.last) >= FORGET_AFTER {
                *seen = fresh();
            }
            seen.count = seen.count.saturating_add(1);
            seen.last = now;
            if seen.count >= *free {
                seen.locked_until = now + MAX_PAUSE;
            }
        }
        Ok(())
    }

    /// Ends an admitted attempt: the pause starts now, after the check (a slow check must
    /// not use it up). A success forgives the account and gives the source its attempt
    /// back; an attempt never checked gives every count back.
    fn settle(&self, keys: &[(ThrottleKey, u32)], outcome: Outcome) {
        let now = Instant::now();
        let mut table = self.attempts.lock();
        for (key, free) in keys {
            if outcome == Outcome::Succeeded && matches!(key, ThrottleKey::Account(_)) {
                table.remove(key);
                continue;
            }
            let Some(mut seen) = table.get_mut(key) else {
                continue;
            };
            if outcome != Outcome::Failed {
                seen.count = seen.count.saturating_sub(1);
            }
            seen.locked_until = match seen.count.checked_sub(*free) {
                Some(over) => now + pause(over),
                None => now,
            };
        }
    }

    /// A place for one password check, waiting in a short line; `None` when the line is
    /// full.
    async fn slot(&self) -> Option<Slot> {
        if self.in_line.fetch_add(1, Ordering::AcqRel) >= self.max_in_line {
            self.in_line.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let in_line = InLine(self.in_line.clone());
        let permit = self.slots.clone().acquire_owned().await.ok()?;
        let memory = self
            .memory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_default();
        Some(Slot {
            memory,
            pool: self.memory.clone(),
            _permit: permit,
            _in_line: in_line,
        })
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

/// The PHC string an attempt without a password hash (unknown email, a user who never set a
/// password) is checked against, so every attempt does the same argon2id work and answers
/// cannot tell which accounts exist. Its parameters are those `hash_password` uses; no
/// password matches its all-zero output, so it is built, not hashed.
fn dummy_phc() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        format!(
            "$argon2id$v=19$m={},t={},p={}$a2V5cGxhbmUtbm8tc3VjaC11c2Vy${}",
            Params::DEFAULT_M_COST,
            Params::DEFAULT_T_COST,
            Params::DEFAULT_P_COST,
            "A".repeat(43)
        )
    })
}

/// Whether `password` matches `phc`, computed in `memory` (grown to the hash's size once).
/// The crate's own verify allocates its 19 MiB afresh each time, and glibc keeps such
/// blocks per thread arena: RSS grew by that much on many checks, however few ran at once.
fn verify(memory: &mut Vec<Block>, password: &[u8], phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let version = hash
        .version
        .map_or(Ok(Version::default()), Version::try_from);
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(hash.algorithm),
        version,
        Params::try_from(&hash),
    ) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, &mut memory[..blocks])
        .is_ok()
        && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

/// Checks `password` against each candidate's hash (the dummy when there is none) off the
/// async threads, holding `slot` until the work is done; the index of the match.
async fn check(mut slot: Slot, password: &str, hashes: Vec<String>) -> Option<usize> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let memory = &mut slot.memory;
        if hashes.is_empty() {
            verify(memory, password.as_bytes(), dummy_phc());
            return None;
        }
        hashes
            .iter()
            .position(|phc| verify(memory, password.as_bytes(), phc))
    })
    .await
    .ok()
    .flatten()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_in_reused_memory_agrees_with_the_hasher() {
        let phc = hash_password("correct horse battery").expect("hash");
        let mut memory = Vec::new();
        assert!(verify(&mut memory, b"correct horse battery", &phc));
        assert!(!verify(&mut memory, b"correct horse batterz", &phc));
        assert!(verify(&mut memory, b"correct horse battery", &phc));
        // The dummy is well-formed (so it costs a full check) and matches nothing.
        assert!(PasswordHash::new(dummy_phc()).is_ok());
        assert!(!verify(&mut memory, b"", dummy_phc()));
        assert_eq!(memory.len(), Params::DEFAULT_M_COST as usize);
    }

    #[test]
    fn past_the_free_attempts_one_check_at_a_time_then_a_growing_pause() {
        let throttle = SignInThrottle::default();
        let keys = SignInThrottle::keys("a@example.com", Some([10, 0, 0, 1].into()));
        for _ in 1..FREE_PER_ACCOUNT {
            assert!(throttle.admit(&keys).is_ok());
        }
        // The third is admitted and holds the account while it is checked.
        assert!(throttle.admit(&keys).is_ok());
        assert!(throttle.admit(&keys).is_err());
        throttle.settle(&keys, Outcome::Failed);
        let Err(Locked(wait)) = throttle.admit(&keys) else {
            panic!("not paused");
        };
        assert!(wait <= FIRST_PAUSE && wait > FIRST_PAUSE / 2, "{wait:?}");
        // Another account from the same source is not paused.
        let other = SignInThrottle::keys("b@example.com", Some([10, 0, 0, 1].into()));
        assert!(throttle.admit(&other).is_ok());
        throttle.settle(&other, Outcome::Succeeded);
    }
}
