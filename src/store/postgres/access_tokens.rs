//! Access tokens on PostgreSQL: each write in a transaction holding the write lock.

use super::usage::record_last_used;
use super::PostgresStore;
use crate::domain::access_token::{AccessToken, AccessTokenChange, AccessTokenQuery};
use crate::domain::credential::AccessTokenEntry;
use crate::domain::name::fold;
use crate::domain::secret::KeyDigest;
use crate::store::access_tokens::{
    apply, entry_from, push_filter, scopes_json, sort_column, token_from, BY_DIGEST, GET, INSERT,
    UPDATE,
};
use crate::store::columns::order_by;
use crate::store::{AccessTokenStore, StoreResult};
use async_trait::async_trait;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

#[async_trait]
impl AccessTokenStore for PostgresStore {
    async fn create_access_token(&self, token: &AccessToken) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(INSERT)
            .bind(token.id)
            .bind(token.org_id)
            .bind(token.owner_id)
            .bind(token.kind.as_str())
            .bind(&token.name)
            .bind(fold(&token.name))
            .bind(token.digest.0.as_slice())
            .bind(scopes_json(&token.scopes)?)
            .bind(token.created_at)
            .bind(token.expires_at)
            .bind(token.modified_at)
            .bind(token.last_used_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_access_token(&self, org_id: Uuid, id: Uuid) -> StoreResult<AccessToken> {
        let row = sqlx::query(GET)
            .bind(org_id)
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        token_from(&row)
    }

    async fn find_access_token(&self, digest: &KeyDigest) -> StoreResult<Option<AccessToken>> {
        let row = sqlx::query(BY_DIGEST)
            .bind(digest.0.as_slice())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(token_from).transpose()
    }

    async fn list_access_tokens(
        &self,
        org_id: Uuid,
        query: &AccessTokenQuery,
    ) -> StoreResult<(Vec<AccessToken>, u64)> {
        let order = order_by(sort_column(query.sort.field), query.sort.descending);
        let filter = |qb: &mut QueryBuilder<'_, Postgres>| push_filter(qb, org_id, query);
        self.paged("access_tokens", filter, &order, query.page, token_from)
            .await
    }

    async fn update_access_token(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &AccessTokenChange,
        modified_at: i64,
    ) -> StoreResult<AccessToken> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(GET)
            .bind(org_id)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let mut token = token_from(&row)?;
        apply(&mut token, change, modified_at);
        sqlx::query(UPDATE)
            .bind(&token.name)
            .bind(fold(&token.name))
            .bind(scopes_json(&token.scopes)?)
            .bind(modified_at)
            .bind(org_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    async fn delete_access_token(&self, org_id: Uuid, id: Uuid) -> StoreResult<()> {
        self.delete_row("access_tokens", org_id, id).await
    }

    async fn access_token_entries(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(KeyDigest, AccessTokenEntry)>> {
        let rows = self.page_by_id("access_tokens", after, limit).await?;
        rows.iter().map(entry_from).collect()
    }

    async fn record_token_usage(&self, used: &[(Uuid, i64)]) -> StoreResult<()> {
        // Under the write lock, as key usage is: deletes lock these rows too.
        let mut tx = self.begin_write().await?;
        record_last_used(&mut tx, "access_tokens", "last_used_at", used).await?;
        tx.commit().await?;
        Ok(())
    }
}
