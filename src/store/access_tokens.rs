//! Personal and service-account access tokens: what a backend stores of them, their row, and
//! the WHERE clause and sort of their list, the same on both backends.

use super::columns::{push_key_filter, Columns, Dialect};
use super::{StoreError, StoreResult};
use crate::domain::access_token::{
    AccessToken, AccessTokenChange, AccessTokenQuery, AccessTokenSortField, TokenKind,
};
use crate::domain::credential::AccessTokenEntry;
use crate::domain::secret::KeyDigest;
use async_trait::async_trait;
use sqlx::QueryBuilder;
use uuid::Uuid;

#[async_trait]
pub trait AccessTokenStore: Send + Sync {
    async fn create_access_token(&self, token: &AccessToken) -> StoreResult<()>;
    async fn get_access_token(&self, org_id: Uuid, id: Uuid) -> StoreResult<AccessToken>;
    async fn find_access_token(&self, digest: &KeyDigest) -> StoreResult<Option<AccessToken>>;
    async fn list_access_tokens(
        &self,
        org_id: Uuid,
        query: &AccessTokenQuery,
    ) -> StoreResult<(Vec<AccessToken>, u64)>;
    /// Renames or rescopes the token, stamping `modified_at`.
    async fn update_access_token(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &AccessTokenChange,
        modified_at: i64,
    ) -> StoreResult<AccessToken>;
    async fn delete_access_token(&self, org_id: Uuid, id: Uuid) -> StoreResult<()>;
    /// Index entries in id order after `after`, at most `limit` (a node's start).
    async fn access_token_entries(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<(KeyDigest, AccessTokenEntry)>>;
    /// Records when tokens were last used; `(id, micros)` pairs, never moving backwards.
    async fn record_token_usage(&self, used: &[(Uuid, i64)]) -> StoreResult<()>;
}

pub(super) const INSERT: &str = "INSERT INTO access_tokens (id, org_id, owner_id, kind, name, \
     name_folded, digest, scopes, created_at, expires_at, modified_at, last_used_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
pub(super) const GET: &str = "SELECT * FROM access_tokens WHERE org_id = $1 AND id = $2";
pub(super) const BY_DIGEST: &str = "SELECT * FROM access_tokens WHERE digest = $1";
pub(super) const UPDATE: &str = "UPDATE access_tokens SET name = $1, name_folded = $2, \
     scopes = $3, modified_at = $4 WHERE org_id = $5 AND id = $6";
pub(super) fn scopes_json(scopes: &[String]) -> StoreResult<String> {
    serde_json::to_string(scopes).map_err(|e| StoreError::Backend(e.to_string()))
}

pub(super) fn token_from<R: Columns>(row: &R) -> StoreResult<AccessToken> {
    let kind = row.text("kind")?;
    let scopes = row.text("scopes")?;
    Ok(AccessToken {
        id: row.uuid("id")?,
        org_id: row.uuid("org_id")?,
        owner_id: row.uuid("owner_id")?,
        kind: TokenKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("token kind {kind}")))?,
        name: row.text("name")?,
        digest: row.digest()?,
        scopes: serde_json::from_str(&scopes).map_err(|e| StoreError::Backend(e.to_string()))?,
        created_at: row.int("created_at")?,
        expires_at: row.opt_int("expires_at")?,
        modified_at: row.opt_int("modified_at")?,
        last_used_at: row.opt_int("last_used_at")?,
    })
}

/// The index entry of a token row.
pub(super) fn entry_from<R: Columns>(row: &R) -> StoreResult<(KeyDigest, AccessTokenEntry)> {
    let token = token_from(row)?;
    Ok((token.digest, AccessTokenEntry::from(&token)))
}

/// `token` as `change` leaves it (the store writes name and scopes back whole).
pub(super) fn apply(token: &mut AccessToken, change: &AccessTokenChange, modified_at: i64) {
    if let Some(name) = &change.name {
        token.name = name.as_str().to_owned();
    }
    if let Some(scopes) = &change.scopes {
        token.scopes = scopes.clone();
    }
    token.modified_at = Some(modified_at);
}

/// The sort expression: tokens that never expire or were never used sort after the others
/// ascending, the same on both backends (which order NULLs differently).
pub(super) fn sort_column(field: AccessTokenSortField) -> &'static str {
    match field {
        AccessTokenSortField::Name => "name_folded",
        AccessTokenSortField::CreatedAt => "created_at",
        AccessTokenSortField::ExpiresAt => "COALESCE(expires_at, 9223372036854775807)",
        AccessTokenSortField::LastUsedAt => "COALESCE(last_used_at, 9223372036854775807)",
    }
}

/// The WHERE clause of a token list; shared by the page and its count.
pub(super) fn push_filter<D: Dialect>(
    qb: &mut QueryBuilder<'_, D>,
    org_id: Uuid,
    query: &AccessTokenQuery,
) {
    let f = &query.filter;
    push_key_filter(qb, org_id, &f.name_contains, None, None);
    if !f.owners.is_empty() {
        qb.push(" AND owner_id IN (");
        for (i, owner) in f.owners.iter().enumerate() {
            if i > 0 {
                qb.push(", ");
            }
            D::push_id(qb, *owner);
        }
        qb.push(")");
    }
    if let Some(kind) = f.kind {
        qb.push(" AND kind = ");
        D::push_text(qb, kind.as_str());
    }
}
