//! The use cases. Every surface (v2, v1, the console, the `keyplane admin` CLI) calls these,
//! so each rule of key management is written once, here or in `domain`.

pub mod api_keys;
pub mod application_keys;
pub mod bootstrap;
pub mod orgs;
pub mod users;

use crate::crypto::Vault;
use crate::domain::list::{Page, MAX_PAGE_SIZE};
use crate::domain::secret::Secret;
use crate::error::Error;
use crate::store::{Store, StoreError};
use std::sync::Arc;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_api_keys_per_org: u64,
}

/// Everything a use case needs, cheap to clone into each request.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub vault: Vault,
    pub limits: Limits,
}

impl Services {
    pub fn new(store: Arc<dyn Store>, vault: Vault, limits: Limits) -> Self {
        Self {
            store,
            vault,
            limits,
        }
    }
}

impl Services {
    /// A key's secret from its ciphertext; failure means a wrong master key or a damaged row.
    pub(crate) fn unseal(&self, id: uuid::Uuid, sealed: &[u8]) -> Result<Secret, Error> {
        self.vault.open(id, sealed).map_err(Error::Internal)
    }
}

/// Store failures that no use case turns into something more specific.
pub(crate) fn unexpected(err: StoreError) -> Error {
    Error::internal(err)
}

/// Every item of a paged list, fetching `MAX_PAGE_SIZE` at a time (v1 lists are unpaged).
pub(crate) async fn all_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, Error>
where
    F: FnMut(Page) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, u64), Error>>,
{
    let mut page = Page {
        size: MAX_PAGE_SIZE,
        number: 0,
    };
    let mut all = Vec::new();
    loop {
        let (items, total) = fetch(page).await?;
        let fetched = items.len();
        all.extend(items);
        if fetched == 0 || all.len() as u64 >= total {
            return Ok(all);
        }
        page.number += 1;
    }
}
