//! Datadog API v2: JSON:API resources.

pub mod api_keys;
pub mod application_keys;
pub mod audit;
pub mod client_tokens;
pub mod current_user;
pub mod key_expiry;
pub mod leaked_credentials;
pub mod org_configs;
pub mod permissions;
pub mod personal_access_tokens;
pub mod role_users;
pub mod roles;
pub mod rotation;
pub mod service_account_tokens;
pub mod service_accounts;
pub mod user_invitations;
pub mod users;

use crate::auth::Caller;
use crate::domain::principal::Principal;
use crate::error::Result;
use crate::http::jsonapi::Included;
use crate::service::Services;
use axum::Json;
use serde_json::{json, Value};
use uuid::Uuid;

/// The users that `include=created_by,modified_by` asks for, given each record's creator and
/// last modifier (the store returns each user once).
pub(crate) async fn creators_included(
    services: &Services,
    who: &Principal,
    records: impl Iterator<Item = (Uuid, Option<Uuid>)>,
    include: &[String],
) -> Result<Option<Vec<Included>>> {
    if include.is_empty() {
        return Ok(None);
    }
    let ids: Vec<Uuid> = records
        .flat_map(|(created_by, modified_by)| {
            include.iter().filter_map(move |item| match item.as_str() {
                "created_by" => Some(created_by),
                _ => modified_by,
            })
        })
        .collect();
    let users = services.users_by_ids(who.org_id, &ids).await?;
    Ok(Some(Included::users(&users)))
}

/// `GET /api/v2/validate`: the API key's organization, id and scopes, as the client
/// libraries model it (`ValidateV2Response`). Remote Configuration is the one scope an API
/// key carries.
pub async fn validate(
    axum::extract::State(services): axum::extract::State<Services>,
    crate::auth::ValidApiKey(key): crate::auth::ValidApiKey,
) -> Result<Json<Value>> {
    let record = services
        .store
        .get_api_key(key.org_id, key.id)
        .await
        .map_err(crate::service::unexpected)?;
    let scopes: Vec<&str> = if record.remote_config_read_enabled {
        vec!["remote_config_read"]
    } else {
        Vec::new()
    };
    Ok(Json(json!({
        "data": {
            "id": key.org_id,
            "type": "validate_v2",
            "attributes": {"api_key_id": key.id, "api_key_scopes": scopes, "valid": true}
        }
    })))
}

/// `GET /api/v2/validate_keys`: the key pair (or a token alone) is valid.
pub async fn validate_keys(_: Caller) -> Json<Value> {
    Json(json!({"status": "ok"}))
}
