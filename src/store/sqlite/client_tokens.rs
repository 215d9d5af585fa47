//! Client tokens on SQLite: writes go through the group committer.

use super::SqliteStore;
use crate::domain::client_token::{ClientToken, ClientTokenChange, ClientTokenQuery};
use crate::domain::name::{fold, unique_name};
use crate::domain::secret::KeyDigest;
use crate::store::client_tokens::{sort_column, token_from, BY_DIGEST, GET, INSERT, RENAME};
use crate::store::columns::{order_by, push_key_filter};
use crate::store::{ClientTokenStore, StoreResult};
use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

#[async_trait]
impl ClientTokenStore for SqliteStore {
    async fn create_client_token(&self, token: &ClientToken) -> StoreResult<()> {
        let token = token.clone();
        self.writes
            .run(move |conn| {
                Box::pin(async move {
                    sqlx::query(INSERT)
                        .bind(token.id.to_string())
                        .bind(token.org_id.to_string())
                        .bind(&token.name)
                        .bind(fold(&token.name))
                        .bind(unique_name(&token.name))
                        .bind(token.digest.0.as_slice())
                        .bind(&token.sealed_key)
                        .bind(&token.last4)
                        .bind(token.created_by.to_string())
                        .bind(token.modified_by.map(|u| u.to_string()))
                        .bind(token.created_at)
                        .bind(token.modified_at)
                        .bind(token.expires_at)
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            })
            .await
    }

    async fn get_client_token(&self, org_id: Uuid, id: Uuid) -> StoreResult<ClientToken> {
        let row = sqlx::query(GET)
            .bind(org_id.to_string())
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await?;
        token_from(&row)
    }

    async fn find_client_token(&self, digest: &KeyDigest) -> StoreResult<Option<ClientToken>> {
        let row = sqlx::query(BY_DIGEST)
            .bind(digest.0.as_slice())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(token_from).transpose()
    }

    async fn client_tokens_by_ids(
        &self,
        org_id: Uuid,
        ids: &[Uuid],
    ) -> StoreResult<Vec<ClientToken>> {
        self.rows_by_ids("client_tokens", org_id, ids, token_from)
            .await
    }

    async fn list_client_tokens(
        &self,
        org_id: Uuid,
        query: &ClientTokenQuery,
    ) -> StoreResult<(Vec<ClientToken>, u64)> {
        let order = order_by(sort_column(query.sort.field), query.sort.descending);
        let f = &query.filter;
        let filter = |qb: &mut QueryBuilder<'_, Sqlite>| {
            push_key_filter(qb, org_id, &f.name_contains, f.created_from, f.created_to)
        };
        self.paged("client_tokens", filter, &order, query.page, token_from)
            .await
    }

    async fn update_client_token(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &ClientTokenChange,
    ) -> StoreResult<ClientToken> {
        let change = change.clone();
        self.writes
            .run(move |conn| {
                Box::pin(async move {
                    let row = sqlx::query(RENAME)
                        .bind(change.name.as_str())
                        .bind(change.name.folded())
                        .bind(change.name.unique())
                        .bind(change.modified_by.to_string())
                        .bind(change.modified_at)
                        .bind(change.expires_at.is_some())
                        .bind(change.expires_at.flatten())
                        .bind(org_id.to_string())
                        .bind(id.to_string())
                        .fetch_one(&mut *conn)
                        .await?;
                    token_from(&row)
                })
            })
            .await
    }

    async fn delete_client_token(&self, org_id: Uuid, id: Uuid) -> StoreResult<()> {
        self.delete_row("client_tokens", org_id, id).await
    }
}
