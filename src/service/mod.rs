//! The use cases. Every surface (v2, v1, the console, the `keyplane admin` CLI) calls these,
//! so each rule of key management is written once, here or in `domain`.

pub mod access_tokens;
pub mod api_key_table;
pub mod api_keys;
pub mod app_key_table;
pub mod application_keys;
pub mod audit;
pub mod bootstrap;
pub mod client_token_table;
pub mod client_tokens;
pub mod credential_index;
pub mod current_user;
pub mod expiry_notices;
pub mod haproxy;
pub mod imports;
pub mod intake;
pub mod invitations;
pub mod key_rows;
pub mod leak_records;
pub mod leaks;
pub mod limits;
pub mod notifications;
pub mod org_configs;
pub mod orgs;
pub mod roles;
pub mod rotations;
pub mod sessions;
pub mod usage;
pub mod users;
pub mod webhooks;

use crate::crypto::Vault;
use crate::domain::list::{Page, MAX_PAGE_SIZE};
use crate::domain::secret::Secret;
use crate::domain::session::SessionPolicy;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};
use credential_index::CredentialIndex;
use notifications::{FeedState, FeedStatus};
use std::sync::Arc;
use std::time::Duration;
use usage::Usage;
use uuid::Uuid;

/// While change notifications are connected, how often the poller still confirms the index
/// (a silent channel proves nothing on its own: its connection may be half-open).
const CONFIRM_WHILE_NOTIFIED: Duration = Duration::from_secs(1);
/// The longest one background catch-up may take before the poller gives up on it.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest a request waits for the catch-up after its own write (normally milliseconds).
const REFRESH_TIMEOUT: Duration = Duration::from_millis(500);
/// Leak reports a source may send per minute: a scanner batches up to 1,000 candidates in
/// each, and a stranger must not be able to keep the index and the database busy.
const LEAK_REPORTS: limits::RateLimit = limits::RateLimit {
    limit: 30,
    period: Duration::from_secs(60),
};

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_api_keys_per_org: u64,
    /// How long the credential index may go unconfirmed before keys are refused.
    pub max_staleness: Duration,
    pub sessions: SessionPolicy,
    pub rate: limits::RateLimit,
    pub failures: limits::FailureLimit,
    /// The reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: crate::domain::client_addr::TrustedProxies,
    /// How long a rotated key's previous secret may keep working.
    pub rotation_grace: crate::domain::rotation::GracePolicy,
}

/// Everything a use case needs. The router clones it into every request (state, middleware,
/// extractors), so a clone is one reference count: cloning the parts themselves (an AES key
/// schedule and nine `Arc`s, twice or three times per request) was ~15 % of a validation's CPU.
#[derive(Clone)]
pub struct Services(Arc<ServiceParts>);

impl std::ops::Deref for Services {
    type Target = ServiceParts;
    fn deref(&self) -> &ServiceParts {
        &self.0
    }
}

pub struct ServiceParts {
    pub store: Arc<dyn Store>,
    pub vault: Vault,
    pub limits: Limits,
    pub index: Arc<CredentialIndex>,
    pub usage: Arc<Usage>,
    pub metrics: Arc<Metrics>,
    /// Whether this node hears of other nodes' writes as they commit.
    pub notifications: Arc<FeedStatus>,
    pub throttle: Arc<sessions::SignInThrottle>,
    pub rate: Arc<limits::RateLimiter>,
    pub penalty: Arc<limits::FailurePenalty>,
    /// Leak reports per source (`POST /api/v2/credentials/leaked`).
    pub leak_reports: Arc<limits::SourceRateLimiter>,
    pub gate: intake::Gate,
    /// Set by `start_webhooks` (`keyplane serve` with a webhook secret).
    pub webhooks: std::sync::OnceLock<webhooks::Webhooks>,
    /// Expiry notices this node knows are recorded, so the audit trail is asked once each.
    pub expiry_notices: expiry_notices::Announced,
    /// Each organization's leak records, briefly, for the keys' `leak_information`.
    pub leak_records: leak_records::LeakRecords,
}

