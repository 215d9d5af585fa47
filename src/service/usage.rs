//! When keys were last used, and who still presents a rotated key's previous secret, counted
//! in memory on the request path and written in batches (`date_last_used`, `last_used_at`,
//! the rotation callers), so validation never waits on a write.

use crate::domain::rotation::{Caller, CallerSeen, Presenter};
use crate::domain::time;
// hashbrown's default hasher: a few nanoseconds per key where SipHash takes tens, on every
// request; its seed is random per process, like SipHash's.
use hashbrown::HashMap;
use std::sync::{Mutex, PoisonError};
use uuid::Uuid;

#[derive(Default)]
pub struct Usage {
    api_keys: Mutex<HashMap<Uuid, i64>>,
    app_keys: Mutex<HashMap<Uuid, i64>>,
    access_tokens: Mutex<HashMap<Uuid, i64>>,
    previous_callers: Mutex<HashMap<(Uuid, Uuid), Callers>>,
}

/// Of one key (by key and organization): each caller's first and last sighting and count.
type Callers = HashMap<Caller, (i64, i64, u64)>;

/// Distinct callers counted per key between two writes; more are not told apart (a fleet
/// larger than this still shows that the rollout is unfinished).
const CALLERS_PER_KEY: usize = 10_000;

pub type Batch = (Vec<(Uuid, i64)>, Vec<(Uuid, i64)>);

impl Usage {
    pub fn api_key_used(&self, id: Uuid) {
        let mut seen = self.api_keys.lock().unwrap_or_else(PoisonError::into_inner);
        seen.insert(id, time::now());
    }

    pub fn app_key_used(&self, id: Uuid) {
        let mut seen = self.app_keys.lock().unwrap_or_else(PoisonError::into_inner);
        seen.insert(id, time::now());
    }

    pub fn token_used(&self, id: Uuid) {
        let mut seen = self
            .access_tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        seen.insert(id, time::now());
    }

    /// `presenter` authenticated with a previous secret of key `key_id`.
    pub fn previous_secret_used(&self, key_id: Uuid, org_id: Uuid, presenter: &Presenter<'_>) {
        let now = time::now();
        let caller = Caller::of(presenter);
        let mut seen = self
            .previous_callers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let callers = seen.entry((key_id, org_id)).or_default();
        let full = callers.len() >= CALLERS_PER_KEY;
        match callers.get_mut(&caller) {
            Some((_, last, requests)) => {
                *last = now;
                *requests += 1;
            }
            None if !full => {
                callers.insert(caller, (now, now, 1));
            }
            None => {}
        }
    }

    /// The callers of previous secrets counted since the last take.
    pub fn take_previous_callers(&self) -> Vec<CallerSeen> {
        let seen = std::mem::take(
            &mut *self
                .previous_callers
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        seen.into_iter()
            .flat_map(|((key_id, org_id), callers)| {
                callers
                    .into_iter()
                    .map(
                        move |(caller, (first_seen, last_seen, requests))| CallerSeen {
                            key_id,
                            org_id,
                            caller,
                            first_seen,
                            last_seen,
                            requests,
                        },
                    )
            })
            .collect()
    }

    /// The tokens used since the last take.
    pub fn take_tokens(&self) -> Vec<(Uuid, i64)> {
        let mut seen = self
            .access_tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        std::mem::take(&mut *seen).into_iter().collect()
    }

    /// Everything counted since the last take.
    pub fn take(&self) -> Batch {
        let api =
            std::mem::take(&mut *self.api_keys.lock().unwrap_or_else(PoisonError::into_inner));
        let app =
            std::mem::take(&mut *self.app_keys.lock().unwrap_or_else(PoisonError::into_inner));
        (api.into_iter().collect(), app.into_iter().collect())
    }
}
