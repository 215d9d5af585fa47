//! Prometheus metrics, served at `/metrics`. The registry lives in the app state, not in a
//! process-global recorder, so tests and several servers in one process stay apart.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// One of a closed set (`GET` … `OPTIONS`, else `other`): never the caller's own text.
    pub method: &'static str,
    /// A route template of the router (a fixed set).
    pub route: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

/// Intake gate decisions. `org` is an organization id (or `none` when the credential named
/// none), `kind` and `outcome` closed sets: nothing a caller chooses becomes a label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntakeLabels {
    pub org: String,
    pub kind: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpLabels {
    pub op: &'static str,
}

/// Counters of the validation path, resolved once so counting is one atomic add.
pub struct KindCounters {
    pub api_key: Counter,
    pub application_key: Counter,
    pub client_token: Counter,
    pub session: Counter,
}

impl KindCounters {
    fn of(family: &Family<KindLabels, Counter>) -> Self {
        let get = |kind| family.get_or_create(&KindLabels { kind }).clone();
        Self {
            api_key: get("api_key"),
            application_key: get("application_key"),
            client_token: get("client_token"),
            session: get("session"),
        }
    }
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub cache_hits: KindCounters,
    pub cache_misses: KindCounters,
    pub cache_entries: Family<KindLabels, Gauge>,
    pub invalidations: Counter,
    /// Refused credentials: `api_key` (validate) and `application_key` (key pairs).
    pub auth_failures: KindCounters,
    pub index_lag_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub notifications_connected: Gauge,
    pub db_seconds: Family<OpLabels, Histogram>,
    /// Audit records that could not be appended (each is also logged).
    pub audit_failures: Counter,
    pub intake: Family<IntakeLabels, Counter>,
    /// Webhook deliveries by outcome: delivered, retried (an attempt), failed, dropped.
    pub webhooks: Family<OutcomeLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("keyplane");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let cache_hits = Family::<KindLabels, Counter>::default();
        registry.register(
            "credential_cache_hits",
            "Keys found in the in-memory index",
            cache_hits.clone(),
        );
        let cache_misses = Family::<KindLabels, Counter>::default();
        registry.register(
            "credential_cache_misses",
            "Keys not in the in-memory index (refused without a database round trip)",
            cache_misses.clone(),
        );
        let cache_entries = Family::<KindLabels, Gauge>::default();
        registry.register(
            "credential_cache_entries",
            "Entries of the in-memory credential index",
            cache_entries.clone(),
        );
        let invalidations = Counter::default();
        registry.register(
            "credential_invalidations",
            "Change-log entries applied to the index",
            invalidations.clone(),
        );
        let auth_failures = Family::<KindLabels, Counter>::default();
        registry.register(
            "auth_failures",
            "Refused credentials by reason",
            auth_failures.clone(),
        );
        let index_lag_seconds = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "credential_index_lag_seconds",
            "Time since the index was last confirmed current",
            index_lag_seconds.clone(),
        );
        let notifications_connected = Gauge::default();
        registry.register(
            "change_notifications_connected",
            "1 while this node receives change notifications (PostgreSQL), 0 while it polls",
            notifications_connected.clone(),
        );
        let db_seconds = Family::<OpLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0001, 2.0, 16))
        });
        registry.register(
            "db_seconds",
            "Database latency by operation",
            db_seconds.clone(),
        );
        let audit_failures = Counter::default();
        registry.register(
            "audit_append_failures",
            "Audit records that could not be written",
            audit_failures.clone(),
        );
        let intake = Family::<IntakeLabels, Counter>::default();
        registry.register(
            "intake_requests",
            "Intake gate decisions by organization, credential kind and outcome",
            intake.clone(),
        );
        let webhooks = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook deliveries by outcome (retried counts attempts; dropped: the queue was full)",
            webhooks.clone(),
        );
        Self {
            registry,
            requests,
            cache_hits: KindCounters::of(&cache_hits),
            cache_misses: KindCounters::of(&cache_misses),
            cache_entries,
            invalidations,
            auth_failures: KindCounters::of(&auth_failures),
            index_lag_seconds,
            notifications_connected,
            db_seconds,
            audit_failures,
            intake,
            webhooks,
        }
    }
}

impl Metrics {
    pub fn webhook_outcome(&self, outcome: &'static str) -> Counter {
        self.webhooks
            .get_or_create(&OutcomeLabels { outcome })
            .clone()
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    /// Observes how long `fut` takes as database operation `op`.
    pub async fn db<T>(&self, op: &'static str, fut: impl std::future::Future<Output = T>) -> T {
        let started = std::time::Instant::now();
        let out = fut.await;
        self.db_seconds
            .get_or_create(&OpLabels { op })
            .observe(started.elapsed().as_secs_f64());
        out
    }
}
