//! `GET /api/v2/roles`: the managed roles, so clients can find the ids to assign.

use crate::auth::Caller;
use crate::domain::user::{Permission, Role};
use crate::error::Result;
use crate::http::jsonapi::RoleResource;
use crate::http::params::QueryParams;
use axum::extract::RawQuery;
use axum::Json;
use serde_json::{json, Value};

pub async fn list(Caller(who): Caller, RawQuery(query): RawQuery) -> Result<Json<Value>> {
    who.require(Permission::UserAccessRead)?;
    let params = QueryParams::parse(query.as_deref());
    let needle = params.get("filter").map(str::to_lowercase);
    let roles: Vec<RoleResource> = Role::ALL
        .into_iter()
        .filter(|r| {
            needle
                .as_ref()
                .is_none_or(|n| r.display_name().to_lowercase().contains(n))
        })
        .map(RoleResource::from)
        .collect();
    let count = roles.len();
    Ok(Json(json!({
        "data": roles,
        "meta": {"page": {"total_count": Role::ALL.len(), "total_filtered_count": count}}
    })))
}
