//! Org config values on PostgreSQL (not credentials: no write lock).

use super::PostgresStore;
use crate::store::org_configs::{config_from, OrgConfigStore, StoredConfig, LIST, PUT};
use crate::store::StoreResult;
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
impl OrgConfigStore for PostgresStore {
    async fn org_configs(&self, org_id: Uuid) -> StoreResult<Vec<StoredConfig>> {
        let rows = sqlx::query(LIST).bind(org_id).fetch_all(&self.pool).await?;
        rows.iter().map(config_from).collect()
    }

    async fn put_org_config(&self, org_id: Uuid, config: &StoredConfig) -> StoreResult<()> {
        sqlx::query(PUT)
            .bind(org_id)
            .bind(&config.name)
            .bind(&config.value)
            .bind(config.modified_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
