//! `/api/v2/org_configs`: Datadog's organization settings, with One-Time Read mode among them.

use crate::auth::Caller;
use crate::domain::org_config::OrgConfig;
use crate::domain::time;
use crate::error::{Error, Result};
use crate::http::extract::{object, ApiJson, ApiPath};
use crate::http::jsonapi::expect_type;
use crate::service::Services;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

const TYPE: &str = "org_configs";

#[derive(Deserialize)]
pub struct UpdateRequest {
    #[serde(deserialize_with = "object")]
    data: UpdateData,
}

#[derive(Deserialize)]
struct UpdateData {
    #[serde(rename = "type")]
    kind: String,
    #[serde(deserialize_with = "object")]
    attributes: UpdateAttributes,
}

#[derive(Deserialize)]
struct UpdateAttributes {
    /// `Some(Value::Null)` for an explicit null, which no config takes.
    #[serde(default, deserialize_with = "crate::http::jsonapi::present")]
    value: Option<Option<Value>>,
}

#[derive(Serialize)]
struct Resource {
    #[serde(rename = "type")]
    kind: &'static str,
    id: Uuid,
    attributes: Attributes,
}

#[derive(Serialize)]
struct Attributes {
    name: &'static str,
    description: &'static str,
    value_type: &'static str,
    value: Value,
    modified_at: Option<String>,
}

impl From<OrgConfig> for Resource {
    fn from(config: OrgConfig) -> Self {
        Resource {
            kind: TYPE,
            id: config.def.id(),
            attributes: Attributes {
                name: config.def.name,
                description: config.def.description,
                value_type: config.def.value_type.as_str(),
                value: config.value,
                modified_at: config.modified_at.map(time::format),
            },
        }
    }
}

fn document(data: impl Serialize) -> Response {
    Json(serde_json::json!({ "data": data })).into_response()
}

pub async fn list(State(services): State<Services>, Caller(who): Caller) -> Result<Response> {
    let configs = services.org_configs(&who).await?;
    Ok(document(
        configs.into_iter().map(Resource::from).collect::<Vec<_>>(),
    ))
}

pub async fn get(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<Response> {
    Ok(document(Resource::from(
        services.org_config(&who, &name).await?,
    )))
}

pub async fn update(
    State(services): State<Services>,
    Caller(who): Caller,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateRequest>,
) -> Result<Response> {
    expect_type(&body.data.kind, TYPE)?;
    let value = body
        .data
        .attributes
        .value
        .ok_or_else(|| Error::invalid("Required parameter 'value' is missing"))?
        .unwrap_or(Value::Null);
    let config = services.set_org_config(&who, &name, value).await?;
    Ok(document(Resource::from(config)))
}
