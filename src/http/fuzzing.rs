//! Entry points for fuzzing: the parsing a handler does before it calls a use case, without a
//! server, store or credentials. They exist for the `cargo fuzz` targets in `fuzz/` and for
//! the bounded driver that runs the same targets on stable under `cargo test`
//! (`tests/api/fuzz.rs`); the service itself never calls them.
//!
//! A target panics when the code under test panics or breaks a rule it documents (a page size
//! out of range, a refusal that would not be a 4xx): that is what a fuzzer reports.

use super::console::session::SignIn;
use super::extract::Object;
use super::params::{QueryParams, APP_KEY_PAGE_SIZE, USER_MAX_PAGE_SIZE};
use super::v1::NameBody;
use super::v2::{api_keys, application_keys, client_tokens, service_accounts, users};
use crate::domain::list::{Page, MAX_PAGE_SIZE};
use crate::error::{Error, Result};
use crate::service::application_keys::Surface;
use axum::response::IntoResponse;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// The id in the path of the updates the body target stands in for. Seed inputs carry it,
/// so that their mutations get past the check that the body's id is the path's.
pub const PATH_ID: Uuid = Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0001);

/// Runs `bytes`, as a request body, through the JSON extractor and the parsing of every
/// route that takes a body. Returns how many of those routes accepted it.
pub fn request_body(bytes: &[u8]) -> usize {
    let accepted = [
        body(bytes, api_keys::parse_create),
        body(bytes, |b| api_keys::parse_update(b, PATH_ID)),
        body(bytes, client_tokens::parse_create),
        body(bytes, |b| client_tokens::parse_update(b, PATH_ID)),
        body(bytes, application_keys::parse_create),
        body(bytes, |b| application_keys::parse_update(b, PATH_ID)),
        body(bytes, users::parse_create),
        body(bytes, |b| users::parse_update(b, PATH_ID)),
        body(bytes, service_accounts::parse_create),
        body(bytes, |b: NameBody| b.name()),
        body(bytes, |b: SignIn| Ok(b)),
    ];
    accepted.into_iter().filter(|ok| *ok).count()
}

/// Runs `bytes`, as a raw query string, through the query parsing of every list. Returns
/// how many of the lists accepted it.
pub fn query_string(bytes: &[u8]) -> usize {
    // axum hands handlers the query as text; bytes that are not UTF-8 cannot arrive raw
    // (they come percent-encoded, which the lossy text keeps exercising).
    let raw = String::from_utf8_lossy(bytes);
    let params = QueryParams::parse(Some(&raw));
    let accepted = [
        page(
            api_keys::parse_list(&params).map(|(q, _)| q.page),
            MAX_PAGE_SIZE,
        ),
        page(
            client_tokens::parse_list(&params).map(|(q, _)| q.page),
            MAX_PAGE_SIZE,
        ),
        page(
            application_keys::parse_list(&params, Surface::Org).map(|q| q.page),
            APP_KEY_PAGE_SIZE,
        ),
        page(
            application_keys::parse_list(&params, Surface::CurrentUser).map(|q| q.page),
            APP_KEY_PAGE_SIZE,
        ),
        page(
            application_keys::parse_list(&params, Surface::ServiceAccount(PATH_ID)).map(|q| q.page),
            APP_KEY_PAGE_SIZE,
        ),
        page(
            users::parse_list(&params).map(|q| q.page),
            USER_MAX_PAGE_SIZE,
        ),
    ];
    accepted.into_iter().filter(|ok| *ok).count()
}

fn body<T: DeserializeOwned, U>(bytes: &[u8], parse: impl FnOnce(T) -> Result<U>) -> bool {
    // As `ApiJson` reads it: the body must be an object.
    let parsed = axum::Json::<Object<T>>::from_bytes(bytes)
        .map_err(Error::from)
        .and_then(|axum::Json(Object(body))| parse(body));
    match parsed {
        Ok(_) => true,
        Err(err) => {
            refused(err);
            false
        }
    }
}

fn page(result: Result<Page>, max_size: u32) -> bool {
    match result {
        Ok(page) => {
            assert!(
                (1..=max_size).contains(&page.size),
                "page size {} outside 1..={max_size}",
                page.size
            );
            true
        }
        Err(err) => {
            refused(err);
            false
        }
    }
}

/// Input the caller got wrong must be refused as the caller's fault (4xx), never as ours.
fn refused(err: Error) {
    let status = err.into_response().status();
    assert!(status.is_client_error(), "bad input answered {status}");
}