impl Services {
    /// Wires the use cases to a store, loading every credential into memory.
    pub async fn open(store: Arc<dyn Store>, vault: Vault, limits: Limits) -> Result<Self, Error> {
        let metrics = Arc::new(Metrics::default());
        let index = CredentialIndex::load(&*store, &metrics, limits.max_staleness).await?;
        let rate = Arc::new(limits::RateLimiter::new(limits.rate));
        let penalty = Arc::new(limits::FailurePenalty::new(limits.failures));
        Ok(Self(Arc::new(ServiceParts {
            store,
            vault,
            limits,
            index: Arc::new(index),
            usage: Arc::default(),
            notifications: Arc::default(),
            throttle: Arc::default(),
            rate,
            penalty,
            leak_reports: Arc::new(limits::SourceRateLimiter::new(LEAK_REPORTS)),
            gate: intake::Gate::new(&metrics),
            webhooks: std::sync::OnceLock::new(),
            expiry_notices: Default::default(),
            leak_records: Default::default(),
            metrics,
        })))
    }

    /// Brings this node's index up to the write it just committed, so the change holds on
    /// the very next request. A failure leaves it to the poller (and the staleness bound).
    /// Bounded, so a write that committed as the database went away answers within a
    /// second or two instead of waiting out the pool on each step after it; a cut-short
    /// catch-up keeps what it applied.
    pub(crate) async fn refresh_credentials(&self) {
        let caught_up = tokio::time::timeout(
            REFRESH_TIMEOUT,
            self.index.catch_up(&*self.store, &self.metrics),
        )
        .await;
        match caught_up {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "credential index catch-up failed; the poller retries")
            }
            Err(_) => tracing::warn!("credential index catch-up timed out; the poller retries"),
        }
    }

    /// Follows writes of other processes and flushes usage, until `shutdown` resolves; then
    /// flushes the last usage counts. Writes are followed through the store's change feed
    /// when it has one, and by polling every `poll` otherwise (or while the feed is down).
    pub async fn run_background(
        &self,
        poll: Duration,
        flush: Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let wake = Arc::new(tokio::sync::Notify::new());
        let follower = self.store.change_feed().map(|feed| {
            tokio::spawn(notifications::follow(
                feed,
                self.notifications.clone(),
                wake.clone(),
            ))
        });
        let mut poll_tick = tokio::time::interval(poll);
        let mut flush_tick = tokio::time::interval(flush);
        let mut prune_tick = tokio::time::interval(Duration::from_secs(600));
        let mut stale = false;
        loop {
            tokio::select! {
                _ = wake.notified() => stale = self.follow_changes("notified", stale).await,
                _ = poll_tick.tick() => {
                    let notified = self.notifications.connected();
                    if !notified || self.index.lag() >= CONFIRM_WHILE_NOTIFIED {
                        stale = self.follow_changes("poll", stale).await;
                    }
                }
                _ = flush_tick.tick() => {
                    self.flush_usage().await;
                    self.announce_expiries().await;
                }
                _ = prune_tick.tick() => {
                    let hour_ago = crate::domain::time::now() - 3_600_000_000;
                    if let Err(err) = self.store.prune_changes(hour_ago).await {
                        tracing::warn!(error = %err, "pruning the change log failed");
                    }
                    self.prune_sessions().await;
                    // Previous secrets past their grace are refused already; their rows
                    // (and their callers) go an hour later.
                    if let Err(err) = self.store.sweep_previous_secrets(hour_ago).await {
                        tracing::warn!(error = %err, "sweeping ended previous secrets failed");
                    }
                }
                _ = shutdown.changed() => break,
            }
        }
        if let Some(follower) = follower {
            follower.abort();
            self.notifications.set(FeedState::Unsupported);
        }
        self.flush_usage().await;
    }

    /// Applies the change log and publishes how current the index is. Logs when the index
    /// goes past the staleness bound (keys are refused from then on) and when it is back;
    /// returns whether it is past the bound now.
    async fn follow_changes(&self, trigger: &'static str, was_stale: bool) -> bool {
        // Bounded, so an unreachable database (whose pool waits 1 s for a connection) cannot
        // hold this loop past the staleness bound unnoticed. A cut-short catch-up keeps what
        // it applied; the next one goes on from there.
        let caught_up = tokio::time::timeout(
            CATCH_UP_TIMEOUT,
            self.index.catch_up(&*self.store, &self.metrics),
        )
        .await
        .map_err(|_| Error::internal("timed out"))
        .and_then(|done| done);
        if let Err(err) = caught_up {
            tracing::warn!(
                error = %err,
                trigger,
                lag_seconds = self.index.lag().as_secs_f64(),
                notifications = self.notifications.get().as_str(),
                "credential index catch-up failed"
            );
        }
        let lag = self.index.lag();
        self.metrics.index_lag_seconds.set(lag.as_secs_f64());
        self.metrics
            .notifications_connected
            .set(i64::from(self.notifications.connected()));
        let stale = lag > self.limits.max_staleness;
        if stale && !was_stale {
            tracing::error!(
                lag_seconds = lag.as_secs_f64(),
                backend = self.store.backend(),
                "credential index cannot be confirmed current: refusing every key until it is"
            );
        } else if was_stale && !stale {
            tracing::info!(
                backend = self.store.backend(),
                notifications = self.notifications.get().as_str(),
                "credential index current again: accepting keys"
            );
        }
        stale
    }

    /// Writes who presented previous secrets, so every node's `…/rotation` shows them.
    pub(crate) async fn flush_previous_callers(&self) {
        let callers = self.usage.take_previous_callers();
        if callers.is_empty() {
            return;
        }
        let written = self.store.record_rotation_callers(&callers);
        if let Err(err) = self.metrics.db("record_rotation_callers", written).await {
            tracing::warn!(error = %err, "recording the callers of previous secrets failed");
        }
    }

    async fn flush_usage(&self) {
        self.flush_previous_callers().await;
        let tokens = self.usage.take_tokens();
        if !tokens.is_empty() {
            let written = self
                .metrics
                .db("record_token_usage", self.store.record_token_usage(&tokens))
                .await;
            if let Err(err) = written {
                tracing::warn!(error = %err, "recording token usage failed");
            }
        }
        let (api, app) = self.usage.take();
        if api.is_empty() && app.is_empty() {
            return;
        }
        let written = self
            .metrics
            .db("record_usage", self.store.record_usage(&api, &app))
            .await;
        if let Err(err) = written {
            tracing::warn!(error = %err, "recording key usage failed");
        }
        self.index.forget_api_keys(api.iter().map(|(id, _)| *id));
    }
}

