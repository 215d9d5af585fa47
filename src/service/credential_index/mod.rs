//! Every credential in memory, so authentication never waits on the database: a presented
//! key is found by digest or refused at once (a flood of random keys costs no query and
//! evicts nothing). The index follows the change log: at once after this node's writes, and
//! within a poll interval after writes of other processes. A node that cannot confirm its
//! view within `max_staleness` refuses keys rather than risk accepting a revoked one.

mod changes;
mod expiry;
mod previous;

use super::api_key_table::ApiKeyTable;
use super::app_key_table::AppKeyTable;
use super::client_token_table::ClientTokenTable;
use crate::domain::api_key::{ApiKey, ApiKeyQuery};
use crate::domain::application_key::{ApplicationKey, ApplicationKeyQuery};
use crate::domain::client_token::{ClientToken, ClientTokenQuery};
use crate::domain::credential::{
    AccessTokenEntry, ApiKeyEntry, AppKeyEntry, ChangeKind, ClientTokenEntry, RoleEntry, UserEntry,
};
use crate::domain::expiry::expired;
use crate::domain::leak::{FoundCredential, LeakKind};
use crate::domain::permission::PermissionSet;
use crate::domain::principal::{Principal, TokenGrant};
use crate::domain::role;
use crate::domain::rotation::{PreviousSecret, RotatedKind};
use crate::domain::secret::{DigestMap, KeyDigest};
use crate::domain::time;
use crate::error::{Error, Result};
use crate::metrics::{KindLabels, Metrics};
use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};
use uuid::Uuid;

const BATCH: u32 = 1000;
const RECORDS: usize = 10_000;
const RECORD_TTL: Duration = Duration::from_secs(10);
const LOAD_PAGE: u32 = 2_000;
/// API key changes a subscriber may fall behind by before it must resync from the index.
const CHANGE_FEED: usize = 4_096;

/// An API key entering or leaving the index, as the change log is applied (this node's
/// writes and every other node's), for subscribers that mirror the keys elsewhere (the
/// HAProxy map). A subscriber that lags receives `Lagged` and must resync from
/// `api_key_digests`.
#[derive(Debug, Clone, Copy)]
pub enum ApiKeyChange {
    Added { digest: KeyDigest, org_id: Uuid },
    Removed { digest: KeyDigest },
}

#[derive(Default)]
struct State {
    seq: i64,
    api_keys: ApiKeyTable,
    app_keys: DigestMap<AppKeyEntry>,
    /// Application keys as lists see them (by id; `app_keys` is what authentication reads).
    app_key_lists: AppKeyTable,
    client_tokens: DigestMap<ClientTokenEntry>,
    /// Client tokens as lists see them (by id; `client_tokens` is what validation reads).
    client_token_lists: ClientTokenTable,
    access_tokens: DigestMap<AccessTokenEntry>,
    users: HashMap<Uuid, UserEntry>,
    /// Custom roles; managed roles are fixed in the code.
    roles: HashMap<Uuid, RoleEntry>,
    /// Secrets of rotated keys still in their grace period, by digest: each leads to its
    /// key's current secret. Few (only keys rotated lately), so scanned when a key changes.
    previous: DigestMap<PreviousSecret>,
}

impl State {
    /// The current digest a still-valid previous secret of `kind` leads to.
    fn successor(&self, digest: &KeyDigest, kind: RotatedKind) -> Option<KeyDigest> {
        let previous = self.previous.get(digest).filter(|p| p.kind == kind)?;
        previous
            .valid_at(time::now())
            .then_some(previous.current_digest)
    }

    fn api_key(&self, digest: &KeyDigest) -> Option<ApiKeyEntry> {
        self.api_keys.get(digest).or_else(|| {
            self.api_keys
                .get(&self.successor(digest, RotatedKind::ApiKey)?)
        })
    }

    fn app_key(&self, digest: &KeyDigest) -> Option<&AppKeyEntry> {
        self.app_keys.get(digest).or_else(|| {
            self.app_keys
                .get(&self.successor(digest, RotatedKind::ApplicationKey)?)
        })
    }

