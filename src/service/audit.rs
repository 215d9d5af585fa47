//! Recording and reading the audit trail. A record is appended after the write it describes
//! has committed; if appending fails, the failure is logged and counted, and the write stands.

use super::{unexpected, Services};
use crate::domain::audit::{
    Action, AuditEvent, AuditHead, AuditQuery, AuditRecord, Broken, Hash, Verifier, Via,
};
use crate::domain::principal::Principal;
use crate::domain::time;
use crate::domain::user::Permission;
use crate::error::Result;
use crate::store::StoreError;
use uuid::Uuid;

const VERIFY_PAGE: u32 = 10_000;
/// How `keyplane admin` appears as a source.
pub const CLI_SOURCE: &str = "cli";

/// The outcome of `keyplane audit verify`.
#[derive(Debug, Clone)]
pub struct Verified {
    pub records: u64,
    /// The head, for operators to keep elsewhere (`--expect`).
    pub head: Option<AuditHead>,
}

impl Services {
    pub(super) async fn record(&self, event: AuditEvent) {
        let appended = self
            .metrics
            .db(
                "append_audit",
                self.store.append_audit(&event, self.vault.audit_key()),
            )
            .await;
        if let Err(err) = appended {
            self.metrics.audit_failures.inc();
            tracing::error!(error = %err, action = event.action.as_str(), "audit append failed");
        }
        // After the append, as the record: the event happened even if the record failed.
        if let Some(webhooks) = self.webhooks.get() {
            webhooks.offer(&event, &self.metrics);
        }
    }

    /// Records what `who` did to `target`, with the credential it used.
    pub(crate) async fn audit(&self, who: &Principal, action: Action, target: Option<Uuid>) {
        let (via, credential_id) = match (who.app_key_id, who.token, who.session_id) {
            (Some(key), _, _) => (Via::Key, Some(key)),
            (None, Some(token), _) => (Via::Token, Some(token.id)),
            (None, None, session) => (Via::Session, session),
        };
        self.record(AuditEvent {
            at: time::now(),
            org_id: Some(who.org_id),
            actor_id: Some(who.user_id),
            action,
            target_id: target,
            source: who.source.clone(),
            via: Some(via),
            credential_id,
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
            via: Some(Via::Cli),
            credential_id: None,
        })
        .await;
    }

    /// Records that `source` crossed the allowance of failed authentications.
    pub async fn audit_failure_burst(&self, source: String) {
        self.audit_failure_burst_in(None, source).await;
    }

    /// Records a burst of failures; `org_id` is the organization of the API key presented
    /// when that key was valid, so the org's admins see it (`None`: only `keyplane audit
    /// bursts` lists it).
    pub async fn audit_failure_burst_in(&self, org_id: Option<Uuid>, source: String) {
        self.record(AuditEvent {
            at: time::now(),
            org_id,
            actor_id: None,
            action: Action::AuthFailureBurst,
            target_id: None,
            source: Some(source),
            via: None,
            credential_id: None,
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

    /// Starts the keyed part of a chain written before migration 0005: the first process
    /// that opens such a database appends `audit.chain_keyed`, which signs the head. A no-op
    /// on a signed or empty chain. Logged, because it should happen once per installation.
    pub async fn seal_audit_chain(&self) -> Result<()> {
        let head = self.store.audit_head().await.map_err(unexpected)?;
        if let Some(head) = head.filter(|h| h.mac.is_none() && h.keyed_from == h.seq + 1) {
            tracing::warn!(
                unkeyed_records = head.seq,
                "audit trail: keying the chain from record {} on; the records before it keep \
                 their unkeyed SHA-256 links (expected once, on the first start after the upgrade)",
                head.keyed_from
            );
            let marker = AuditEvent {
                at: time::now(),
                org_id: None,
                actor_id: None,
                action: Action::ChainKeyed,
                target_id: None,
                source: Some(CLI_SOURCE.to_owned()),
                via: Some(Via::Cli),
                credential_id: None,
            };
            match self
                .store
                .append_audit(&marker, self.vault.audit_key())
                .await
            {
                // Conflict: another node, starting at the same time, keyed it first.
                Ok(_) | Err(StoreError::Conflict(_)) => {}
                Err(other) => return Err(unexpected(other)),
            }
        }
        Ok(())
    }

    /// Walks the whole chain (`keyplane audit verify`): the number of records and the head,
    /// or where it breaks. With `expect`, the record at that position must carry that MAC.
    pub async fn verify_audit(
        &self,
        expect: Option<(i64, Hash)>,
    ) -> Result<std::result::Result<Verified, Broken>> {
        let head = self.store.audit_head().await.map_err(unexpected)?;
        let mut verifier = Verifier::new(self.vault.audit_key().clone(), head.as_ref(), expect);
        if let Err(broken) = verifier.check_head(head.as_ref()) {
            return Ok(Err(broken));
        }
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
                return Ok(verifier
                    .finish(head.as_ref())
                    .map(|records| Verified { records, head }));
            }
        }
    }

    /// Records of no organization (failure bursts from unknown keys, the chain-keyed
    /// marker), oldest first: the API shows each organization only its own.
    pub async fn audit_without_org(&self) -> Result<Vec<AuditRecord>> {
        let mut found = Vec::new();
        let mut after = 0;
        loop {
            let records = self
                .store
                .audit_records(after, VERIFY_PAGE)
                .await
                .map_err(unexpected)?;
            after = records.last().map_or(after, |r| r.seq);
            let done = records.len() < VERIFY_PAGE as usize;
            found.extend(records.into_iter().filter(|r| r.event.org_id.is_none()));
            if done {
                return Ok(found);
            }
        }
    }
}
