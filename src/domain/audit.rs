//! The audit trail: an append-only list of who did what to which key, with which credential,
//! from where, when.
//!
//! Each record carries an HMAC-SHA-256, under a key derived from the master key, of its
//! predecessor's MAC and its own fields; the head row (the newest position) carries its own
//! MAC. Editing, removing or re-chaining a record, or cutting the tail and rewriting the head,
//! therefore needs the master key. Records written before the chain was keyed (before
//! migration 0005) keep their plain SHA-256 links up to `keyed_from`, which the head's MAC
//! covers, so that boundary cannot be moved either. What the database alone cannot show is
//! a rollback to an older, genuine head: `keyplane audit verify` prints the head so operators
//! can keep it elsewhere, and `--expect SEQ:HASH` checks a kept one.

use super::list::Page;
use super::secret::KeyDigest;
use super::time::Micros;
use hmac::digest::generic_array::GenericArray;
use hmac::digest::{KeyInit, Update};
use hmac::{Hmac, Mac};
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
    UserEnabled,
    PasswordSet,
    SignedIn,
    /// A source crossed the allowance of failed authentications.
    AuthFailureBurst,
    OrgCreated,
    OneTimeReadEnabled,
    OneTimeReadDisabled,
    /// The first keyed record of a chain that began before the chain was keyed.
    ChainKeyed,
}

impl Action {
    pub const ALL: [Action; 21] = [
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
        Action::UserEnabled,
        Action::PasswordSet,
        Action::SignedIn,
        Action::AuthFailureBurst,
        Action::OrgCreated,
        Action::OneTimeReadEnabled,
        Action::OneTimeReadDisabled,
        Action::ChainKeyed,
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
            Action::UserEnabled => "user.enable",
            Action::PasswordSet => "user.password_set",
            Action::SignedIn => "session.sign_in",
            Action::AuthFailureBurst => "auth.failure_burst",
            Action::OrgCreated => "org.create",
            Action::OneTimeReadEnabled => "org.one_time_read.enable",
            Action::OneTimeReadDisabled => "org.one_time_read.disable",
            Action::ChainKeyed => "audit.chain_keyed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// What a user update amounts to, from whether the user was and is disabled.
    pub fn of_user_change(was_disabled: bool, is_disabled: bool) -> Self {
        match (was_disabled, is_disabled) {
            (false, true) => Action::UserDisabled,
            (true, false) => Action::UserEnabled,
            _ => Action::UserChanged,
        }
    }
}

/// Which kind of credential acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// An application key (its id is the record's `credential_id`).
    Key,
    /// A console session (`credential_id` is the session's reference, see [`session_ref`]).
    Session,
    /// The operator's `keyplane` command line.
    Cli,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Key => "key",
            Via::Session => "session",
            Via::Cli => "cli",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Via::Key, Via::Session, Via::Cli]
            .into_iter()
            .find(|v| v.as_str() == text)
    }
}

/// A console session's id in the audit trail: derived one way from the digest the database
/// holds, so it names the session without revealing (or being) its token or digest.
pub fn session_ref(digest: &KeyDigest) -> Uuid {
    let mut hasher = Sha256::new();
    sha2::Digest::update(&mut hasher, b"keyplane session ref v1");
    sha2::Digest::update(&mut hasher, digest.0);
    let out: [u8; 32] = hasher.finalize().into();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&out[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
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
    /// The kind of credential that acted; `None` for anonymous events and old records.
    pub via: Option<Via>,
    /// The application key, or the session reference, that acted.
    pub credential_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: i64,
    pub event: AuditEvent,
    pub prev_hash: Hash,
    /// The record's MAC (or, before `keyed_from`, its plain SHA-256 link).
    pub hash: Hash,
}

/// The newest position of the chain, as the head row stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: Hash,
    /// The first record linked by MAC; records before it use the unkeyed rule.
    pub keyed_from: i64,
    /// The MAC of (seq, hash, keyed_from); `None` only right after migration 0005.
    pub mac: Option<Hash>,
}

impl AuditHead {
    /// The head after appending record `seq` with `hash`, signed.
    pub fn next(key: &AuditKey, seq: i64, hash: Hash, keyed_from: i64) -> Self {
        let mut head = Self {
            seq,
            hash,
            keyed_from,
            mac: None,
        };
        head.mac = Some(key.head_mac(&head));
        head
    }

