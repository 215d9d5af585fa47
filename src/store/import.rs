//! Rows copied from another installation as they are (`keyplane migrate`).

use super::{
    AccessTokenStore, ApiKeyStore, ApplicationKeyStore, ClientTokenStore, StoreResult, UserStore,
};
use crate::domain::access_token::AccessToken;
use crate::domain::api_key::ApiKey;
use crate::domain::application_key::ApplicationKey;
use crate::domain::client_token::ClientToken;
use crate::domain::user::User;
use async_trait::async_trait;

/// The defaults write one row at a time through the resource's own create; a backend may
/// write a batch at once.
#[async_trait]
pub trait ImportStore:
    UserStore + ApiKeyStore + ApplicationKeyStore + ClientTokenStore + AccessTokenStore
{
    /// Inserts users copied from another installation as they are.
    async fn import_users(&self, users: &[User]) -> StoreResult<()> {
        for user in users {
            self.create_user(user).await?;
        }
        Ok(())
    }
    /// Inserts copied API keys as they are, whatever the organization's key limit.
    async fn import_api_keys(&self, keys: &[ApiKey]) -> StoreResult<()> {
        for key in keys {
            self.create_api_key(key, u64::MAX).await?;
        }
        Ok(())
    }
    /// Inserts copied application keys as they are, whatever the owner's key limit.
    async fn import_application_keys(&self, keys: &[ApplicationKey]) -> StoreResult<()> {
        for key in keys {
            self.create_application_key(key, u64::MAX).await?;
        }
        Ok(())
    }
    /// Inserts copied client tokens as they are.
    async fn import_client_tokens(&self, tokens: &[ClientToken]) -> StoreResult<()> {
        for token in tokens {
            self.create_client_token(token).await?;
        }
        Ok(())
    }
    /// Inserts copied personal and service-account access tokens as they are.
    async fn import_access_tokens(&self, tokens: &[AccessToken]) -> StoreResult<()> {
        for token in tokens {
            self.create_access_token(token).await?;
        }
        Ok(())
    }
}
