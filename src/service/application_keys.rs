//! Application keys: each belongs to one user or service account for life.

use super::{unexpected, Services};
use crate::domain::application_key::ApplicationKey;
use crate::domain::name::KeyName;
use crate::domain::secret::{Secret, APP_KEY_BYTES};
use crate::domain::time;
use crate::error::{Error, Result};
use crate::store::StoreError;
use uuid::Uuid;

impl Services {
    /// Mints a key for `owner`; used by bootstrap and `keyplane admin`.
    pub async fn insert_application_key(
        &self,
        org_id: Uuid,
        owner_id: Uuid,
        name: KeyName,
        scopes: Option<Vec<String>>,
    ) -> Result<(ApplicationKey, Secret)> {
        let id = Uuid::new_v4();
        let secret = Secret::random_hex(APP_KEY_BYTES);
        let key = ApplicationKey {
            id,
            org_id,
            owner_id,
            name: name.as_str().to_owned(),
            digest: secret.digest(),
            sealed_key: self.vault.seal(id, &secret).map_err(Error::Internal)?,
            last4: secret.last4(),
            scopes,
            created_at: time::now(),
            last_used_at: None,
        };
        self.store
            .create_application_key(&key)
            .await
            .map_err(|e| match e {
                StoreError::Conflict("name") => Error::Conflict(format!(
                    "An application key with the name {} already exists",
                    name.as_str()
                )),
                other => unexpected(other),
            })?;
        Ok((key, secret))
    }
}
