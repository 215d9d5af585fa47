//! Client tokens: create, read, list, rename, revoke, with the same name rules as API keys,
//! and the check browser-intake proxies call.

use super::{in_order_of, unexpected, Services};
use crate::domain::audit::Action;
use crate::domain::client_token::{self, ClientToken, ClientTokenChange, ClientTokenQuery};
use crate::domain::credential::ClientTokenEntry;
use crate::domain::name::KeyName;
use crate::domain::principal::Principal;
use crate::domain::secret::{KeyDigest, Secret};
use crate::domain::time::{self, Micros};
use crate::domain::user::Permission;
use crate::error::{Error, Result};
use crate::store::StoreError;
use uuid::Uuid;

const NOT_FOUND: &str = "Client token not found";

pub(super) fn map_error(name: &str, err: StoreError) -> Error {
    match err {
        StoreError::NotFound => Error::NotFound(NOT_FOUND),
        StoreError::Conflict("name") => Error::Conflict(format!(
            "A client token with the name {name} already exists"
        )),
        other => unexpected(other),
    }
}

impl Services {
    pub async fn create_client_token(
        &self,
        who: &Principal,
        name: KeyName,
        expires_at: Option<Micros>,
    ) -> Result<(ClientToken, Secret)> {
        who.require(Permission::ClientTokensWrite)?;
        let now = time::now();
        let expires_at = self
            .key_lifetime(who.org_id)
            .await?
            .for_new(expires_at, now)?;
        let id = Uuid::new_v4();
        let secret = client_token::generate();
        let token = ClientToken {
            id,
            org_id: who.org_id,
            name: name.as_str().to_owned(),
            digest: secret.digest(),
            sealed_key: self.vault.seal(id, &secret).map_err(Error::Internal)?,
            last4: secret.last4(),
            created_by: who.user_id,
            modified_by: Some(who.user_id),
            created_at: now,
            modified_at: now,
            expires_at,
        };
        self.store
            .create_client_token(&token)
            .await
            .map_err(|e| map_error(name.as_str(), e))?;
        self.refresh_credentials().await;
        self.audit(who, Action::ClientTokenCreated, Some(id)).await;
        Ok((token, secret))
    }

    pub async fn get_client_token(
        &self,
        who: &Principal,
        id: Uuid,
    ) -> Result<(ClientToken, Secret)> {
        who.require(Permission::ClientTokensRead)?;
        let token = self
            .store
            .get_client_token(who.org_id, id)
            .await
            .map_err(|e| map_error("", e))?;
        self.with_token(token)
    }

    /// Tokens are shown in full in lists too: they are made to be published in web pages.
    pub async fn list_client_tokens(
        &self,
        who: &Principal,
        query: &ClientTokenQuery,
    ) -> Result<(Vec<(ClientToken, Secret)>, u64)> {
        who.require(Permission::ClientTokensRead)?;
        // Writes other nodes committed before this request are listed too.
        self.refresh_credentials().await;
        let (ids, matched) = self.index.list_client_tokens(who.org_id, query)?;
        let tokens = self
            .metrics
            .db(
                "client_tokens_by_ids",
                self.store.client_tokens_by_ids(who.org_id, &ids),
            )
            .await
            .map_err(unexpected)?;
        let tokens = in_order_of(&ids, tokens, |t| t.id)
            .into_iter()
            .map(|t| self.with_token(t))
            .collect::<Result<_>>()?;
        Ok((tokens, matched))
    }

    pub async fn rename_client_token(
        &self,
        who: &Principal,
        id: Uuid,
        name: KeyName,
        expires_at: Option<Option<Micros>>,
    ) -> Result<(ClientToken, Secret)> {
        who.require(Permission::ClientTokensWrite)?;
        let now = time::now();
        let expires_at = match expires_at {
            Some(asked) => Some(
                self.key_lifetime(who.org_id)
                    .await?
                    .for_change(asked, now)?,
            ),
            None => None,
        };
        let change = ClientTokenChange {
            name,
            expires_at,
            modified_by: who.user_id,
            modified_at: now,
        };
        let token = self
            .store
            .update_client_token(who.org_id, id, &change)
            .await
            .map_err(|e| map_error(change.name.as_str(), e))?;
        self.refresh_credentials().await;
        self.audit(who, Action::ClientTokenRenamed, Some(id)).await;
        self.with_token(token)
    }

    pub async fn revoke_client_token(&self, who: &Principal, id: Uuid) -> Result<()> {
        who.require(Permission::ClientTokensWrite)?;
        self.store
            .delete_client_token(who.org_id, id)
            .await
            .map_err(|e| map_error("", e))?;
        self.refresh_credentials().await;
        self.audit(who, Action::ClientTokenRevoked, Some(id)).await;
        Ok(())
    }

    /// The organization a presented client token belongs to, from memory.
    pub fn validate_client_token(&self, presented: &str) -> Result<ClientTokenEntry> {
        let found = self
            .index
            .client_token(&KeyDigest::of(presented), &self.metrics);
        if matches!(found, Err(Error::Forbidden)) {
            self.metrics.auth_failures.client_token.inc();
        }
        found
    }

    fn with_token(&self, token: ClientToken) -> Result<(ClientToken, Secret)> {
        let secret = self.unseal(token.id, &token.sealed_key)?;
        Ok((token, secret))
    }
}