    /// Whether the head's MAC verifies under `key`.
    pub fn signed_by(&self, key: &AuditKey) -> bool {
        self.mac
            .is_some_and(|mac| key.verify(&key.head_mac(self), &mac))
    }

    /// The head as operators note it: `SEQ:HASH`.
    pub fn anchor(&self) -> String {
        format!("{}:{}", self.seq, hex::encode(self.hash))
    }
}

/// Where record `next_seq` goes and what it links to, given the stored head; refuses to
/// extend a head that is not signed under `key`, since signing onto a rewritten head would
/// hide the rewrite. An unsigned head (right after migration 0005) takes only the
/// [`Action::ChainKeyed`] record, which starts the keyed part of the chain.
pub fn next_link(
    key: &AuditKey,
    head: Option<&AuditHead>,
    action: Action,
) -> Result<(i64, Hash, i64), Broken> {
    match head {
        None if action == Action::ChainKeyed => Err(Broken::KeyedAlready),
        None => Ok((1, GENESIS, 1)),
        Some(h) if h.mac.is_none() => {
            if action == Action::ChainKeyed && h.keyed_from == h.seq + 1 {
                Ok((h.seq + 1, h.hash, h.keyed_from))
            } else {
                Err(Broken::HeadUnsigned)
            }
        }
        // Another node started the keyed part first: one marker is enough.
        Some(_) if action == Action::ChainKeyed => Err(Broken::KeyedAlready),
        Some(h) if h.signed_by(key) => Ok((h.seq + 1, h.hash, h.keyed_from)),
        Some(_) => Err(Broken::HeadForged),
    }
}

fn field(hasher: &mut impl Update, bytes: &[u8]) {
    // Length-prefixed, so no two different records encode to the same bytes.
    hasher.update(&(bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
}

fn opt_uuid(id: Option<Uuid>) -> Vec<u8> {
    id.map(|u| u.as_bytes().to_vec()).unwrap_or_default()
}

fn common_fields(h: &mut impl Update, prev: &Hash, seq: i64, event: &AuditEvent) {
    field(h, prev);
    field(h, &seq.to_be_bytes());
    field(h, &event.at.to_be_bytes());
    field(h, &opt_uuid(event.org_id));
    field(h, &opt_uuid(event.actor_id));
    field(h, event.action.as_str().as_bytes());
    field(h, &opt_uuid(event.target_id));
    field(h, event.source.as_deref().unwrap_or("").as_bytes());
}

/// The unkeyed link of record `seq` (records before migration 0005): SHA-256, which anyone
/// can recompute, so it only ever verifies the part of a chain that predates the key.
pub fn chain_hash(prev: &Hash, seq: i64, event: &AuditEvent) -> Hash {
    let mut hasher = Sha256::new();
    field(&mut hasher, b"keyplane audit v1");
    common_fields(&mut hasher, prev, seq, event);
    hasher.finalize().into()
}

type HmacSha256 = Hmac<Sha256>;

/// The audit trail's MAC key, derived from the master key (HMAC-SHA-256 of a fixed label),
/// so it is never stored and every node holding the master key derives the same one.
#[derive(Clone)]
pub struct AuditKey([u8; 32]);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl AuditKey {
    pub fn derive(master_key: &[u8; 32]) -> Self {
        let mut mac = keyed(master_key);
        Mac::update(&mut mac, b"keyplane audit chain key v1");
        Self(mac.finalize().into_bytes().into())
    }

    fn mac(&self) -> HmacSha256 {
        keyed(&self.0)
    }

    /// The keyed link of record `seq` holding `event`, chained to `prev`.
    pub fn record_mac(&self, prev: &Hash, seq: i64, event: &AuditEvent) -> Hash {
        let mut mac = self.mac();
        field(&mut mac, b"keyplane audit v2 record");
        common_fields(&mut mac, prev, seq, event);
        field(
            &mut mac,
            event.via.map(Via::as_str).unwrap_or("").as_bytes(),
        );
        field(&mut mac, &opt_uuid(event.credential_id));
        mac.finalize().into_bytes().into()
    }

    fn head_mac(&self, head: &AuditHead) -> Hash {
        let mut mac = self.mac();
        field(&mut mac, b"keyplane audit v2 head");
        field(&mut mac, &head.seq.to_be_bytes());
        field(&mut mac, &head.hash);
        field(&mut mac, &head.keyed_from.to_be_bytes());
        mac.finalize().into_bytes().into()
    }

    fn verify(&self, expected: &Hash, actual: &Hash) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(expected.ct_eq(actual))
    }
}

/// HMAC-SHA-256 under a 32-byte key. HMAC zero-pads a short key to the 64-byte block, so
/// padding it here gives the same MAC as `new_from_slice`, without a fallible call.
fn keyed(key: &[u8; 32]) -> HmacSha256 {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    <HmacSha256 as KeyInit>::new(GenericArray::from_slice(&block))
}

/// Where a chain first fails verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broken {
    /// A record's MAC (or link) does not match its contents (edited or re-chained).
    Altered { seq: i64 },
    /// A record does not follow the one before it (removed or reordered).
    Unlinked { seq: i64 },
    /// The last record is not the stored head (records cut from the end).
    Truncated { head_seq: i64, last_seq: i64 },
    /// Records exist but the head row is gone.
    NoHead { last_seq: i64 },
    /// The head's MAC does not verify (the head was rewritten, or this is another master key).
    HeadForged,
    /// The head carries no MAC although keyed records follow, or are due.
    HeadUnsigned,
    /// The operator's anchor (`--expect SEQ:HASH`) is not in the trail.
    NotAsExpected { seq: i64 },
    /// Not a break: the chain-keyed marker is due only once, on an unsigned head.
    KeyedAlready,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Broken::Altered { seq } => write!(
                f,
                "record {seq} was edited (its MAC does not match its contents under this master key)"
            ),
            Broken::Unlinked { seq } => write!(
                f,
                "record {seq} does not follow its predecessor (a record was removed)"
            ),
            Broken::Truncated { head_seq, last_seq } => write!(
                f,
                "the trail ends at record {last_seq} but its head says {head_seq} (records were cut)"
            ),
            Broken::NoHead { last_seq } => write!(
                f,
                "the trail holds {last_seq} records but its head row is missing"
            ),
            Broken::HeadForged => f.write_str(
                "the head's MAC does not verify under this master key (the head was rewritten, \
                 e.g. after cutting records from the end)",
            ),
            Broken::HeadUnsigned => f.write_str(
                "the head carries no MAC although the chain is keyed (the head was rewritten)",
            ),
            Broken::KeyedAlready => f.write_str("the chain is keyed already"),
            Broken::NotAsExpected { seq } => write!(
                f,
                "record {seq} is not the expected one (--expect): the trail was cut or rewritten back to an older head"
            ),
        }
    }
}

