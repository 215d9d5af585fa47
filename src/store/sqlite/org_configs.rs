//! Org config values on SQLite.

use super::SqliteStore;
use crate::store::org_configs::{config_from, OrgConfigStore, StoredConfig};
use crate::store::StoreResult;
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
impl OrgConfigStore for SqliteStore {
    async fn org_configs(&self, org_id: Uuid) -> StoreResult<Vec<StoredConfig>> {
        let rows = sqlx::query("SELECT * FROM org_configs WHERE org_id = ? ORDER BY name")
            .bind(org_id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(config_from).collect()
    }

    async fn put_org_config(&self, org_id: Uuid, config: &StoredConfig) -> StoreResult<()> {
        let _slot = self.write_slot().await;
        sqlx::query(
            "INSERT INTO org_configs (org_id, name, value, modified_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (org_id, name) DO UPDATE SET value = excluded.value, \
             modified_at = excluded.modified_at",
        )
        .bind(org_id.to_string())
        .bind(&config.name)
        .bind(&config.value)
        .bind(config.modified_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
