//! The intake gate: whether a request a proxy is about to pass to a Datadog-compatible
//! backend carries a live credential of the right kind, and whose it is. Answered from the
//! in-memory credential index, like `/api/v1/validate`; the organization's tenant number is
//! read from the store once per organization and node.

use super::{unexpected, Services};
use crate::domain::audit::{Action, AuditEvent};
use crate::domain::credential::OrgKeyEntry;
use crate::domain::intake::{IntakeRequest, Shape};
use crate::domain::secret::KeyDigest;
use crate::domain::time;
use crate::error::{Error, Result};
use crate::metrics::IntakeLabels;
use prometheus_client::metrics::counter::Counter;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// What the gate allows a request as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeKind {
    ApiKey,
    ClientToken,
}

impl IntakeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IntakeKind::ApiKey => "api_key",
            IntakeKind::ClientToken => "client_token",
        }
    }
}

/// An allowed request: the credential and its organization, as the proxy passes them on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeGrant {
    pub org_id: Uuid,
    /// The organization's number (VictoriaMetrics cluster's account id).
    pub org_num: u32,
    pub key_id: Uuid,
    pub kind: IntakeKind,
}

/// One organization as the gate knows it: its number and its counters, resolved once so an
/// allowed request costs one map read and one atomic add.
struct Tenant {
    num: u32,
    allowed: [Counter; 2],
    refused: [Counter; 2],
}

/// An exposed key is recorded at most this often per node: a key published in a web page is
/// refused on every page view, and the audit trail needs to hear of it, not of every view.
const EXPOSURE_RECORDED_EVERY: Duration = Duration::from_secs(3600);
const EXPOSURES_REMEMBERED: usize = 10_000;

/// The gate's memory on this node.
pub struct Gate {
    tenants: RwLock<HashMap<Uuid, Arc<Tenant>>>,
    /// Refusals whose credential names no organization, by shape.
    unknown: HashMap<&'static str, Counter>,
    exposures: quick_cache::sync::Cache<Uuid, Instant>,
}

const SHAPES: [Shape; 4] = [
    Shape::ApiKey,
    Shape::ClientToken,
    Shape::ApplicationKey,
    Shape::Other,
];

impl Gate {
    pub fn new(metrics: &crate::metrics::Metrics) -> Self {
        let unknown = SHAPES
            .iter()
            .map(|s| s.as_str())
            .chain(["none"])
            .map(|kind| {
                let labels = IntakeLabels {
                    org: "none".to_owned(),
                    kind,
                    outcome: "refused",
                };
                (kind, metrics.intake.get_or_create(&labels).clone())
            })
            .collect();
        Self {
            tenants: RwLock::default(),
            unknown,
            exposures: quick_cache::sync::Cache::new(EXPOSURES_REMEMBERED),
        }
    }

    fn refused_unknown(&self, kind: &'static str) -> Error {
        if let Some(counter) = self.unknown.get(kind) {
            counter.inc();
        }
        Error::Forbidden
    }

    /// Whether this node should record `key` as exposed now (at most once an hour).
    fn first_exposure(&self, key: Uuid) -> bool {
        let recent = self
            .exposures
            .get(&key)
            .is_some_and(|at| at.elapsed() < EXPOSURE_RECORDED_EVERY);
        if !recent {
            self.exposures.insert(key, Instant::now());
        }
        !recent
    }
}

impl Services {
    /// Decides a gate request. `source` is the client's address, for the audit trail.
    /// `Forbidden` for anything but a live credential of the right kind; `Unavailable` when
    /// this node cannot vouch for its credentials (the proxy answers 5xx, agents retry).
    pub async fn authorize_intake(
        &self,
        request: &IntakeRequest,
        source: Option<IpAddr>,
    ) -> Result<IntakeGrant> {
        let Some(credential) = request.credential.as_deref() else {
            return Err(self.gate.refused_unknown("none"));
        };
        let shape = Shape::of(credential);
        let digest = KeyDigest::of(credential);
        let (entry, kind) = match shape {
            Shape::ApiKey => match self.index.api_key(&digest, &self.metrics) {
                Ok(entry) => (entry, IntakeKind::ApiKey),
                Err(Error::Forbidden) => {
                    self.metrics.auth_failures.api_key.inc();
                    return Err(self.gate.refused_unknown(shape.as_str()));
                }
                Err(other) => return Err(other),
            },
            Shape::ClientToken => match self.validate_client_token(credential) {
                Ok(entry) => (entry, IntakeKind::ClientToken),
                Err(Error::Forbidden) => return Err(self.gate.refused_unknown(shape.as_str())),
                Err(other) => return Err(other),
            },
            Shape::ApplicationKey | Shape::Other => {
                return Err(self.gate.refused_unknown(shape.as_str()))
            }
        };
        let tenant = self.tenant(entry.org_id).await?;
        let slot = kind as usize;
        let allowed = match kind {
            // The FAQ: API keys must never be used from a browser. One that arrives from a
            // page is refused, and recorded, so its owner rotates it.
            IntakeKind::ApiKey if request.from_browser => {
                self.api_key_exposed(&entry, source).await;
                false
            }
            IntakeKind::ApiKey => true,
            // Client tokens identify browsers and phones to their intake, and nothing else.
            IntakeKind::ClientToken => request.browser_intake,
        };
        if !allowed {
            tenant.refused[slot].inc();
            return Err(Error::Forbidden);
        }
        tenant.allowed[slot].inc();
        if kind == IntakeKind::ApiKey {
            self.usage.api_key_used(entry.id);
        }
        Ok(IntakeGrant {
            org_id: entry.org_id,
            org_num: tenant.num,
            key_id: entry.id,
            kind,
        })
    }

    async fn api_key_exposed(&self, key: &OrgKeyEntry, source: Option<IpAddr>) {
        if !self.gate.first_exposure(key.id) {
            return;
        }
        tracing::warn!(
            api_key_id = %key.id,
            org_id = %key.org_id,
            "API key used from a browser: refused; rotate it"
        );
        self.record(AuditEvent {
            at: time::now(),
            org_id: Some(key.org_id),
            actor_id: None,
            action: Action::ApiKeyExposed,
            target_id: Some(key.id),
            source: source.map(|ip| ip.to_string()),
            // The key did not act: it was refused, and it is the record's target.
            via: None,
            credential_id: None,
        })
        .await;
    }

    async fn tenant(&self, org_id: Uuid) -> Result<Arc<Tenant>> {
        let known = self
            .gate
            .tenants
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&org_id)
            .cloned();
        if let Some(tenant) = known {
            return Ok(tenant);
        }
        let org = self.store.get_org(org_id).await.map_err(unexpected)?;
        let num = org
            .num
            .ok_or_else(|| Error::internal(format!("organization {org_id} has no number")))?;
        let counter = |kind: IntakeKind, outcome| {
            let labels = IntakeLabels {
                org: org_id.to_string(),
                kind: kind.as_str(),
                outcome,
            };
            self.metrics.intake.get_or_create(&labels).clone()
        };
        let kinds = [IntakeKind::ApiKey, IntakeKind::ClientToken];
        let tenant = Arc::new(Tenant {
            num,
            allowed: kinds.map(|k| counter(k, "allowed")),
            refused: kinds.map(|k| counter(k, "refused")),
        });
        self.gate
            .tenants
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(org_id, tenant.clone());
        Ok(tenant)
    }
}