/// Walks records in order, carrying the previous link across calls.
#[derive(Debug, Clone)]
pub struct Verifier {
    key: AuditKey,
    /// The first keyed record, from the head (1 when there is no head: nothing to check).
    keyed_from: i64,
    expect: Option<(i64, Hash)>,
    expect_met: bool,
    prev: Hash,
    last_seq: i64,
    pub checked: u64,
}

impl Verifier {
    /// A verifier for a chain whose head is `head` (checked in [`Verifier::finish`]); with
    /// `expect`, the record at that position must carry that MAC.
    pub fn new(key: AuditKey, head: Option<&AuditHead>, expect: Option<(i64, Hash)>) -> Self {
        Self {
            key,
            keyed_from: head.map_or(1, |h| h.keyed_from),
            expect,
            expect_met: false,
            prev: GENESIS,
            last_seq: 0,
            checked: 0,
        }
    }

    pub fn check(&mut self, record: &AuditRecord) -> Result<(), Broken> {
        if record.prev_hash != self.prev || record.seq != self.last_seq + 1 {
            return Err(Broken::Unlinked { seq: record.seq });
        }
        let expected = if record.seq >= self.keyed_from {
            self.key
                .record_mac(&record.prev_hash, record.seq, &record.event)
        } else if record.event.via.is_none() && record.event.credential_id.is_none() {
            // Unkeyed records predate the credential fields, so they never carry them.
            chain_hash(&record.prev_hash, record.seq, &record.event)
        } else {
            return Err(Broken::Altered { seq: record.seq });
        };
        if !self.key.verify(&expected, &record.hash) {
            return Err(Broken::Altered { seq: record.seq });
        }
        if let Some((seq, hash)) = self.expect {
            if seq == record.seq {
                if hash != record.hash {
                    return Err(Broken::NotAsExpected { seq });
                }
                self.expect_met = true;
            }
        }
        self.prev = record.hash;
        self.last_seq = record.seq;
        self.checked += 1;
        Ok(())
    }

