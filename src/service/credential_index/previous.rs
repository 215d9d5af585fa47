//! Rotated keys' previous secrets in the index: whether any key is in an overlap, which key a
//! previous secret names, and dropping those whose grace period is over.

use super::*;

impl CredentialIndex {
    pub(super) fn successor(&self, digest: &KeyDigest, kind: RotatedKind) -> Option<KeyDigest> {
        self.read().successor(digest, kind)
    }

    /// Whether any key is in the overlap of a rotation.
    pub fn in_overlap(&self) -> bool {
        self.overlaps.load(Ordering::Relaxed) > 0
    }

    /// The key and organization of `digest` if it is a previous secret still in its grace
    /// period.
    pub fn previous_secret(&self, digest: &KeyDigest) -> Option<(Uuid, Uuid)> {
        let state = self.read();
        let previous = state.previous.get(digest)?;
        previous
            .valid_at(time::now())
            .then_some((previous.key_id, previous.org_id))
    }

    pub(super) fn count_overlaps(&self, state: &State) {
        self.overlaps.store(state.previous.len(), Ordering::Relaxed);
    }

    /// Drops previous secrets whose grace period is over (lookups refuse them already),
    /// telling mirrors that the API keys' ones are gone.
    pub(super) fn expire_previous(&self) {
        let now = time::now();
        if self.read().previous.values().all(|p| p.valid_at(now)) {
            return;
        }
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let mut gone = Vec::new();
        state.previous.retain(|digest, p| {
            let keep = p.valid_at(now);
            if !keep && p.kind == RotatedKind::ApiKey {
                gone.push(*digest);
            }
            keep
        });
        self.count_overlaps(&state);
        drop(state);
        for digest in gone {
            let _ = self.api_key_changes.send(ApiKeyChange::Removed { digest });
        }
    }
}
