//! Webhook delivery: key events derived from audit records as they are appended (so no use
//! case can forget one), queued in memory and posted off the request path, signed, retried
//! with exponential back-off. The queue is bounded and in memory: a full queue drops the
//! event, and events not yet delivered are lost when the process stops (both counted or
//! documented; the audit trail keeps every event regardless).

use super::Services;
use crate::domain::audit::AuditEvent;
use crate::domain::org_config::WEBHOOK_URL;
use crate::domain::secret::Secret;
use crate::domain::time::{self, Micros};
use crate::domain::webhook::{
    self, Event, EventData, Happened, Outcome, Subject, DELIVERY_HEADER, EVENT_HEADER,
    SIGNATURE_HEADER,
};
use crate::metrics::Metrics;
use reqwest::Url;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};
use uuid::Uuid;

const QUEUE: usize = 1_000;
/// Deliveries waiting out their back-off at once; beyond it the queue fills, then drops.
const IN_FLIGHT: usize = 64;
const ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const TIMEOUT: Duration = Duration::from_secs(10);
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// `--webhook-url` and the key of `--webhook-secret-file`.
pub struct WebhookConfig {
    pub url: Option<Url>,
    pub secret: Secret,
}

/// The sending end of the queue, set once webhooks are started.
pub struct Webhooks {
    queue: mpsc::Sender<Occurred>,
}

/// An audit record that stands for key events, before its key is looked up.
struct Occurred {
    at: Micros,
    org_id: Uuid,
    key_id: Uuid,
    subject: Subject,
    happened: &'static [Happened],
}

impl Webhooks {
    /// Queues the events `event` stands for; never waits.
    pub(super) fn offer(&self, event: &AuditEvent, metrics: &Metrics) {
        let (Some(subject), happened) = webhook::events_of(event.action) else {
            return;
        };
        let (Some(org_id), Some(key_id)) = (event.org_id, event.target_id) else {
            return;
        };
        let occurred = Occurred {
            at: event.at,
            org_id,
            key_id,
            subject,
            happened,
        };
        if self.queue.try_send(occurred).is_err() {
            metrics.webhook_outcome("dropped").inc();
            tracing::warn!(
                action = event.action.as_str(),
                "webhook queue full: event dropped"
            );
        }
    }
}

impl Services {
    /// Starts the delivery task; events are queued from then on.
    pub fn start_webhooks(&self, config: WebhookConfig) -> anyhow::Result<()> {
        let client = client()?;
        let (queue, events) = mpsc::channel(QUEUE);
        if self.webhooks.set(Webhooks { queue }).is_err() {
            anyhow::bail!("webhooks are started already");
        }
        tokio::spawn(self.clone().deliver_all(events, client, Arc::new(config)));
        Ok(())
    }

    async fn deliver_all(
        self,
        mut events: mpsc::Receiver<Occurred>,
        client: reqwest::Client,
        config: Arc<WebhookConfig>,
    ) {
        let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
        while let Some(occurred) = events.recv().await {
            let mut urls: Vec<Url> = config.url.iter().cloned().collect();
            if let Some(own) = self.org_webhook_url(occurred.org_id).await {
                if !urls.contains(&own) {
                    urls.push(own);
                }
            }
            if urls.is_empty() {
                continue;
            }
            let Some(data) = self.event_data(&occurred).await else {
                continue;
            };
            for &happened in occurred.happened {
                let event = Event::new(happened, occurred.at, occurred.org_id, data.clone());
                let Ok(body) = serde_json::to_vec(&event) else {
                    continue;
                };
                for url in &urls {
                    let Ok(permit) = in_flight.clone().acquire_owned().await else {
                        return;
                    };
                    let delivery = Delivery {
                        client: client.clone(),
                        url: url.clone(),
                        event_type: event.event_type.clone(),
                        id: event.id,
                        body: body.clone(),
                        config: config.clone(),
                        metrics: self.metrics.clone(),
                    };
                    tokio::spawn(async move {
                        delivery.run().await;
                        drop(permit);
                    });
                }
            }
        }
    }

