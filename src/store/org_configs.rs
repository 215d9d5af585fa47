//! Org config values in the store. Only configs set at least once have a row; the catalog
//! in `domain::org_config` gives the others' defaults. Values are kept as JSON text.

use super::columns::Columns;
use super::StoreResult;
use crate::domain::time::Micros;
use async_trait::async_trait;
use uuid::Uuid;

/// A stored value: the config's name, its JSON text, when it was set.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredConfig {
    pub name: String,
    pub value: String,
    pub modified_at: Micros,
}

#[async_trait]
pub trait OrgConfigStore: Send + Sync {
    /// Every value the organization has set.
    async fn org_configs(&self, org_id: Uuid) -> StoreResult<Vec<StoredConfig>>;
    /// Sets a value (inserting or replacing it).
    async fn put_org_config(&self, org_id: Uuid, config: &StoredConfig) -> StoreResult<()>;
}

pub(super) const LIST: &str = "SELECT * FROM org_configs WHERE org_id = $1 ORDER BY name";
pub(super) const PUT: &str =
    "INSERT INTO org_configs (org_id, name, value, modified_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (org_id, name) DO UPDATE SET value = excluded.value, \
     modified_at = excluded.modified_at";

/// A row of `org_configs`, the same on both backends.
pub(super) fn config_from<R: Columns>(row: &R) -> StoreResult<StoredConfig> {
    Ok(StoredConfig {
        name: row.text("name")?,
        value: row.text("value")?,
        modified_at: row.int("modified_at")?,
    })
}