    fn client_token(&self, digest: &KeyDigest) -> Option<&ClientTokenEntry> {
        self.client_tokens.get(digest).or_else(|| {
            self.client_tokens
                .get(&self.successor(digest, RotatedKind::ClientToken)?)
        })
    }

    /// What `roles` grant in `org_id`: a custom role of another organization grants nothing.
    fn permissions(&self, org_id: Uuid, roles: &[Uuid]) -> PermissionSet {
        role::permissions_of(roles, |id| {
            self.roles
                .get(&id)
                .filter(|r| r.org_id == org_id)
                .map(|r| &r.permissions)
        })
    }
}

pub struct CredentialIndex {
    state: RwLock<State>,
    /// Recently read API key records (for GET), dropped by the change log like the rest;
    /// an entry older than `RECORD_TTL` is a miss, as other nodes' usage writes are not logged.
    records: quick_cache::sync::Cache<Uuid, (ApiKey, Instant)>,
    /// One catch-up at a time, so the log is applied in order.
    catching_up: tokio::sync::Mutex<()>,
    /// When the index was last confirmed to reflect the whole log (micros).
    confirmed_at: AtomicI64,
    max_staleness: Duration,
    api_key_changes: tokio::sync::broadcast::Sender<ApiKeyChange>,
    /// How many previous secrets the index holds.
    overlaps: AtomicUsize,
}

/// Extends `map` page by page, each page starting after the last id of the one before.
/// Pages are small: each is garbage once applied, and the allocator keeps what the largest
/// page needed (20,000-row pages left ~120 MB resident after loading a million keys).
async fn load_pages<T, M, F, Fut>(map: &mut M, page: F, id_of: fn(&T) -> Uuid) -> Result<()>
where
    M: Extend<T>,
    F: FnMut(Option<Uuid>) -> Fut,
    Fut: std::future::Future<Output = crate::store::StoreResult<Vec<T>>>,
{
    load_each_page(page, id_of, |entries| map.extend(entries)).await
}

/// `load_pages`, handing each page to `apply`: for records that fill two maps.
async fn load_each_page<T, F, Fut>(
    mut page: F,
    id_of: fn(&T) -> Uuid,
    mut apply: impl FnMut(Vec<T>),
) -> Result<()>
where
    F: FnMut(Option<Uuid>) -> Fut,
    Fut: std::future::Future<Output = crate::store::StoreResult<Vec<T>>>,
{
    let mut after = None;
    loop {
        let entries = page(after).await.map_err(Error::internal)?;
        after = entries.last().map(id_of);
        apply(entries);
        if after.is_none() {
            return Ok(());
        }
    }
}

fn found_in(kind: LeakKind, id: Uuid, org_id: Uuid) -> FoundCredential {
    FoundCredential { kind, id, org_id }
}

fn api_kind() -> KindLabels {
    KindLabels { kind: "api_key" }
}

fn app_kind() -> KindLabels {
    KindLabels {
        kind: "application_key",
    }
}