    /// Checks the head's own MAC (done first, so a rewritten head is named as such).
    pub fn check_head(&self, head: Option<&AuditHead>) -> Result<(), Broken> {
        match head.map(|h| (h, h.mac)) {
            None => Ok(()),
            // Right after migration 0005, before the chain-keyed record: nothing is keyed yet.
            Some((h, None)) if h.keyed_from == h.seq + 1 && h.keyed_from > 1 => Ok(()),
            Some((_, None)) => Err(Broken::HeadUnsigned),
            Some((h, Some(_))) if !h.signed_by(&self.key) => Err(Broken::HeadForged),
            Some(_) => Ok(()),
        }
    }

    /// Checks the end of the walk against the stored head and its MAC.
    pub fn finish(&self, head: Option<&AuditHead>) -> Result<u64, Broken> {
        if let Some((seq, _)) = self.expect {
            if !self.expect_met {
                return Err(Broken::NotAsExpected { seq });
            }
        }
        let Some(head) = head else {
            return if self.checked == 0 {
                Ok(0)
            } else {
                Err(Broken::NoHead {
                    last_seq: self.last_seq,
                })
            };
        };
        self.check_head(Some(head))?;
        if head.seq == self.last_seq && head.hash == self.prev {
            Ok(self.checked)
        } else {
            Err(Broken::Truncated {
                head_seq: head.seq,
                last_seq: self.last_seq,
            })
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
            via: Some(Via::Cli),
            credential_id: None,
        }
    }

    fn key() -> AuditKey {
        AuditKey::derive(&[7; 32])
    }

    /// `n` records, the first `unkeyed` of them under the old rule, and their head.
    fn chain(n: i64, unkeyed: i64) -> (Vec<AuditRecord>, AuditHead) {
        let mut prev = GENESIS;
        let records: Vec<_> = (1..=n)
            .map(|seq| {
                let mut event = event(seq);
                let hash = if seq <= unkeyed {
                    event.via = None;
                    chain_hash(&prev, seq, &event)
                } else {
                    key().record_mac(&prev, seq, &event)
                };
                let record = AuditRecord {
                    seq,
                    event,
                    prev_hash: prev,
                    hash,
                };
                prev = hash;
                record
            })
            .collect();
        let head = AuditHead::next(&key(), n, prev, unkeyed + 1);
        (records, head)
    }

    fn verify(records: &[AuditRecord], head: &AuditHead) -> Result<u64, Broken> {
        verify_expecting(records, head, None)
    }

    fn verify_expecting(
        records: &[AuditRecord],
        head: &AuditHead,
        expect: Option<(i64, Hash)>,
    ) -> Result<u64, Broken> {
        let mut v = Verifier::new(key(), Some(head), expect);
        v.check_head(Some(head))?;
        for r in records {
            v.check(r)?;
        }
        v.finish(Some(head))
    }

    #[test]
    fn an_intact_chain_verifies_and_any_change_is_found() {
        let (records, head) = chain(5, 0);
        assert_eq!(verify(&records, &head), Ok(5));

        let mut edited = records.clone();
        edited[2].event.source = Some("10.0.0.1".into());
        assert_eq!(verify(&edited, &head), Err(Broken::Altered { seq: 3 }));

        let mut removed = records.clone();
        removed.remove(1);
        assert_eq!(verify(&removed, &head), Err(Broken::Unlinked { seq: 3 }));

        let cut = &records[..4];
        assert_eq!(
            verify(cut, &head),
            Err(Broken::Truncated {
                head_seq: 5,
                last_seq: 4
            })
        );
    }