impl Services {
    /// A key's secret from its ciphertext; failure means a wrong master key or a damaged row.
    pub(crate) fn unseal(&self, id: uuid::Uuid, sealed: &[u8]) -> Result<Secret, Error> {
        self.vault.open(id, sealed).map_err(Error::Internal)
    }
}

/// Store failures that no use case turns into something more specific.
pub(crate) fn unexpected(err: StoreError) -> Error {
    match err {
        StoreError::Unavailable(cause) => {
            // The cause is logged, not shown: it may name hosts and paths.
            tracing::warn!(error = %cause, "database unavailable");
            Error::Unavailable(DATABASE_UNAVAILABLE.to_owned())
        }
        other => Error::internal(other),
    }
}

/// What a request the database was needed for answers while it is gone (503).
pub(crate) const DATABASE_UNAVAILABLE: &str = "The database is unavailable; try again shortly";

/// Every item of a paged list, fetching `MAX_PAGE_SIZE` at a time (v1 lists are unpaged).
/// `records`, fetched by id in no order, in the order of `ids` (the index's order); a
/// record deleted since the index was read is missing from the page, so be it.
pub(crate) fn in_order_of<T>(ids: &[Uuid], mut records: Vec<T>, id_of: fn(&T) -> Uuid) -> Vec<T> {
    records.sort_by_key(|r| ids.iter().position(|id| *id == id_of(r)));
    records
}

pub(crate) async fn all_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, Error>
where
    F: FnMut(Page) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, u64), Error>>,
{
    let mut page = Page {
        size: MAX_PAGE_SIZE,
        number: 0,
    };
    let mut all = Vec::new();
    loop {
        let (items, total) = fetch(page).await?;
        let fetched = items.len();
        all.extend(items);
        if fetched == 0 || all.len() as u64 >= total {
            return Ok(all);
        }
        page.number += 1;
    }
}
