//! Rows to domain values, and the WHERE clauses of the lists.

use crate::domain::api_key::{ApiKey, ApiKeyQuery};
use crate::domain::application_key::{ApplicationKey, ApplicationKeyQuery};
use crate::domain::credential::{Change, ChangeKind};
use crate::domain::name::fold;
use crate::domain::org::Org;
use crate::domain::secret::KeyDigest;
use crate::domain::user::{User, UserQuery, UserStatus};
use crate::store::role_rows::parse_roles;
pub(super) use crate::store::role_rows::roles_text;
use crate::store::{StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

pub(super) fn to_u64(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0)
}

pub(super) fn to_i64(limit: u64) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

pub(super) fn digest_of(bytes: Vec<u8>) -> StoreResult<KeyDigest> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| StoreError::Backend("digest is not 32 bytes".into()))?;
    Ok(KeyDigest(arr))
}

fn digest_col(row: &PgRow) -> StoreResult<KeyDigest> {
    digest_of(row.try_get("digest")?)
}

pub(super) fn scopes_json(scopes: &Option<Vec<String>>) -> StoreResult<Option<String>> {
    scopes
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Backend(e.to_string()))
}

pub(super) fn org_from(row: &PgRow) -> StoreResult<Org> {
    Ok(Org {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        one_time_read: row.try_get("one_time_read")?,
        created_at: row.try_get("created_at")?,
        num: crate::store::org_num(row.try_get("num")?)?,
    })
}

pub(super) fn user_from(row: &PgRow) -> StoreResult<User> {
    let roles = parse_roles(&row.try_get::<String, _>("roles")?)?;
    let status: String = row.try_get("status")?;
    Ok(User {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        handle: row.try_get("handle")?,
        title: row.try_get("title")?,
        roles,
        status: UserStatus::parse(&status)
            .ok_or_else(|| StoreError::Backend(format!("status {status}")))?,
        service_account: row.try_get("service_account")?,
        password_hash: row.try_get("password_hash")?,
        created_at: row.try_get("created_at")?,
        modified_at: row.try_get("modified_at")?,
    })
}

pub(super) fn api_key_from(row: &PgRow) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        name: row.try_get("name")?,
        digest: digest_col(row)?,
        sealed_key: row.try_get("sealed_key")?,
        last4: row.try_get("last4")?,
        category: row.try_get("category")?,
        remote_config_read_enabled: row.try_get("remote_config_read_enabled")?,
        created_by: row.try_get("created_by")?,
        modified_by: row.try_get("modified_by")?,
        created_at: row.try_get("created_at")?,
        modified_at: row.try_get("modified_at")?,
        date_last_used: row.try_get("date_last_used")?,
    })
}

pub(super) fn app_key_from(row: &PgRow) -> StoreResult<ApplicationKey> {
    let scopes: Option<String> = row.try_get("scopes")?;
    let scopes = scopes
        .map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Backend(e.to_string())))
        .transpose()?;
    Ok(ApplicationKey {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        owner_id: row.try_get("owner_id")?,
        name: row.try_get("name")?,
        digest: digest_col(row)?,
        sealed_key: row.try_get("sealed_key")?,
        last4: row.try_get("last4")?,
        scopes,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

pub(super) fn change_from(row: &PgRow) -> StoreResult<Change> {
    let kind: String = row.try_get("kind")?;
    let digest: Option<Vec<u8>> = row.try_get("digest")?;
    Ok(Change {
        seq: row.try_get("seq")?,
        kind: ChangeKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("change kind {kind}")))?,
        org_id: row.try_get("org_id")?,
        id: row.try_get("id")?,
        digest: digest.map(digest_of).transpose()?,
    })
}

/// `AND <column> contains <needle>`. PostgreSQL text cannot hold NUL, so a needle with one
/// (which SQLite would just fail to find) matches nothing instead of failing the query.
fn push_contains(qb: &mut QueryBuilder<'_, Postgres>, column: &str, needle: String) {
    if needle.contains('\0') {
        qb.push(" AND FALSE");
    } else {
        qb.push(format!(" AND strpos({column}, "))
            .push_bind(needle)
            .push(") > 0");
    }
}

/// The WHERE clause both key lists share: organization, name substring, creation window.
pub(super) fn push_key_filter(
    qb: &mut QueryBuilder<'_, Postgres>,
    org_id: Uuid,
    name_contains: &Option<String>,
    created_from: Option<i64>,
    created_to: Option<i64>,
) {
    qb.push(" WHERE org_id = ").push_bind(org_id);
    if let Some(needle) = name_contains {
        push_contains(qb, "name_folded", fold(needle));
    }
    if let Some(t) = created_from {
        qb.push(" AND created_at >= ").push_bind(t);
    }
    if let Some(t) = created_to {
        qb.push(" AND created_at <= ").push_bind(t);
    }
}

pub(super) fn push_api_key_filter(
    qb: &mut QueryBuilder<'_, Postgres>,
    org_id: Uuid,
    query: &ApiKeyQuery,
) {
    let f = &query.filter;
    push_key_filter(qb, org_id, &f.name_contains, f.created_from, f.created_to);
    if let Some(t) = f.modified_from {
        qb.push(" AND modified_at >= ").push_bind(t);
    }
    if let Some(t) = f.modified_to {
        qb.push(" AND modified_at <= ").push_bind(t);
    }
    if let Some(b) = f.remote_config_read_enabled {
        qb.push(" AND remote_config_read_enabled = ").push_bind(b);
    }
    if let Some(c) = &f.category {
        if c.contains('\0') {
            qb.push(" AND FALSE");
        } else {
            qb.push(" AND category = ").push_bind(c.clone());
        }
    }
}

pub(super) fn push_app_key_filter(
    qb: &mut QueryBuilder<'_, Postgres>,
    org_id: Uuid,
    query: &ApplicationKeyQuery,
) {
    let f = &query.filter;
    push_key_filter(qb, org_id, &f.name_contains, f.created_from, f.created_to);
    if let Some(owner) = f.owner_id {
        qb.push(" AND owner_id = ").push_bind(owner);
    }
}

/// SQLite's `lower()` folds ASCII letters only; `lower()` under the "C" collation does the
/// same, so user names filter and sort alike on both backends.
pub(super) const USER_NAME_FOLDED: &str = "lower(coalesce(name, '') COLLATE \"C\")";

pub(super) fn push_user_filter(
    qb: &mut QueryBuilder<'_, Postgres>,
    org_id: Uuid,
    query: &UserQuery,
) {
    qb.push(" WHERE org_id = ").push_bind(org_id);
    if let Some(needle) = query.filter.as_deref().map(fold) {
        if needle.contains('\0') {
            qb.push(" AND FALSE");
        } else {
            qb.push(format!(" AND (strpos({USER_NAME_FOLDED}, "))
                .push_bind(needle.clone())
                .push(") > 0 OR strpos(email, ")
                .push_bind(needle)
                .push(") > 0)");
        }
    }
    if !query.statuses.is_empty() {
        qb.push(" AND status IN (");
        let mut list = qb.separated(", ");
        for status in &query.statuses {
            list.push_bind(status.as_str());
        }
        qb.push(")");
    }
}
