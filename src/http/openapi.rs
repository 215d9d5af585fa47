//! `GET /api/openapi.yaml`: the OpenAPI 3 document of every route, embedded at build time.
//! `tests/api/openapi.rs` checks it against the route table, and the schemathesis run fuzzes
//! the server with it.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

pub const DOCUMENT: &str = include_str!("../../openapi/keyplane.yaml");

pub async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/yaml")], DOCUMENT)
}
