//! When keys were last used, counted in memory on the request path and written in batches
//! (`date_last_used`, `last_used_at`), so validation never waits on a write.

use crate::domain::time;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use uuid::Uuid;

#[derive(Default)]
pub struct Usage {
    api_keys: Mutex<HashMap<Uuid, i64>>,
    app_keys: Mutex<HashMap<Uuid, i64>>,
    access_tokens: Mutex<HashMap<Uuid, i64>>,
}

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
