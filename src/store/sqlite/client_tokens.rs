//! Client tokens on SQLite: the same shape as API keys, without limits or usage.

use super::{digest_col, direction, opt_uuid_col, push_key_filter, uuid_col, SqliteStore};
use crate::domain::client_token::{
    ClientToken, ClientTokenChange, ClientTokenQuery, ClientTokenSortField,
};
use crate::domain::name::{fold, unique_name};
use crate::domain::secret::KeyDigest;
use crate::store::StoreResult;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

fn token_from(row: &SqliteRow) -> StoreResult<ClientToken> {
    Ok(ClientToken {
        id: uuid_col(row, "id")?,
        org_id: uuid_col(row, "org_id")?,
        name: row.try_get("name")?,
        digest: digest_col(row)?,
        sealed_key: row.try_get("sealed_key")?,
        last4: row.try_get("last4")?,
        created_by: uuid_col(row, "created_by")?,
        modified_by: opt_uuid_col(row, "modified_by")?,
        created_at: row.try_get("created_at")?,
        modified_at: row.try_get("modified_at")?,
    })
}

impl SqliteStore {
    pub(super) async fn insert_client_token(&self, token: &ClientToken) -> StoreResult<()> {
        let token = token.clone();
        self.writes
            .run(move |conn| {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO client_tokens (id, org_id, name, name_folded, unique_name, \
                         digest, sealed_key, last4, created_by, modified_by, created_at, \
                         modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    )
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
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
                })
            })
            .await
    }

    pub(super) async fn client_token(&self, org_id: Uuid, id: Uuid) -> StoreResult<ClientToken> {
        let row = sqlx::query("SELECT * FROM client_tokens WHERE org_id = ? AND id = ?")
            .bind(org_id.to_string())
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await?;
        token_from(&row)
    }

    pub(super) async fn client_token_by_digest(
        &self,
        digest: &KeyDigest,
    ) -> StoreResult<Option<ClientToken>> {
        let row = sqlx::query("SELECT * FROM client_tokens WHERE digest = ?")
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
        let filter = |qb: &mut QueryBuilder<'_, Sqlite>| {
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
        let change = change.clone();
        self.writes
            .run(move |conn| {
                Box::pin(async move {
                    let row = sqlx::query(
                        "UPDATE client_tokens SET name = ?, name_folded = ?, unique_name = ?, \
                         modified_by = ?, \
                         modified_at = ? WHERE org_id = ? AND id = ? RETURNING *",
                    )
                    .bind(change.name.as_str())
                    .bind(change.name.folded())
                    .bind(change.name.unique())
                    .bind(change.modified_by.to_string())
                    .bind(change.modified_at)
                    .bind(org_id.to_string())
                    .bind(id.to_string())
                    .fetch_one(&mut *conn)
                    .await?;
                    let token = token_from(&row)?;
                    Ok(token)
                })
            })
            .await
    }

    pub(super) async fn remove_client_token(&self, org_id: Uuid, id: Uuid) -> StoreResult<()> {
        self.delete_row("client_tokens", org_id, id).await
    }
}
