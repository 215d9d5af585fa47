//! Client tokens: what a backend stores of them, their row and statements, the same on both
//! backends (the shape of API keys, without limits or usage).

use super::columns::Columns;
use super::StoreResult;
use crate::domain::client_token::{
    ClientToken, ClientTokenChange, ClientTokenQuery, ClientTokenSortField,
};
use crate::domain::secret::KeyDigest;
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
pub trait ClientTokenStore: Send + Sync {
    async fn create_client_token(&self, token: &ClientToken) -> StoreResult<()>;
    async fn get_client_token(&self, org_id: Uuid, id: Uuid) -> StoreResult<ClientToken>;
    async fn find_client_token(&self, digest: &KeyDigest) -> StoreResult<Option<ClientToken>>;
    /// The organization's tokens among `ids`, in no particular order; unknown ids are skipped.
    async fn client_tokens_by_ids(
        &self,
        org_id: Uuid,
        ids: &[Uuid],
    ) -> StoreResult<Vec<ClientToken>>;
    /// One page of tokens and the number the filter matched (the SQL rule the credential
    /// index's lists follow; copies between stores page with it).
    async fn list_client_tokens(
        &self,
        org_id: Uuid,
        query: &ClientTokenQuery,
    ) -> StoreResult<(Vec<ClientToken>, u64)>;
    async fn update_client_token(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &ClientTokenChange,
    ) -> StoreResult<ClientToken>;
    async fn delete_client_token(&self, org_id: Uuid, id: Uuid) -> StoreResult<()>;
}

/// The columns of `INSERT`, for the batched inserts of an import.
pub(super) const INSERT_COLUMNS: &str = "INSERT INTO client_tokens (id, org_id, name, \
     name_folded, unique_name, digest, sealed_key, last4, created_by, modified_by, \
     created_at, modified_at, expires_at) ";
pub(super) const INSERT: &str = "INSERT INTO client_tokens (id, org_id, name, name_folded, \
     unique_name, digest, sealed_key, last4, created_by, modified_by, created_at, \
     modified_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
pub(super) const GET: &str = "SELECT * FROM client_tokens WHERE org_id = $1 AND id = $2";
pub(super) const BY_DIGEST: &str = "SELECT * FROM client_tokens WHERE digest = $1";
pub(super) const RENAME: &str = "UPDATE client_tokens SET name = $1, name_folded = $2, \
     unique_name = $3, modified_by = $4, modified_at = $5, \
     expires_at = CASE WHEN $6 THEN $7 ELSE expires_at END \
     WHERE org_id = $8 AND id = $9 RETURNING *";

pub(super) fn token_from<R: Columns>(row: &R) -> StoreResult<ClientToken> {
    Ok(ClientToken {
        id: row.uuid("id")?,
        org_id: row.uuid("org_id")?,
        name: row.text("name")?,
        digest: row.digest()?,
        sealed_key: row.bytes("sealed_key")?,
        last4: row.text("last4")?,
        created_by: row.uuid("created_by")?,
        modified_by: row.opt_uuid("modified_by")?,
        created_at: row.int("created_at")?,
        modified_at: row.int("modified_at")?,
        expires_at: row.opt_int("expires_at")?,
    })
}

pub(super) fn sort_column(field: ClientTokenSortField) -> &'static str {
    match field {
        ClientTokenSortField::CreatedAt => "created_at",
        ClientTokenSortField::Last4 => "last4",
        ClientTokenSortField::ModifiedAt => "modified_at",
        ClientTokenSortField::Name => "name_folded",
    }
}