    #[test]
    fn rechaining_without_the_key_and_rewriting_the_head_are_found() {
        let (records, head) = chain(5, 0);
        // The review's re-chainer: plain SHA-256 links from record 3 on.
        let mut rechained = records.clone();
        rechained[2].event.actor_id = None;
        for i in 2..5 {
            let prev = rechained[i - 1].hash;
            rechained[i].prev_hash = prev;
            rechained[i].hash = chain_hash(&prev, rechained[i].seq, &rechained[i].event);
        }
        let forged = AuditHead {
            seq: 5,
            hash: rechained[4].hash,
            ..head
        };
        assert_eq!(verify(&rechained, &forged), Err(Broken::HeadForged));
        assert_eq!(verify(&rechained, &head), Err(Broken::Altered { seq: 3 }));

        // Cut the tail and copy the new last record's seq and MAC into the head.
        let cut = &records[..3];
        let copied = AuditHead {
            seq: 3,
            hash: records[2].hash,
            ..head
        };
        assert_eq!(verify(cut, &copied), Err(Broken::HeadForged));
        let unsigned = AuditHead {
            mac: None,
            ..copied
        };
        assert_eq!(verify(cut, &unsigned), Err(Broken::HeadUnsigned));
        // Moving the unkeyed boundary is covered by the head's MAC.
        let moved = AuditHead {
            keyed_from: 6,
            ..head
        };
        assert_eq!(verify(&records, &moved), Err(Broken::HeadForged));
        // Another master key signs nothing here.
        let other = Verifier::new(AuditKey::derive(&[8; 32]), Some(&head), None);
        let mut other = other;
        assert_eq!(other.check(&records[0]), Err(Broken::Altered { seq: 1 }));
    }

    #[test]
    fn old_records_verify_under_the_unkeyed_rule_up_to_the_boundary() {
        let (records, head) = chain(6, 3);
        assert_eq!(verify(&records, &head), Ok(6));
        // Just migrated: an unsigned head with nothing keyed yet.
        let (old, _) = chain(3, 3);
        let migrated = AuditHead {
            seq: 3,
            hash: old[2].hash,
            keyed_from: 4,
            mac: None,
        };
        assert_eq!(verify(&old, &migrated), Ok(3));
        // An unkeyed record may not claim a credential (those fields are not covered).
        let mut claimed = records.clone();
        claimed[0].event.via = Some(Via::Key);
        assert_eq!(verify(&claimed, &head), Err(Broken::Altered { seq: 1 }));
    }

    #[test]
    fn an_expected_anchor_catches_a_rollback_to_an_older_genuine_head() {
        let (records, head) = chain(5, 0);
        let anchor = (5, records[4].hash);
        assert_eq!(verify_expecting(&records, &head, Some(anchor)), Ok(5));
        // The trail and head as they were at record 3: all genuine, but the anchor is gone.
        let older = AuditHead::next(&key(), 3, records[2].hash, 1);
        assert_eq!(
            verify_expecting(&records[..3], &older, Some(anchor)),
            Err(Broken::NotAsExpected { seq: 5 })
        );
        assert_eq!(
            verify_expecting(&records, &head, Some((4, [1; 32]))),
            Err(Broken::NotAsExpected { seq: 4 })
        );
    }

    #[test]
    fn the_next_link_refuses_a_forged_or_unsigned_head() {
        let (records, head) = chain(3, 0);
        assert_eq!(
            next_link(&key(), Some(&head), Action::SignedIn),
            Ok((4, records[2].hash, 1))
        );
        let forged = AuditHead {
            seq: 2,
            hash: records[1].hash,
            ..head
        };
        assert_eq!(
            next_link(&key(), Some(&forged), Action::SignedIn),
            Err(Broken::HeadForged)
        );
        let migrated = AuditHead {
            keyed_from: 4,
            mac: None,
            ..head
        };
        assert_eq!(
            next_link(&key(), Some(&migrated), Action::SignedIn),
            Err(Broken::HeadUnsigned)
        );
        assert_eq!(
            next_link(&key(), Some(&migrated), Action::ChainKeyed),
            Ok((4, records[2].hash, 4))
        );
        assert_eq!(
            next_link(&key(), None, Action::SignedIn),
            Ok((1, GENESIS, 1))
        );
        assert_eq!(
            next_link(&key(), Some(&head), Action::ChainKeyed),
            Err(Broken::KeyedAlready)
        );
    }

    #[test]
    fn user_changes_name_enable_and_disable() {
        assert_eq!(Action::of_user_change(true, false), Action::UserEnabled);
        assert_eq!(Action::of_user_change(false, true), Action::UserDisabled);
        assert_eq!(Action::of_user_change(false, false), Action::UserChanged);
    }
}
