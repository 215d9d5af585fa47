//! The chain itself: how a record links to its predecessor (HMAC-SHA-256 under the audit
//! key, or the plain SHA-256 of records from before the chain was keyed), the signed head,
//! and the walk that verifies both.

use super::{Action, AuditEvent, AuditRecord, Hash, Via, GENESIS};
use hmac::digest::generic_array::GenericArray;
use hmac::digest::{KeyInit, Update};
use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

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
