//! The audit trail: an append-only list of who did what to which key, from where, when.
//! Each record carries the SHA-256 of its predecessor's hash and its own fields, so editing or
//! removing any record (or cutting the tail, checked against the stored head) is detectable.

use super::list::Page;
use super::time::Micros;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

pub type Hash = [u8; 32];

/// The hash before the first record.
pub const GENESIS: Hash = [0; 32];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ApiKeyCreated,
    ApiKeyRenamed,
    ApiKeyRevoked,
    /// An API key came to browser intake: it is in a web page, where anyone can read it.
    ApiKeyExposed,
    ApplicationKeyCreated,
    ApplicationKeyChanged,
    ApplicationKeyRevoked,
    ClientTokenCreated,
    ClientTokenRenamed,
    ClientTokenRevoked,
    UserCreated,
    UserChanged,
    UserDisabled,
    PasswordSet,
    SignedIn,
    /// A source crossed the allowance of failed authentications.
    AuthFailureBurst,
}

impl Action {
    pub const ALL: [Action; 16] = [
        Action::ApiKeyCreated,
        Action::ApiKeyRenamed,
        Action::ApiKeyRevoked,
        Action::ApiKeyExposed,
        Action::ApplicationKeyCreated,
        Action::ApplicationKeyChanged,
        Action::ApplicationKeyRevoked,
        Action::ClientTokenCreated,
        Action::ClientTokenRenamed,
        Action::ClientTokenRevoked,
        Action::UserCreated,
        Action::UserChanged,
        Action::UserDisabled,
        Action::PasswordSet,
        Action::SignedIn,
        Action::AuthFailureBurst,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::ApiKeyCreated => "api_key.create",
            Action::ApiKeyRenamed => "api_key.update",
            Action::ApiKeyRevoked => "api_key.revoke",
            Action::ApiKeyExposed => "api_key.exposed",
            Action::ApplicationKeyCreated => "application_key.create",
            Action::ApplicationKeyChanged => "application_key.update",
            Action::ApplicationKeyRevoked => "application_key.revoke",
            Action::ClientTokenCreated => "client_token.create",
            Action::ClientTokenRenamed => "client_token.update",
            Action::ClientTokenRevoked => "client_token.revoke",
            Action::UserCreated => "user.create",
            Action::UserChanged => "user.update",
            Action::UserDisabled => "user.disable",
            Action::PasswordSet => "user.password_set",
            Action::SignedIn => "session.sign_in",
            Action::AuthFailureBurst => "auth.failure_burst",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// What happened, before it has a place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: Micros,
    /// `None` for events outside any organization (a burst of unknown keys).
    pub org_id: Option<Uuid>,
    /// The user or service account that acted; `None` for the operator's CLI or anonymous.
    pub actor_id: Option<Uuid>,
    pub action: Action,
    /// The key, token or user acted on.
    pub target_id: Option<Uuid>,
    /// The client's address, or `cli` for `keyplane admin`.
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: i64,
    pub event: AuditEvent,
    pub prev_hash: Hash,
    pub hash: Hash,
}

fn field(hasher: &mut Sha256, bytes: &[u8]) {
    // Length-prefixed, so no two different records encode to the same bytes.
    hasher.update((bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
}

fn opt_uuid(id: Option<Uuid>) -> Vec<u8> {
    id.map(|u| u.as_bytes().to_vec()).unwrap_or_default()
}

/// The hash of record `seq` holding `event`, chained to `prev`.
pub fn chain_hash(prev: &Hash, seq: i64, event: &AuditEvent) -> Hash {
    let mut hasher = Sha256::new();
    field(&mut hasher, b"keyplane audit v1");
    field(&mut hasher, prev);
    field(&mut hasher, &seq.to_be_bytes());
    field(&mut hasher, &event.at.to_be_bytes());
    field(&mut hasher, &opt_uuid(event.org_id));
    field(&mut hasher, &opt_uuid(event.actor_id));
    field(&mut hasher, event.action.as_str().as_bytes());
    field(&mut hasher, &opt_uuid(event.target_id));
    field(
        &mut hasher,
        event.source.as_deref().unwrap_or("").as_bytes(),
    );
    hasher.finalize().into()
}

/// Where a chain first fails verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broken {
    /// A record's hash does not match its contents (edited).
    Altered { seq: i64 },
    /// A record does not follow the one before it (removed or reordered).
    Unlinked { seq: i64 },
    /// The last record is not the stored head (records cut from the end).
    Truncated { head_seq: i64, last_seq: i64 },
}

/// Walks records in order, carrying the previous hash across calls.
#[derive(Debug, Clone)]
pub struct Verifier {
    prev: Hash,
    last_seq: i64,
    pub checked: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Self {
            prev: GENESIS,
            last_seq: 0,
            checked: 0,
        }
    }
}

impl Verifier {
    pub fn check(&mut self, record: &AuditRecord) -> Result<(), Broken> {
        if record.prev_hash != self.prev {
            return Err(Broken::Unlinked { seq: record.seq });
        }
        if chain_hash(&record.prev_hash, record.seq, &record.event) != record.hash {
            return Err(Broken::Altered { seq: record.seq });
        }
        self.prev = record.hash;
        self.last_seq = record.seq;
        self.checked += 1;
        Ok(())
    }

    /// Checks the end of the walk against the stored head.
    pub fn finish(&self, head: Option<(i64, Hash)>) -> Result<u64, Broken> {
        match head {
            None if self.checked == 0 => Ok(0),
            Some((seq, hash)) if seq == self.last_seq && hash == self.prev => Ok(self.checked),
            other => Err(Broken::Truncated {
                head_seq: other.map(|(s, _)| s).unwrap_or(0),
                last_seq: self.last_seq,
            }),
        }
    }
}

/// Filters of the audit list, all optional.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub from: Option<Micros>,
    pub to: Option<Micros>,
    pub actor_id: Option<Uuid>,
    pub target_id: Option<Uuid>,
    pub action: Option<Action>,
    pub page: Page,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: i64) -> AuditEvent {
        AuditEvent {
            at: n,
            org_id: Some(Uuid::nil()),
            actor_id: None,
            action: Action::ApiKeyCreated,
            target_id: Some(Uuid::from_u128(n as u128)),
            source: Some("127.0.0.1".into()),
        }
    }

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let event = event(seq);
                let hash = chain_hash(&prev, seq, &event);
                let record = AuditRecord {
                    seq,
                    event,
                    prev_hash: prev,
                    hash,
                };
                prev = hash;
                record
            })
            .collect()
    }

    fn verify(records: &[AuditRecord], head: Option<(i64, Hash)>) -> Result<u64, Broken> {
        let mut v = Verifier::default();
        for r in records {
            v.check(r)?;
        }
        v.finish(head)
    }

    #[test]
    fn an_intact_chain_verifies_and_any_change_is_found() {
        let records = chain(5);
        let head = Some((5, records[4].hash));
        assert_eq!(verify(&records, head), Ok(5));

        let mut edited = records.clone();
        edited[2].event.source = Some("10.0.0.1".into());
        assert_eq!(verify(&edited, head), Err(Broken::Altered { seq: 3 }));

        let mut removed = records.clone();
        removed.remove(1);
        assert_eq!(verify(&removed, head), Err(Broken::Unlinked { seq: 3 }));

        let cut = &records[..4];
        assert_eq!(
            verify(cut, head),
            Err(Broken::Truncated {
                head_seq: 5,
                last_seq: 4
            })
        );
    }
}
