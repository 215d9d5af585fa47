//! Each organization's leak records, kept in memory for a moment: every GET and list of a key
//! shows its `leak_information`, and a query per read cost a key's GET two thirds of its
//! throughput. Leak records are few and written once; this node's own are seen at once (the
//! organization's entry is dropped when one is written here), another node's within `FRESH`.

use crate::domain::leak::LeakedKey;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use uuid::Uuid;

const FRESH: Duration = Duration::from_secs(1);

/// One organization's records, by credential id.
pub type OrgLeaks = Arc<HashMap<Uuid, LeakedKey>>;

#[derive(Default)]
pub struct LeakRecords {
    orgs: Mutex<HashMap<Uuid, (Instant, OrgLeaks)>>,
}

impl LeakRecords {
    /// The organization's records, if read within `FRESH`.
    pub fn get(&self, org_id: Uuid) -> Option<OrgLeaks> {
        let orgs = self.orgs.lock().unwrap_or_else(PoisonError::into_inner);
        let (read_at, leaks) = orgs.get(&org_id)?;
        (read_at.elapsed() < FRESH).then(|| leaks.clone())
    }

    /// Keeps what was read at `read_at` (before the query: a record written meanwhile is
    /// looked for again sooner, never later).
    pub fn put(&self, org_id: Uuid, read_at: Instant, leaks: OrgLeaks) {
        let mut orgs = self.orgs.lock().unwrap_or_else(PoisonError::into_inner);
        // Organizations not read lately go, so the map holds only the active ones.
        if orgs.len() >= 10_000 {
            orgs.retain(|_, (at, _)| at.elapsed() < FRESH);
        }
        orgs.insert(org_id, (read_at, leaks));
    }

    /// A record of the organization was written here.
    pub fn forget(&self, org_id: Uuid) {
        self.orgs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&org_id);
    }
}
