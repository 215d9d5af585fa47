//! The change log on SQLite, and the credential pages a node loads at start.

use super::{bulk_read, SqliteStore};
use crate::domain::api_key::ApiKey;
use crate::domain::application_key::ApplicationKey;
use crate::domain::client_token::ClientToken;
use crate::domain::credential::{Change, UserEntry};
use crate::store::api_keys::{indexed_api_key_from, INDEXED_API_KEYS};
use crate::store::application_keys::app_key_from;
use crate::store::client_tokens::token_from;
use crate::store::log::{change_from, PRUNE, SINCE};
use crate::store::users;
use crate::store::{ChangeLogStore, StoreError, StoreResult};
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
        if let Some(path) = self.file.clone() {
            let (tx, mut rx) = tokio::sync::mpsc::channel(4);
            let reader = tokio::task::spawn_blocking(move || {
                bulk_read::read_api_keys(&path, |chunk| tx.blocking_send(chunk).is_ok())
            });
            while let Some(chunk) = rx.recv().await {
                chunk.into_iter().for_each(&mut *sink);
            }
            return reader
                .await
                .map_err(|e| StoreError::Backend(format!("the key reader ended: {e}")))?;
        }
        // An in-memory database is seen only through the pool.
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
