//! When keys were last used, written in batches by every node.

use super::StoreResult;
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Records when keys were last used; `(id, micros)` pairs, applied in one transaction.
    async fn record_usage(
        &self,
        api_keys: &[(Uuid, i64)],
        app_keys: &[(Uuid, i64)],
    ) -> StoreResult<()>;
}
