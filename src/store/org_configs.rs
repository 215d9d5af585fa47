//! Org config values in the store. Only configs set at least once have a row; the catalog
//! in `domain::org_config` gives the others' defaults. Values are kept as JSON text.

use super::StoreResult;
use crate::domain::time::Micros;
use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Row, Type};
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

/// A row of `org_configs`, the same on both backends.
pub(super) fn config_from<'r, R>(row: &'r R) -> StoreResult<StoredConfig>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(StoredConfig {
        name: row.try_get("name")?,
        value: row.try_get("value")?,
        modified_at: row.try_get("modified_at")?,
    })
}
