//! `GET /api/v2/audit/events`: the organization's audit trail, newest first.

use crate::auth::Caller;
use crate::domain::audit::{Action, AuditQuery, AuditRecord, Via};
use crate::domain::time;
use crate::error::{Error, Result};
use crate::http::jsonapi::{ListDocument, PageMeta};
use crate::http::params::QueryParams;
use crate::service::Services;
use axum::extract::{RawQuery, State};
use axum::Json;
use serde::Serialize;
use uuid::Uuid;

const TYPE: &str = "audit_events";

#[derive(Serialize)]
pub struct Resource {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    attributes: Attributes,
}

#[derive(Serialize)]
struct Attributes {
    timestamp: String,
    action: &'static str,
    org_id: Option<Uuid>,
    /// The user or service account that acted; null for the operator's CLI.
    actor_id: Option<Uuid>,
    target_id: Option<Uuid>,
    source: Option<String>,
    /// `key`, `token`, `session` or `cli`: the kind of credential that acted.
    via: Option<&'static str>,
    app_key_id: Option<Uuid>,
    access_token_id: Option<Uuid>,
    /// The session's audit reference, never its token.
    session_id: Option<Uuid>,
    /// Hex HMAC-SHA-256 chaining this record to the previous one.
    hash: String,
    prev_hash: String,
}

#[derive(Serialize)]
pub struct Meta {
    page: PageMeta,
}

fn resource(record: &AuditRecord) -> Resource {
    let e = &record.event;
    Resource {
        kind: TYPE,
        id: record.seq.to_string(),
        attributes: Attributes {
            timestamp: time::format(e.at),
            action: e.action.as_str(),
            org_id: e.org_id,
            actor_id: e.actor_id,
            target_id: e.target_id,
            source: e.source.clone(),
            via: e.via.map(Via::as_str),
            app_key_id: e.credential_id.filter(|_| e.via == Some(Via::Key)),
            access_token_id: e.credential_id.filter(|_| e.via == Some(Via::Token)),
            session_id: e.credential_id.filter(|_| e.via == Some(Via::Session)),
            hash: hex::encode(record.hash),
            prev_hash: hex::encode(record.prev_hash),
        },
    }
}

pub async fn list(
    State(services): State<Services>,
    Caller(who): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<ListDocument<Resource, Meta>>> {
    let params = QueryParams::parse(query.as_deref());
    let action = params
        .get("filter[action]")
        .map(|a| Action::parse(a).ok_or_else(|| Error::invalid(format!("Unknown action: {a}"))))
        .transpose()?;
    let query = AuditQuery {
        from: params.date("filter[from]")?,
        to: params.date("filter[to]")?,
        actor_id: params.uuid("filter[actor]")?,
        target_id: params.uuid("filter[key]")?,
        action,
        page: params.page()?,
    };
    let (records, matched) = services.list_audit(&who, &query).await?;
    Ok(Json(ListDocument {
        data: records.iter().map(resource).collect(),
        included: None,
        meta: Meta {
            page: PageMeta {
                total_filtered_count: matched,
            },
        },
    }))
}
