//! `POST /api/v2/credentials/leaked`: anyone who finds a credential in the open (a secret
//! scanner, a researcher, the key's own holder) reports it, without authenticating. The
//! answer is the same 202 whatever matched, so the endpoint cannot test whether a string
//! is a live key; each source is rate limited, as there is no organization to count.

use crate::auth::ClientAddr;
use crate::error::{Error, Result};
use crate::http::error::error_response;
use crate::http::extract::ApiJson;
use crate::http::jsonapi::{Body, NewResource};
use crate::http::rate_limit::put_headers;
use crate::service::Services;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

const TYPE: &str = "leaked_credentials";
const LIMIT_NAME: &str = "leaked_credentials";

pub type ReportRequest = Body<NewResource<Attributes>>;

#[derive(Deserialize)]
pub struct Attributes {
    candidates: Vec<String>,
    source: Option<String>,
}

/// The body is read after the source is counted, so malformed reports count too.
pub async fn report(
    State(services): State<Services>,
    ClientAddr(client): ClientAddr,
    body: std::result::Result<ApiJson<ReportRequest>, Error>,
) -> Result<Response> {
    let status = services.leak_reports.check(client);
    if !status.allowed {
        let mut refused = error_response(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many leak reports from this address; try again later",
        );
        put_headers(refused.headers_mut(), &status, LIMIT_NAME);
        return Ok(refused);
    }
    let ApiJson(body) = body?;
    let attrs = body.data.attributes(TYPE)?;
    services.report_leaks(&attrs.candidates, attrs.source.as_deref(), client)?;
    let answer = json!({
        "data": {
            "type": TYPE,
            "attributes": { "received": attrs.candidates.len() }
        }
    });
    let mut response = (StatusCode::ACCEPTED, Json(answer)).into_response();
    put_headers(response.headers_mut(), &status, LIMIT_NAME);
    Ok(response)
}