    async fn org_webhook_url(&self, org_id: Uuid) -> Option<Url> {
        match self.org_config_value(org_id, WEBHOOK_URL).await {
            Ok(value) => value.as_str().and_then(|s| Url::parse(s).ok()),
            Err(err) => {
                tracing::warn!(error = %err, %org_id, "reading the organization's webhook_url failed");
                None
            }
        }
    }

    /// The key's kind and name; `None` when the kind cannot be told (then no event leaves).
    async fn event_data(&self, occurred: &Occurred) -> Option<EventData> {
        let (org, id) = (occurred.org_id, occurred.key_id);
        let kind = match occurred.subject {
            Subject::Known(kind) => kind,
            Subject::Leaked => {
                let leaks = self.store.leaks_of(org, &[id]).await.ok()?;
                leaks.first()?.kind.as_str()
            }
            Subject::Expiring => self.index.kind_of(id)?,
        };
        // A revoked key is gone, and its name with it: that is no reason to hold the event.
        let name = match kind {
            "api_key" => self.store.get_api_key(org, id).await.ok().map(|k| k.name),
            "application_key" => self
                .store
                .get_application_key(org, id)
                .await
                .ok()
                .map(|k| k.name),
            "client_token" => self
                .store
                .get_client_token(org, id)
                .await
                .ok()
                .map(|t| t.name),
            _ => None,
        };
        Some(EventData {
            key_id: id,
            kind,
            name,
        })
    }
}

struct Delivery {
    client: reqwest::Client,
    url: Url,
    event_type: String,
    id: Uuid,
    body: Vec<u8>,
    config: Arc<WebhookConfig>,
    metrics: Arc<Metrics>,
}

impl Delivery {
    async fn run(self) {
        let host = self.url.host_str().unwrap_or_default().to_owned();
        let mut backoff = FIRST_BACKOFF;
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            let sent_at = time::now() / 1_000_000;
            let signature =
                webhook::signature(self.config.secret.expose().as_bytes(), sent_at, &self.body);
            let answer = self
                .client
                .post(self.url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(SIGNATURE_HEADER, signature)
                .header(EVENT_HEADER, &self.event_type)
                .header(DELIVERY_HEADER, self.id.to_string())
                .body(self.body.clone())
                .send()
                .await;
            let outcome = match &answer {
                Ok(response) => {
                    last = response.status().to_string();
                    Outcome::of_status(response.status().as_u16())
                }
                Err(err) => {
                    last = err.to_string();
                    Outcome::Retry
                }
            };
            match outcome {
                Outcome::Delivered => {
                    self.metrics.webhook_outcome("delivered").inc();
                    return;
                }
                Outcome::Refused => break,
                Outcome::Retry if attempt < ATTEMPTS => {
                    self.metrics.webhook_outcome("retried").inc();
                }
                Outcome::Retry => {}
            }
        }
        self.metrics.webhook_outcome("failed").inc();
        tracing::warn!(
            host,
            event = self.event_type,
            delivery = %self.id,
            last_answer = last,
            "webhook delivery failed"
        );
    }
}

/// An HTTPS client on the server's own rustls and ring, trusting the system's CA bundle.
fn client() -> anyhow::Result<reqwest::Client> {
    use anyhow::Context as _;
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let bundle = std::env::var("SSL_CERT_FILE").unwrap_or_else(|_| SYSTEM_CA_BUNDLE.to_owned());
    match rustls_pki_types::CertificateDer::pem_file_iter(&bundle) {
        // A bundle may hold certificates rustls cannot use as anchors; the others still count.
        Ok(certs) => certs.flatten().for_each(|cert| {
            let _ = roots.add(cert);
        }),
        Err(err) => {
            tracing::warn!(error = %err, bundle, "no CA bundle: https webhook URLs will fail")
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS versions")?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(TIMEOUT)
        // A receiver's redirect would carry the signed body somewhere it was not sent.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("keyplane-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()?)
}
