//! Org configs: read by any caller of the organization, changed with `org_management`. One-Time
//! Read mode is one of them; its value lives on the organization, as the CLI sets it.

use super::{unexpected, Services};
use crate::domain::audit::Action;
use crate::domain::expiry::MaxLifetime;
use crate::domain::org_config::{
    self, OrgConfig, OrgConfigDef, MAX_KEY_LIFETIME_DAYS, ONE_TIME_READ,
};
use crate::domain::principal::Principal;
use crate::domain::time;
use crate::domain::user::Permission;
use crate::error::{Error, Result};
use crate::store::StoredConfig;
use serde_json::Value;
use uuid::Uuid;

fn def_of(name: &str) -> Result<&'static OrgConfigDef> {
    org_config::find(name)
        .ok_or_else(|| Error::NotFoundText(format!("OrgConfig: {name} not found")))
}

/// Datadog's text names the refused value (`'OrgConfig: not-a-boolean'`), not the config.
fn invalid_value(value: &Value) -> Error {
    let shown = value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned);
    Error::invalid(format!(
        "The value provided for parameter 'OrgConfig: {shown}' is invalid"
    ))
}

impl Services {
    /// Every config of the catalog, as the organization holds it.
    pub async fn org_configs(&self, who: &Principal) -> Result<Vec<OrgConfig>> {
        self.org_configs_of(who.org_id).await
    }

    pub async fn org_config(&self, who: &Principal, name: &str) -> Result<OrgConfig> {
        let def = def_of(name)?;
        let all = self.org_configs_of(who.org_id).await?;
        all.into_iter()
            .find(|c| c.def.name == def.name)
            .ok_or_else(|| Error::internal(format!("org config {name} missing")))
    }

    /// A honoured config's value for the organization (its default when never set).
    pub(crate) async fn org_config_value(&self, org_id: Uuid, name: &str) -> Result<Value> {
        let config = self.org_configs_of(org_id).await?;
        Ok(config
            .into_iter()
            .find(|c| c.def.name == name)
            .map(|c| c.value)
            .unwrap_or(Value::Null))
    }

    /// The organization's longest lifetime of a new key (`max_key_lifetime_days`).
    pub(crate) async fn key_lifetime(&self, org_id: Uuid) -> Result<MaxLifetime> {
        let value = self.org_config_value(org_id, MAX_KEY_LIFETIME_DAYS).await?;
        Ok(MaxLifetime::of(&value))
    }

    async fn org_configs_of(&self, org_id: Uuid) -> Result<Vec<OrgConfig>> {
        let stored = self.store.org_configs(org_id).await.map_err(unexpected)?;
        let org = self.store.get_org(org_id).await.map_err(unexpected)?;
        Ok(org_config::CATALOG
            .iter()
            .map(|def| {
                let set = stored.iter().find(|s| s.name == def.name);
                // A stored text that no longer parses reads as the default rather than failing
                // every listing.
                let value = set
                    .and_then(|s| serde_json::from_str::<Value>(&s.value).ok())
                    .filter(|v| def.accepts(v))
                    .unwrap_or_else(|| def.default_value());
                let value = if def.name == ONE_TIME_READ {
                    Value::Bool(org.one_time_read)
                } else {
                    value
                };
                OrgConfig {
                    def,
                    value,
                    modified_at: set.map(|s| s.modified_at),
                }
            })
            .collect())
    }

    pub async fn set_org_config(
        &self,
        who: &Principal,
        name: &str,
        value: Value,
    ) -> Result<OrgConfig> {
        who.require(Permission::OrgManagement)?;
        let def = def_of(name)?;
        if def.name == ONE_TIME_READ {
            // As Datadog documents for its Organization Settings page.
            who.require(Permission::OrgAppKeysWrite)?;
        }
        if !def.accepts(&value) {
            return Err(invalid_value(&value));
        }
        let config = StoredConfig {
            name: def.name.to_owned(),
            value: value.to_string(),
            modified_at: time::now(),
        };
        self.store
            .put_org_config(who.org_id, &config)
            .await
            .map_err(unexpected)?;
        let action = match value {
            Value::Bool(enabled) if def.name == ONE_TIME_READ => {
                self.store
                    .set_one_time_read(who.org_id, enabled)
                    .await
                    .map_err(unexpected)?;
                if enabled {
                    Action::OneTimeReadEnabled
                } else {
                    Action::OneTimeReadDisabled
                }
            }
            _ => Action::OrgConfigChanged,
        };
        let target = if action == Action::OrgConfigChanged {
            def.id()
        } else {
            who.org_id
        };
        self.audit(who, action, Some(target)).await;
        self.org_config(who, name).await
    }
}