impl CredentialIndex {
    /// Reads every credential, a page at a time (bounded memory while loading), then
    /// replays the change log from where the reading began.
    pub async fn load(
        store: &dyn Store,
        metrics: &Metrics,
        max_staleness: Duration,
    ) -> Result<Self> {
        let seq = store.change_seq().await.map_err(Error::internal)?;
        let mut state = State {
            seq,
            ..State::default()
        };
        let started = Instant::now();
        let api_keys = &mut state.api_keys;
        store
            .each_api_key(&mut |key| api_keys.upsert(&key))
            .await
            .map_err(Error::internal)?;
        load_each_page(
            |after| store.application_keys_after(after, LOAD_PAGE),
            |k| k.id,
            |keys: Vec<ApplicationKey>| {
                for key in keys {
                    state.app_keys.insert(key.digest, AppKeyEntry::from(&key));
                    state.app_key_lists.upsert(&key);
                }
            },
        )
        .await?;
        load_each_page(
            |after| store.client_tokens_after(after, LOAD_PAGE),
            |t| t.id,
            |tokens: Vec<ClientToken>| {
                for token in tokens {
                    let entry = ClientTokenEntry::from(&token);
                    state.client_tokens.insert(token.digest, entry);
                    state.client_token_lists.upsert(&token);
                }
            },
        )
        .await?;
        load_pages(
            &mut state.access_tokens,
            |after| store.access_token_entries(after, LOAD_PAGE),
            |e| e.1.id,
        )
        .await?;
        load_pages(
            &mut state.users,
            |after| store.user_entries(after, LOAD_PAGE),
            |e| e.0,
        )
        .await?;
        load_pages(
            &mut state.roles,
            |after| store.role_entries(after, LOAD_PAGE),
            |e| e.0,
        )
        .await?;
        let live = store
            .live_previous_secrets(time::now())
            .await
            .map_err(Error::internal)?;
        state
            .previous
            .extend(live.into_iter().map(|p| (p.digest, p)));
        state.api_keys.shrink_to_fit();
        state.app_key_lists.shrink_to_fit();
        state.client_token_lists.shrink_to_fit();
        // Loading and the shrinks above freed memory; give the allocator's free pages back
        // rather than keep them resident for ever.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only returns free memory of the allocator to the system.
        unsafe {
            libc::malloc_trim(0);
        }
        tracing::info!(
            api_keys = state.api_keys.len(),
            application_keys = state.app_keys.len(),
            client_tokens = state.client_tokens.len(),
            access_tokens = state.access_tokens.len(),
            users = state.users.len(),
            seconds = started.elapsed().as_secs_f64(),
            "credentials loaded into memory"
        );
        let index = Self {
            state: RwLock::new(state),
            records: quick_cache::sync::Cache::new(RECORDS),
            catching_up: tokio::sync::Mutex::new(()),
            confirmed_at: AtomicI64::new(time::now()),
            max_staleness,
            api_key_changes: tokio::sync::broadcast::Sender::new(CHANGE_FEED),
            overlaps: AtomicUsize::new(0),
        };
        index.count_overlaps(&index.read());
        index.catch_up(store, metrics).await?;
        index.publish_sizes(metrics);
        Ok(index)
    }

    /// How long since the index was last confirmed current.
    pub fn lag(&self) -> Duration {
        let micros = time::now() - self.confirmed_at.load(Ordering::Relaxed);
        Duration::from_micros(u64::try_from(micros).unwrap_or(0))
    }

