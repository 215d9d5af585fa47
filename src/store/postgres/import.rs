//! Batches copied from another installation (`keyplane migrate`): one transaction and one
//! multi-row INSERT per batch instead of a commit per row. The triggers still count and log
//! each row.

use super::PostgresStore;
use crate::domain::api_key::ApiKey;
use crate::domain::application_key::ApplicationKey;
use crate::domain::client_token::ClientToken;
use crate::domain::name::{fold, unique_name};
use crate::domain::user::User;
use crate::store::application_keys::scopes_json;
use crate::store::users::roles_text;
use crate::store::{api_keys, application_keys, client_tokens, users, ImportStore, StoreResult};
use async_trait::async_trait;
use sqlx::query_builder::Separated;
use sqlx::{Postgres, QueryBuilder};

/// Rows per statement: PostgreSQL takes at most 65,535 parameters, and a key row has 14.
const ROWS_PER_INSERT: usize = 1000;

/// The binds of one row of a batch, in the order of its `INSERT_COLUMNS`.
type Row<'q, 'a> = Separated<'q, 'a, Postgres, &'static str>;

impl PostgresStore {
    /// Inserts `rows` under `columns`, a batch a statement, in one write transaction.
    async fn insert_batches<'a, T: Sync>(
        &self,
        columns: &'static str,
        rows: &'a [T],
        push_row: impl Fn(Row<'_, 'a>, &'a T) + Send + Sync,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut qb = QueryBuilder::<Postgres>::new(columns);
            qb.push_values(chunk, &push_row);
            qb.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl ImportStore for PostgresStore {
    async fn import_users(&self, users: &[User]) -> StoreResult<()> {
        self.insert_batches(users::INSERT_COLUMNS, users, |mut row, user| {
            row.push_bind(user.id)
                .push_bind(user.org_id)
                .push_bind(&user.email)
                .push_bind(&user.name)
                .push_bind(&user.handle)
                .push_bind(&user.title)
                .push_bind(roles_text(&user.roles))
                .push_bind(user.status.as_str())
                .push_bind(user.disabled())
                .push_bind(user.service_account)
                .push_bind(&user.password_hash)
                .push_bind(user.created_at)
                .push_bind(user.modified_at);
        })
        .await
    }

    async fn import_api_keys(&self, keys: &[ApiKey]) -> StoreResult<()> {
        self.insert_batches(api_keys::INSERT_COLUMNS, keys, |mut row, key| {
            row.push_bind(key.id)
                .push_bind(key.org_id)
                .push_bind(&key.name)
                .push_bind(fold(&key.name))
                .push_bind(unique_name(&key.name))
                .push_bind(key.digest.0.to_vec())
                .push_bind(&key.sealed_key)
                .push_bind(&key.last4)
                .push_bind(&key.category)
                .push_bind(key.remote_config_read_enabled)
                .push_bind(key.created_by)
                .push_bind(key.modified_by)
                .push_bind(key.created_at)
                .push_bind(key.modified_at)
                .push_bind(key.date_last_used)
                .push_bind(key.expires_at);
        })
        .await
    }

    async fn import_application_keys(&self, keys: &[ApplicationKey]) -> StoreResult<()> {
        let rows = keys
            .iter()
            .map(|k| Ok((k, scopes_json(&k.scopes)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        self.insert_batches(
            application_keys::INSERT_COLUMNS,
            &rows,
            |mut row, (key, scopes)| {
                row.push_bind(key.id)
                    .push_bind(key.org_id)
                    .push_bind(key.owner_id)
                    .push_bind(&key.name)
                    .push_bind(fold(&key.name))
                    .push_bind(unique_name(&key.name))
                    .push_bind(key.digest.0.to_vec())
                    .push_bind(&key.sealed_key)
                    .push_bind(&key.last4)
                    .push_bind(scopes)
                    .push_bind(key.created_at)
                    .push_bind(key.last_used_at)
                    .push_bind(key.expires_at);
            },
        )
        .await
    }

    async fn import_client_tokens(&self, tokens: &[ClientToken]) -> StoreResult<()> {
        self.insert_batches(client_tokens::INSERT_COLUMNS, tokens, |mut row, token| {
            row.push_bind(token.id)
                .push_bind(token.org_id)
                .push_bind(&token.name)
                .push_bind(fold(&token.name))
                .push_bind(unique_name(&token.name))
                .push_bind(token.digest.0.to_vec())
                .push_bind(&token.sealed_key)
                .push_bind(&token.last4)
                .push_bind(token.created_by)
                .push_bind(token.modified_by)
                .push_bind(token.created_at)
                .push_bind(token.modified_at)
                .push_bind(token.expires_at);
        })
        .await
    }
}
