//! `/api/v2/current_user` and `/api/v2/users/{user_id}/orgs`: a user with its organization,
//! its roles and what they grant, in `included` as Datadog sends them.

use super::users::{parse_update, user_id, UpdateRequest};
use crate::auth::Caller;
use crate::domain::org::Org;
use crate::domain::time;
use crate::domain::user::User;
use crate::error::Result;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::jsonapi::{Included, PermissionResource, RoleResource, UserResource};
use crate::service::Services;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

fn org_resource(org: &Org) -> Value {
    json!({
        "type": "orgs",
        "id": org.id,
        "attributes": {
            "public_id": org.id.simple().to_string(),
            "name": org.name,
            "description": null,
            "sharing": null,
            "url": null,
            "disabled": false,
            "created_at": time::format(org.created_at),
            "modified_at": time::format(org.created_at),
        }
    })
}

async fn profile(services: &Services, user: &User, org: &Org) -> Result<Json<Value>> {
    let roles = services.roles_by_ids(user.org_id, &user.roles).await?;
    let granted = services.index.permissions_of(user.org_id, &user.roles);
    let included: Vec<Included> = std::iter::once(Included::Org(org_resource(org)))
        .chain(
            roles
                .iter()
                .map(|r| Included::Role(RoleResource::new(r, None))),
        )
        .chain(
            PermissionResource::list(&granted)
                .into_iter()
                .map(Included::Permission),
        )
        .collect();
    Ok(Json(
        json!({"data": UserResource::current(user), "included": included}),
    ))
}

pub async fn get(State(services): State<Services>, Caller(who): Caller) -> Result<Json<Value>> {
    let (user, org) = services.current_user(&who).await?;
    profile(&services, &user, &org).await
}

/// The body's id must be the caller's (422 otherwise, as for users).
pub async fn update(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiJson(body): ApiJson<UpdateRequest>,
) -> Result<Json<Value>> {
    let change = parse_update(body, who.user_id)?;
    let (user, org) = services.update_current_user(&who, change).await?;
    profile(&services, &user, &org).await
}

/// `GET /api/v2/users/{user_id}/orgs`: the user, with its organization in `included`.
pub async fn orgs(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>> {
    let (user, org) = services.user_org(&who, user_id(&id)?).await?;
    Ok(Json(json!({
        "data": UserResource::from(&user),
        "included": [org_resource(&org)],
    })))
}