    fn ensure_fresh(&self) -> Result<()> {
        if self.lag() > self.max_staleness {
            return Err(Error::Unavailable(
                "Credentials cannot be confirmed current; try again shortly".to_owned(),
            ));
        }
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated (each update
        // is a single insert or remove), so a poisoned lock is still consistent.
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The API key behind `digest`, unless it has expired: the clock is read at each call,
    /// so a key stops working at its `expires_at` whether or not the index reloads.
    pub fn api_key(&self, digest: &KeyDigest, metrics: &Metrics) -> Result<ApiKeyEntry> {
        self.ensure_fresh()?;
        let now = time::now();
        let found = self
            .read()
            .api_key(digest)
            .filter(|k| !expired(k.expires_at, now));
        match found {
            Some(entry) => {
                metrics.cache_hits.api_key.inc();
                Ok(entry)
            }
            None => {
                metrics.cache_misses.api_key.inc();
                Err(Error::Forbidden)
            }
        }
    }

    /// The client token behind `digest`. API keys are not client tokens: browser intake
    /// must never accept a key that can also write metrics or manage anything.
    pub fn client_token(&self, digest: &KeyDigest, metrics: &Metrics) -> Result<ClientTokenEntry> {
        self.ensure_fresh()?;
        let now = time::now();
        let found = self
            .read()
            .client_token(digest)
            .filter(|t| !expired(t.expires_at, now))
            .cloned();
        match found {
            Some(entry) => {
                metrics.cache_hits.client_token.inc();
                Ok(entry)
            }
            None => {
                metrics.cache_misses.client_token.inc();
                Err(Error::Forbidden)
            }
        }
    }

    /// The credentials behind `digests`, whatever their kind (a rotated key's previous
    /// secret names the key): a hash lookup per digest per kind, under one read lock, and
    /// nothing asked of the database.
    pub fn find_credentials(&self, digests: &[KeyDigest]) -> Vec<FoundCredential> {
        let state = self.read();
        let mut found = Vec::new();
        for digest in digests {
            // A previous secret still in its grace period leaks its key too.
            if let Some(key) = state.api_key(digest) {
                found.push(found_in(LeakKind::ApiKey, key.id, key.org_id));
            }
            if let Some(key) = state.app_key(digest) {
                found.push(found_in(LeakKind::ApplicationKey, key.id, key.org_id));
            }
            if let Some(token) = state.client_token(digest) {
                found.push(found_in(LeakKind::ClientToken, token.id, token.org_id));
            }
            if let Some(token) = state.access_tokens.get(digest) {
                found.push(found_in(LeakKind::AccessToken, token.id, token.org_id));
            }
        }
        found
    }

    /// Whether `user_id` is a known, enabled user, its roles and what they grant (console
    /// sessions).
    pub fn user(&self, user_id: Uuid) -> Option<(UserEntry, PermissionSet)> {
        let state = self.read();
        let user = state.users.get(&user_id).filter(|u| !u.disabled)?;
        Some((user.clone(), state.permissions(user.org_id, &user.roles)))
    }

    /// What `roles` grant in `org_id`, as every permission check sees it.
    pub fn permissions_of(&self, org_id: Uuid, roles: &[Uuid]) -> PermissionSet {
        self.read().permissions(org_id, roles)
    }

    /// The users of `org_id` holding `role_id`: membership is read from memory, as
    /// permission checks read it.
    pub fn role_holders(&self, org_id: Uuid, role_id: Uuid) -> Vec<Uuid> {
        self.read()
            .users
            .iter()
            .filter(|(_, u)| u.org_id == org_id && u.roles.contains(&role_id))
            .map(|(id, _)| *id)
            .collect()
    }

    /// How many of the organization's users hold each role.
    pub fn role_user_counts(&self, org_id: Uuid) -> HashMap<Uuid, u64> {
        let mut counts = HashMap::new();
        for user in self.read().users.values().filter(|u| u.org_id == org_id) {
            for role in &user.roles {
                *counts.entry(*role).or_default() += 1;
            }
        }
        counts
    }

    /// The caller behind a key pair: the application key's enabled owner, within the API
    /// key's organization.
    pub fn principal(
        &self,
        api: &KeyDigest,
        app: &KeyDigest,
        metrics: &Metrics,
    ) -> Result<(Principal, Uuid)> {
        let org_key = self.api_key(api, metrics)?;
        let state = self.read();
        let now = time::now();
        let found = state.app_key(app).filter(|k| !expired(k.expires_at, now));
        let Some(app_key) = found else {
            metrics.cache_misses.application_key.inc();
            return Err(Error::Forbidden);
        };
        metrics.cache_hits.application_key.inc();
        let owner = state.users.get(&app_key.owner_id);
        match owner {
            Some(owner) if app_key.org_id == org_key.org_id && !owner.disabled => Ok((
                Principal {
                    org_id: app_key.org_id,
                    user_id: app_key.owner_id,
                    roles: owner.roles.clone(),
                    permissions: state.permissions(owner.org_id, &owner.roles),
                    app_key_id: Some(app_key.id),
                    session_id: None,
                    scopes: app_key.scopes.clone(),
                    source: None,
                    token: None,
                },
                org_key.id,
            )),
            _ => Err(Error::Forbidden),
        }
    }

    /// The caller behind a personal or service-account token: its enabled owner, with the
    /// token's scopes as a ceiling. `id` is the id the token names (its alias), which must
    /// be the row its digest finds. Refused from the microsecond `expires_at` is reached.
    pub fn token_principal(
        &self,
        digest: &KeyDigest,
        id: Uuid,
        now: time::Micros,
        metrics: &Metrics,
    ) -> Result<Principal> {
        self.ensure_fresh()?;
        let state = self.read();
        let found = state
            .access_tokens
            .get(digest)
            .filter(|t| t.id == id && !crate::domain::access_token::expired(t.expires_at, now));
        let Some(token) = found else {
            metrics.cache_misses.application_key.inc();
            return Err(Error::Forbidden);
        };
        metrics.cache_hits.application_key.inc();
        match state.users.get(&token.owner_id) {
            Some(owner) if !owner.disabled && owner.org_id == token.org_id => Ok(Principal {
                org_id: token.org_id,
                user_id: token.owner_id,
                roles: owner.roles.clone(),
                permissions: state.permissions(owner.org_id, &owner.roles),
                app_key_id: None,
                session_id: None,
                scopes: Some(token.scopes.clone()),
                source: None,
                token: Some(TokenGrant {
                    id: token.id,
                    expires_at: token.expires_at,
                }),
            }),
            _ => Err(Error::Forbidden),
        }
    }

    /// The ids of one page of the organization's API keys and how many the filter matched
    /// (the records themselves are read from the store).
    pub fn list_api_keys(&self, org_id: Uuid, query: &ApiKeyQuery) -> Result<(Vec<Uuid>, u64)> {
        self.ensure_fresh()?;
        Ok(self.read().api_keys.list(org_id, query))
    }

    /// The ids of one page of the organization's application keys and how many the filter
    /// matched (the records themselves are read from the store).
    pub fn list_application_keys(
        &self,
        org_id: Uuid,
        query: &ApplicationKeyQuery,
    ) -> Result<(Vec<Uuid>, u64)> {
        self.ensure_fresh()?;
        Ok(self.read().app_key_lists.list(org_id, query))
    }

    /// The ids of one page of the organization's client tokens and how many the filter
    /// matched (the records themselves are read from the store).
    pub fn list_client_tokens(
        &self,
        org_id: Uuid,
        query: &ClientTokenQuery,
    ) -> Result<(Vec<Uuid>, u64)> {
        self.ensure_fresh()?;
        Ok(self.read().client_token_lists.list(org_id, query))
    }

    /// A recently read record of API key `id`, if still current.
    pub fn cached_api_key(&self, id: Uuid) -> Option<ApiKey> {
        self.records
            .get(&id)
            .filter(|(_, at)| at.elapsed() < RECORD_TTL)
            .map(|(key, _)| key)
    }

    pub fn remember_api_key(&self, key: &ApiKey) {
        self.records.insert(key.id, (key.clone(), Instant::now()));
    }

    /// Drops cached records whose usage was just written.
    pub fn forget_api_keys(&self, ids: impl IntoIterator<Item = Uuid>) {
        for id in ids {
            self.records.remove(&id);
        }
    }

    /// API key changes from now on. Subscribe before reading `api_key_digests`, so that no
    /// change falls between the two.
    pub fn subscribe_api_keys(&self) -> tokio::sync::broadcast::Receiver<ApiKeyChange> {
        self.api_key_changes.subscribe()
    }

    /// Every API key's digest and organization but the expired ones, with the previous
    /// secrets still in their grace period (a snapshot; one read lock while copying).
    pub fn api_key_digests(&self) -> Vec<(KeyDigest, Uuid)> {
        let state = self.read();
        let now = time::now();
        let previous = state
            .previous
            .values()
            .filter(|p| p.kind == RotatedKind::ApiKey && p.valid_at(now))
            .map(|p| (p.digest, p.org_id));
        state.api_keys.digests(now).chain(previous).collect()
    }
}
