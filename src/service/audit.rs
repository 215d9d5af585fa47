//! Recording and reading the audit trail. A record is appended after the write it describes
//! has committed; if appending fails, the failure is logged and counted, and the write stands.

use super::{unexpected, Services};
use crate::domain::audit::{Action, AuditEvent, AuditQuery, AuditRecord, Broken, Verifier};
use crate::domain::principal::Principal;
use crate::domain::time;
use crate::domain::user::Permission;
use crate::error::Result;
use uuid::Uuid;

const VERIFY_PAGE: u32 = 10_000;
/// How `keyplane admin` appears as a source.
pub const CLI_SOURCE: &str = "cli";

impl Services {
    pub(super) async fn record(&self, event: AuditEvent) {
        let appended = self
            .metrics
            .db("append_audit", self.store.append_audit(&event))
            .await;
        if let Err(err) = appended {
            self.metrics.audit_failures.inc();
            tracing::error!(error = %err, action = event.action.as_str(), "audit append failed");
        }
    }

    /// Records what `who` did to `target`.
    pub(crate) async fn audit(&self, who: &Principal, action: Action, target: Option<Uuid>) {
        self.record(AuditEvent {
            at: time::now(),
            org_id: Some(who.org_id),
            actor_id: Some(who.user_id),
            action,
            target_id: target,
            source: who.source.clone(),
        })
        .await;
    }

    /// Records what the operator did with `keyplane admin`.
    pub(crate) async fn audit_cli(&self, org_id: Uuid, action: Action, target: Option<Uuid>) {
        self.record(AuditEvent {
            at: time::now(),
            org_id: Some(org_id),
            actor_id: None,
            action,
            target_id: target,
            source: Some(CLI_SOURCE.to_owned()),
        })
        .await;
    }

    /// Records that `source` crossed the allowance of failed authentications.
    pub async fn audit_failure_burst(&self, source: String) {
        self.record(AuditEvent {
            at: time::now(),
            org_id: None,
            actor_id: None,
            action: Action::AuthFailureBurst,
            target_id: None,
            source: Some(source),
        })
        .await;
    }

    pub async fn list_audit(
        &self,
        who: &Principal,
        query: &AuditQuery,
    ) -> Result<(Vec<AuditRecord>, u64)> {
        who.require(Permission::AuditLogsRead)?;
        self.store
            .list_audit(who.org_id, query)
            .await
            .map_err(unexpected)
    }

    /// Walks the whole chain (`keyplane audit verify`): the number of records, or where it
    /// breaks.
    pub async fn verify_audit(&self) -> Result<std::result::Result<u64, Broken>> {
        let head = self.store.audit_head().await.map_err(unexpected)?;
        let mut verifier = Verifier::default();
        let mut after = 0;
        loop {
            let records = self
                .store
                .audit_records(after, VERIFY_PAGE)
                .await
                .map_err(unexpected)?;
            for record in &records {
                if let Err(broken) = verifier.check(record) {
                    return Ok(Err(broken));
                }
                after = record.seq;
            }
            if records.len() < VERIFY_PAGE as usize {
                return Ok(verifier.finish(head));
            }
        }
    }
}
