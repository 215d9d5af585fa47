//! Org config values on SQLite.

use super::SqliteStore;
use crate::store::org_configs::{config_from, OrgConfigStore, StoredConfig, LIST, PUT};
use crate::store::StoreResult;
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
impl OrgConfigStore for SqliteStore {
    async fn org_configs(&self, org_id: Uuid) -> StoreResult<Vec<StoredConfig>> {
        let rows = sqlx::query(LIST)
            .bind(org_id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(config_from).collect()
    }

    async fn put_org_config(&self, org_id: Uuid, config: &StoredConfig) -> StoreResult<()> {
        let _slot = self.write_slot().await;
        sqlx::query(PUT)
            .bind(org_id.to_string())
            .bind(&config.name)
            .bind(&config.value)
            .bind(config.modified_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
