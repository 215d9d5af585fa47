//! Expiry notices for webhooks: each API key, application key and client token whose
//! expiry comes within 7 days is announced once (`credential.expiring_soon`), and once more
//! when it expires (`credential.expired`). The audit trail is the memory of what was
//! announced, so a restart announces nothing twice; webhooks follow from the records as
//! for every other key event. Two nodes sweeping at the same instant may both announce.

use super::Services;
use crate::domain::audit::{Action, AuditEvent, AuditQuery};
use crate::domain::time::{self, Micros};
use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};
use uuid::Uuid;

const DAY: Micros = 24 * 3_600 * 1_000_000;
const SOON: Micros = 7 * DAY;
/// Keys that expired longer ago (before an upgrade, or while every node was down) are not
/// announced: an old expiry is no news.
const LOOK_BACK: Micros = 7 * DAY;

/// `(key, notice)` pairs known to be in the audit trail.
#[derive(Default)]
pub struct Announced(Mutex<HashSet<(Uuid, Action)>>);

impl Announced {
    /// Whether the pair is new to this node (it is remembered from now on).
    fn first(&self, key: Uuid, notice: Action) -> bool {
        let mut set = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        set.insert((key, notice))
    }

    fn forget(&self, key: Uuid, notice: Action) {
        let mut set = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        set.remove(&(key, notice));
    }
}

impl Services {
    /// Records the expiry notices due; only while webhooks are on (they are who reads them).
    pub(super) async fn announce_expiries(&self) {
        if self.webhooks.get().is_none() {
            return;
        }
        let now = time::now();
        for (notice, after, until) in [
            (Action::KeyExpired, now - LOOK_BACK, now),
            (Action::KeyExpiringSoon, now, now + SOON),
        ] {
            for (org_id, key) in self.index.keys_expiring_between(after, until) {
                if !self.expiry_notices.first(key, notice) {
                    continue;
                }
                let query = AuditQuery {
                    target_id: Some(key),
                    action: Some(notice),
                    ..AuditQuery::default()
                };
                match self.store.list_audit(org_id, &query).await {
                    Ok((_, 0)) => {}
                    Ok(_) => continue,
                    Err(err) => {
                        tracing::warn!(error = %err, "reading expiry notices failed; retried at the next sweep");
                        self.expiry_notices.forget(key, notice);
                        continue;
                    }
                }
                self.record(AuditEvent {
                    at: now,
                    org_id: Some(org_id),
                    actor_id: None,
                    action: notice,
                    target_id: Some(key),
                    source: None,
                    via: None,
                    credential_id: None,
                })
                .await;
            }
        }
    }
}
