//! The change log on SQLite, and the credential pages a node loads at start.

use super::SqliteStore;
use crate::domain::api_key::ApiKey;
use crate::domain::application_key::ApplicationKey;
use crate::domain::client_token::ClientToken;
use crate::domain::credential::{Change, UserEntry};
use crate::store::api_keys::{indexed_api_key_from, INDEXED_API_KEYS};
use crate::store::application_keys::app_key_from;
use crate::store::client_tokens::token_from;
use crate::store::log::{change_from, PRUNE, SINCE};
use crate::store::users;
use crate::store::{ChangeLogStore, StoreResult};
use async_trait::async_trait;
use futures_util::TryStreamExt;
use uuid::Uuid;

#[async_trait]
impl ChangeLogStore for SqliteStore {
    async fn change_seq(&self) -> StoreResult<i64> {
        let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM changes")
            .fetch_one(&self.pool)
            .await?;
        Ok(seq)
    }

    async fn each_api_key(&self, sink: &mut (dyn FnMut(ApiKey) + Send)) -> StoreResult<()> {
        let mut rows = sqlx::query(INDEXED_API_KEYS).fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            sink(indexed_api_key_from(&row)?);
        }
        Ok(())
    }

    async fn application_keys_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<ApplicationKey>> {
        let rows = self.page_by_id("application_keys", after, limit).await?;
        rows.iter().map(app_key_from).collect()
    }

    async fn user_entries(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(Uuid, UserEntry)>> {
        let rows = self.page_by_id("users", after, limit).await?;
        rows.iter().map(users::entry_from).collect()
    }

    async fn client_tokens_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<ClientToken>> {
        let rows = self.page_by_id("client_tokens", after, limit).await?;
        rows.iter().map(token_from).collect()
    }

    async fn changes_since(&self, seq: i64, limit: u32) -> StoreResult<Vec<Change>> {
        let rows = sqlx::query(SINCE)
            .bind(seq)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(change_from).collect()
    }

    async fn prune_changes(&self, before: i64) -> StoreResult<u64> {
        let done = sqlx::query(PRUNE).bind(before).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}
