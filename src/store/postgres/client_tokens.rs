//! Client tokens on PostgreSQL: the same shape as API keys, without limits or usage.

use super::rows::{digest_of, push_key_filter};
use super::{direction, PostgresStore};
use crate::domain::client_token::{
    ClientToken, ClientTokenChange, ClientTokenQuery, ClientTokenSortField,
};
use crate::domain::name::{fold, unique_name};
use crate::domain::secret::KeyDigest;
use crate::store::{StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

fn token_from(row: &PgRow) -> StoreResult<ClientToken> {
    Ok(ClientToken {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        name: row.try_get("name")?,
        digest: digest_of(row.try_get("digest")?)?,
        sealed_key: row.try_get("sealed_key")?,
        last4: row.try_get("last4")?,
        created_by: row.try_get("created_by")?,
        modified_by: row.try_get("modified_by")?,
        created_at: row.try_get("created_at")?,
        modified_at: row.try_get("modified_at")?,
    })
}

impl PostgresStore {
    pub(super) async fn insert_client_token(&self, token: &ClientToken) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO client_tokens (id, org_id, name, name_folded, digest, sealed_key, \
             last4, created_by, modified_by, created_at, modified_at, unique_name) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(token.id)
        .bind(token.org_id)
        .bind(&token.name)
        .bind(fold(&token.name))
        .bind(token.digest.0.as_slice())
        .bind(&token.sealed_key)
        .bind(&token.last4)
        .bind(token.created_by)
        .bind(token.modified_by)
        .bind(token.created_at)
        .bind(token.modified_at)
        .bind(unique_name(&token.name))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn client_token(&self, org_id: Uuid, id: Uuid) -> StoreResult<ClientToken> {
        let row = sqlx::query("SELECT * FROM client_tokens WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        token_from(&row)
    }

    pub(super) async fn client_token_by_digest(
        &self,
        digest: &KeyDigest,
    ) -> StoreResult<Option<ClientToken>> {
        let row = sqlx::query("SELECT * FROM client_tokens WHERE digest = $1")
            .bind(digest.0.as_slice())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(token_from).transpose()
    }

    pub(super) async fn client_token_page(
        &self,
        org_id: Uuid,
        query: &ClientTokenQuery,
    ) -> StoreResult<(Vec<ClientToken>, u64)> {
        let column = match query.sort.field {
            ClientTokenSortField::CreatedAt => "created_at",
            ClientTokenSortField::Last4 => "last4",
            ClientTokenSortField::ModifiedAt => "modified_at",
            ClientTokenSortField::Name => "name_folded",
        };
        let f = &query.filter;
        let filter = |qb: &mut QueryBuilder<'_, Postgres>| {
            push_key_filter(qb, org_id, &f.name_contains, f.created_from, f.created_to)
        };
        let sort = direction(&query.sort);
        self.paged(
            "client_tokens",
            filter,
            column,
            sort,
            query.page,
            token_from,
        )
        .await
    }

    pub(super) async fn rename_client_token(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &ClientTokenChange,
    ) -> StoreResult<ClientToken> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE client_tokens SET name = $1, name_folded = $2, modified_by = $3, \
             modified_at = $4, unique_name = $7 WHERE org_id = $5 AND id = $6 RETURNING *",
        )
        .bind(change.name.as_str())
        .bind(change.name.folded())
        .bind(change.modified_by)
        .bind(change.modified_at)
        .bind(org_id)
        .bind(id)
        .bind(change.name.unique())
        .fetch_one(&mut *tx)
        .await?;
        let token = token_from(&row)?;
        tx.commit().await?;
        Ok(token)
    }

    pub(super) async fn remove_client_token(&self, org_id: Uuid, id: Uuid) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM client_tokens WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }
}
