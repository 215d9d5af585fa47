//! Rotations: a key's secret replaced in place, and the previous secrets that stay valid
//! until their grace period ends. The SQL is the same on both backends.

use super::columns::{digest_of, Columns};
use super::{StoreError, StoreResult};
use crate::domain::rotation::{Caller, CallerSeen, PreviousSecret, RotatedKind, Rotation};
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
pub trait RotationStore: Send + Sync {
    /// Replaces the key's secret and keeps the one it had as a previous secret until
    /// `rotation.previous_valid_until`, in one transaction; earlier previous secrets of the
    /// key lead to the new secret from now on. `NotFound` when the key is not there.
    async fn rotate_secret(&self, rotation: &Rotation) -> StoreResult<()>;
    async fn find_previous_secret(
        &self,
        digest: &crate::domain::secret::KeyDigest,
    ) -> StoreResult<Option<PreviousSecret>>;
    /// The key's previous secrets, newest first, expired ones included until swept.
    async fn previous_secrets_of(
        &self,
        org_id: Uuid,
        key_id: Uuid,
    ) -> StoreResult<Vec<PreviousSecret>>;
    /// Every previous secret still valid at `now` (a node's start).
    async fn live_previous_secrets(&self, now: i64) -> StoreResult<Vec<PreviousSecret>>;
    /// Forgets previous secrets whose grace ended before `before`.
    async fn sweep_previous_secrets(&self, before: i64) -> StoreResult<u64>;
    /// Adds one node's counts of the callers of previous secrets to what every node counted
    /// (the earliest first sighting, the latest last one); keys with no previous secret left
    /// are skipped.
    async fn record_rotation_callers(&self, seen: &[CallerSeen]) -> StoreResult<()>;
    /// The callers of the key's previous secrets, the most recently seen first.
    async fn rotation_callers(&self, org_id: Uuid, key_id: Uuid) -> StoreResult<Vec<CallerSeen>>;
}

/// The update of a key's secret; `$1` org, `$2` id, `$3` digest, `$4` sealed key, `$5`
/// last4, then for the kinds that record them (`records_modifier`) `$6` who and `$7` when.
pub(super) fn rotate_statement(kind: RotatedKind) -> &'static str {
    match kind {
        RotatedKind::ApiKey => {
            "UPDATE api_keys SET digest = $3, sealed_key = $4, last4 = $5, modified_by = $6, \
             modified_at = $7 WHERE org_id = $1 AND id = $2"
        }
        RotatedKind::ClientToken => {
            "UPDATE client_tokens SET digest = $3, sealed_key = $4, last4 = $5, \
             modified_by = $6, modified_at = $7 WHERE org_id = $1 AND id = $2"
        }
        RotatedKind::ApplicationKey => {
            "UPDATE application_keys SET digest = $3, sealed_key = $4, last4 = $5 \
             WHERE org_id = $1 AND id = $2"
        }
    }
}

/// Whether the kind's row records who changed it last and when (application keys do not).
pub(super) fn records_modifier(kind: RotatedKind) -> bool {
    kind != RotatedKind::ApplicationKey
}

/// The key's secret now; `$1` org, `$2` id.
pub(super) fn current_digest_statement(kind: RotatedKind) -> &'static str {
    match kind {
        RotatedKind::ApiKey => "SELECT digest FROM api_keys WHERE org_id = $1 AND id = $2",
        RotatedKind::ApplicationKey => {
            "SELECT digest FROM application_keys WHERE org_id = $1 AND id = $2"
        }
        RotatedKind::ClientToken => {
            "SELECT digest FROM client_tokens WHERE org_id = $1 AND id = $2"
        }
    }
}

pub(super) const FOLLOW: &str = "UPDATE previous_secrets SET current_digest = $1 WHERE key_id = $2";
pub(super) const INSERT: &str = "INSERT INTO previous_secrets (digest, kind, org_id, key_id, \
     current_digest, rotated_at, valid_until) VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub(super) const BY_DIGEST: &str = "SELECT * FROM previous_secrets WHERE digest = $1";
pub(super) const OF_KEY: &str = "SELECT * FROM previous_secrets WHERE org_id = $1 \
     AND key_id = $2 ORDER BY rotated_at DESC";
pub(super) const LIVE: &str = "SELECT * FROM previous_secrets WHERE valid_until > $1";
pub(super) const SWEEP: &str = "DELETE FROM previous_secrets WHERE valid_until < $1";

pub(super) fn previous_from<R: Columns>(row: &R) -> StoreResult<PreviousSecret> {
    let kind = row.text("kind")?;
    Ok(PreviousSecret {
        digest: row.digest()?,
        kind: RotatedKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("rotated kind {kind}")))?,
        org_id: row.uuid("org_id")?,
        key_id: row.uuid("key_id")?,
        current_digest: digest_of(row.bytes("current_digest")?)?,
        rotated_at: row.int("rotated_at")?,
        valid_until: row.int("valid_until")?,
    })
}

pub(super) const RECORD_CALLER: &str = "INSERT INTO rotation_callers (key_id, org_id, source, \
     user_agent, hostname, first_seen, last_seen, requests) \
     SELECT $1, $2, $3, $4, $5, $6, $7, $8 \
     WHERE EXISTS (SELECT 1 FROM previous_secrets WHERE key_id = $1) \
     ON CONFLICT (key_id, source, user_agent, hostname) DO UPDATE SET \
     first_seen = CASE WHEN excluded.first_seen < rotation_callers.first_seen \
         THEN excluded.first_seen ELSE rotation_callers.first_seen END, \
     last_seen = CASE WHEN excluded.last_seen > rotation_callers.last_seen \
         THEN excluded.last_seen ELSE rotation_callers.last_seen END, \
     requests = rotation_callers.requests + excluded.requests";
/// At most this many callers are answered per key (a fleet's worth).
pub(super) const CALLERS: &str = "SELECT * FROM rotation_callers WHERE org_id = $1 \
     AND key_id = $2 ORDER BY last_seen DESC, source, user_agent, hostname LIMIT 10000";

pub(super) fn caller_from<R: Columns>(row: &R) -> StoreResult<CallerSeen> {
    Ok(CallerSeen {
        key_id: row.uuid("key_id")?,
        org_id: row.uuid("org_id")?,
        caller: Caller {
            source: row.text("source")?,
            user_agent: row.text("user_agent")?,
            hostname: row.text("hostname")?,
        },
        first_seen: row.int("first_seen")?,
        last_seen: row.int("last_seen")?,
        requests: super::columns::to_u64(row.int("requests")?),
    })
}
