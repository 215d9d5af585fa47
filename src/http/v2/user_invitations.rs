//! `/api/v2/user_invitations` and `DELETE /api/v2/users/{id}/invitations`. keyplane sends no
//! email: the response is Datadog's, without the link; the console and `keyplane admin
//! invite` show the link to whoever invites.

use crate::auth::Caller;
use crate::domain::invitation::Invitation;
use crate::domain::time;
use crate::error::{Error, Result};
use crate::http::extract::{object, ApiJson, ApiPath, Object};
use crate::http::jsonapi::expect_type;
use crate::service::Services;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const TYPE: &str = "user_invitations";

#[derive(Deserialize)]
pub struct SendRequest {
    data: Vec<Object<InvitationData>>,
}

#[derive(Deserialize)]
struct InvitationData {
    #[serde(rename = "type")]
    kind: String,
    #[serde(deserialize_with = "object")]
    relationships: InvitationRelationships,
}

#[derive(Deserialize)]
struct InvitationRelationships {
    #[serde(deserialize_with = "object")]
    user: UserLink,
}

#[derive(Deserialize)]
struct UserLink {
    #[serde(deserialize_with = "object")]
    data: Linkage,
}

#[derive(Deserialize, Serialize)]
struct Linkage {
    id: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize)]
pub(crate) struct Resource {
    #[serde(rename = "type")]
    kind: &'static str,
    id: Uuid,
    attributes: Attributes,
    relationships: Relationships,
}

#[derive(Serialize)]
struct Attributes {
    uuid: Uuid,
    login_method: Option<String>,
    invite_type: &'static str,
    created_at: String,
    expires_at: String,
}

#[derive(Serialize)]
struct Relationships {
    user: UserRelationship,
}

#[derive(Serialize)]
struct UserRelationship {
    data: Linkage,
}

impl From<&Invitation> for Resource {
    fn from(inv: &Invitation) -> Self {
        Resource {
            kind: TYPE,
            id: inv.id,
            attributes: Attributes {
                uuid: inv.id,
                login_method: None,
                invite_type: inv.invite_type.as_str(),
                created_at: time::format(inv.created_at),
                expires_at: time::format(inv.expires_at),
            },
            relationships: Relationships {
                user: UserRelationship {
                    data: Linkage {
                        id: inv.user_id.to_string(),
                        kind: super::users::TYPE.to_owned(),
                    },
                },
            },
        }
    }
}

/// The users a send request names, in order.
pub(crate) fn parse_send(body: SendRequest) -> Result<Vec<Uuid>> {
    body.data
        .into_iter()
        .map(|Object(item)| {
            expect_type(&item.kind, TYPE)?;
            let link = item.relationships.user.data;
            expect_type(&link.kind, super::users::TYPE)?;
            Uuid::parse_str(&link.id)
                .map_err(|_| Error::invalid(format!("User {} not found", link.id)))
        })
        .collect()
}

pub async fn send(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiJson(body): ApiJson<SendRequest>,
) -> Result<Response> {
    let ids = parse_send(body)?;
    let sent = services.send_invitations(&who, &ids).await?;
    let data: Vec<Resource> = sent.iter().map(|s| (&s.invitation).into()).collect();
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "data": data })),
    )
        .into_response())
}

pub async fn get(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    let id = Uuid::parse_str(&id)
        .map_err(|_| Error::NotFoundText(format!("Invitation {id} not found")))?;
    let invitation = services.get_invitation(&who, id).await?;
    let data = Resource::from(&invitation);
    Ok(Json(serde_json::json!({ "data": data })).into_response())
}

/// Datadog answers 200 with no documented body; an empty object parses in every client.
pub async fn cancel(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    let id = Uuid::parse_str(&id).map_err(|_| Error::NotFoundText(format!("{id} not found")))?;
    services.cancel_invitations(&who, id).await?;
    Ok(Json(serde_json::json!({})).into_response())
}
