//! The console's files, embedded at build time from `ui/`: no Node build, no CDN.

use crate::error::{Error, Result};
use crate::http::extract::ApiPath;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "ui/"]
struct Ui;

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

fn file(path: &str) -> Result<Response> {
    let found = Ui::get(path).ok_or(Error::NotFound("Not found"))?;
    Ok((
        [(CONTENT_TYPE, content_type(path))],
        found.data.into_owned(),
    )
        .into_response())
}

/// The console's one page; it routes by the URL fragment.
pub async fn index() -> Result<Response> {
    file("index.html")
}

/// `/ui/<file>`: scripts and styles the page loads.
pub async fn asset(ApiPath(path): ApiPath<String>) -> Result<Response> {
    if path == "index.html" {
        return Err(Error::NotFound("Not found"));
    }
    file(&path)
}
