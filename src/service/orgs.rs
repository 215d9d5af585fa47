//! Organization settings, changed by the operator (`keyplane admin`).

use super::{unexpected, Services};
use crate::domain::audit::Action;
use crate::error::{Error, Result};
use crate::store::StoreError;
use uuid::Uuid;

impl Services {
    /// One-Time Read mode: application key secrets are shown only in the create response.
    pub async fn set_one_time_read(&self, org_id: Uuid, enabled: bool) -> Result<()> {
        self.store
            .set_one_time_read(org_id, enabled)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => Error::invalid(format!("no organization {org_id}")),
                other => unexpected(other),
            })?;
        let action = if enabled {
            Action::OneTimeReadEnabled
        } else {
            Action::OneTimeReadDisabled
        };
        self.audit_cli(org_id, action, Some(org_id)).await;
        Ok(())
    }
}

impl Services {
    /// The organization's name, for pages shown before anyone signs in (an invitation).
    pub async fn org_name(&self, org_id: Uuid) -> Result<String> {
        self.store
            .get_org(org_id)
            .await
            .map(|o| o.name)
            .map_err(unexpected)
    }
}
