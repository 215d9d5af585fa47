//! Leak reports: anyone may say "this string is out in the open". Candidates are matched
//! by digest in the in-memory index, so a report costs no query per candidate; each
//! credential found is recorded once, audited, and flagged or revoked as its organization
//! chose. The reporter learns nothing: the answer does not depend on what matched, and the
//! work on a match runs after the answer is sent, so its duration tells nothing either.

use super::leak_records::OrgLeaks;
use super::{unexpected, Services};
use crate::domain::audit::{Action, AuditEvent};
use crate::domain::leak::{
    clean_source, FoundCredential, LeakAction, LeakKind, LeakedKey, MAX_CANDIDATES,
    MAX_CANDIDATE_LEN,
};
use crate::domain::org_config::LEAKED_KEYS_ACTION;
use crate::domain::secret::KeyDigest;
use crate::domain::time;
use crate::error::{Error, Result};
use crate::store::StoreError;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use uuid::Uuid;

impl Services {
    /// Matches `candidates` and hands what matched to a task of its own. Errors only for
    /// what the reporter sent (too many candidates), never for what matched.
    pub fn report_leaks(
        &self,
        candidates: &[String],
        source: Option<&str>,
        reporter: IpAddr,
    ) -> Result<()> {
        if candidates.len() > MAX_CANDIDATES {
            return Err(Error::TooLarge(format!(
                "A report may carry at most {MAX_CANDIDATES} candidates ({} sent); send the rest in further reports",
                candidates.len()
            )));
        }
        let digests: Vec<KeyDigest> = candidates
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty() && c.len() <= MAX_CANDIDATE_LEN)
            .map(KeyDigest::of)
            .collect();
        let found: HashSet<FoundCredential> =
            self.index.find_credentials(&digests).into_iter().collect();
        if found.is_empty() {
            return Ok(());
        }
        let source = clean_source(source);
        let services = self.clone();
        tokio::spawn(async move {
            for credential in found {
                if let Err(err) = services
                    .handle_leak(credential, source.clone(), reporter)
                    .await
                {
                    tracing::error!(
                        error = %err,
                        credential_id = %credential.id,
                        kind = credential.kind.as_str(),
                        "recording a leaked credential failed"
                    );
                }
            }
        });
        Ok(())
    }

    /// Records one leaked credential; only the report that records it acts on it.
    pub(crate) async fn handle_leak(
        &self,
        credential: FoundCredential,
        source: Option<String>,
        reporter: IpAddr,
    ) -> Result<()> {
        let leak = LeakedKey {
            id: Uuid::new_v4(),
            org_id: credential.org_id,
            kind: credential.kind,
            credential_id: credential.id,
            date: time::now(),
            source,
        };
        let first = self.store.record_leak(&leak).await.map_err(unexpected)?;
        self.leak_records.forget(leak.org_id);
        if !first {
            return Ok(());
        }
        tracing::warn!(
            credential_id = %credential.id,
            org_id = %credential.org_id,
            kind = credential.kind.as_str(),
            "credential reported as leaked; rotate it"
        );
        let choice = self
            .org_config_value(credential.org_id, LEAKED_KEYS_ACTION)
            .await?;
        let action = match LeakAction::from_config(&choice) {
            LeakAction::Flag => Action::LeakFlagged,
            LeakAction::Revoke => self.revoke_leaked(credential).await?,
        };
        self.record(AuditEvent {
            at: time::now(),
            org_id: Some(credential.org_id),
            actor_id: None,
            action,
            target_id: Some(credential.id),
            source: Some(reporter.to_string()),
            // The credential did not act: it was reported, and it is the record's target.
            via: None,
            credential_id: None,
        })
        .await;
        Ok(())
    }

    /// Deletes the credential as its own DELETE does (the change log carries the revocation
    /// to every node); the organization's last API key stays, flagged.
    async fn revoke_leaked(&self, credential: FoundCredential) -> Result<Action> {
        let FoundCredential { kind, id, org_id } = credential;
        let deleted = match kind {
            LeakKind::ApiKey => self.store.delete_api_key(org_id, id).await,
            LeakKind::ApplicationKey => self.store.delete_application_key(org_id, id).await,
            LeakKind::ClientToken => self.store.delete_client_token(org_id, id).await,
            LeakKind::AccessToken => self.store.delete_access_token(org_id, id).await,
        };
        match deleted {
            Ok(()) => {
                self.refresh_credentials().await;
                Ok(Action::LeakRevoked)
            }
            Err(StoreError::LastKey) => Ok(Action::LeakKeptLastKey),
            // Revoked meanwhile by its owner.
            Err(StoreError::NotFound) => Ok(Action::LeakRevoked),
            Err(other) => Err(unexpected(other)),
        }
    }

    /// The leak records of `ids` in `org_id`, by credential id (for `leak_information`).
    pub async fn leaks_by_credential(
        &self,
        org_id: Uuid,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, LeakedKey>> {
        let leaks = match self.leak_records.get(org_id) {
            Some(leaks) => leaks,
            None => {
                let read_at = std::time::Instant::now();
                let records = self.store.org_leaks(org_id).await.map_err(unexpected)?;
                let leaks: OrgLeaks =
                    Arc::new(records.into_iter().map(|l| (l.credential_id, l)).collect());
                self.leak_records.put(org_id, read_at, leaks.clone());
                leaks
            }
        };
        Ok(ids
            .iter()
            .filter_map(|id| Some((*id, leaks.get(id)?.clone())))
            .collect())
    }
}
