//! The console's session cookie and CSRF check. The cookie is HttpOnly and SameSite=Strict;
//! every state-changing request must also carry the CSRF token in `X-CSRF-Token`, which a
//! page learns only from an authenticated response, so another site cannot forge one.

use crate::domain::session::{csrf_token, SessionPolicy};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method};
use cookie::{Cookie, SameSite};
use subtle::ConstantTimeEq;

pub const CSRF_HEADER: &str = "x-csrf-token";
const COOKIE: &str = "keyplane_session";
/// Browsers accept a `__Host-` cookie only when Secure, from the same host, on path `/`.
const SECURE_COOKIE: &str = "__Host-keyplane_session";

fn cookie_name(policy: &SessionPolicy) -> &'static str {
    if policy.secure_cookie {
        SECURE_COOKIE
    } else {
        COOKIE
    }
}

/// The session token the request's cookie carries.
pub fn token(parts: &Parts, policy: &SessionPolicy) -> Option<String> {
    let name = cookie_name(policy);
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// Safe methods change nothing, so they need no CSRF token.
pub fn csrf_ok(parts: &Parts, session_token: &str) -> bool {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let expected = csrf_token(session_token);
    parts
        .headers
        .get(CSRF_HEADER)
        .is_some_and(|v| bool::from(v.as_bytes().ct_eq(expected.as_bytes())))
}

fn build(policy: &SessionPolicy, value: String, max_age: time::Duration) -> HeaderValue {
    let cookie = Cookie::build((cookie_name(policy), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(policy.secure_cookie)
        .max_age(max_age)
        .build();
    // A cookie built from hex and fixed attributes is always a valid header value.
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `Set-Cookie` for a new session: it lives in the browser no longer than on the server.
pub fn set_cookie(policy: &SessionPolicy, token: &str) -> HeaderValue {
    let lifetime = i64::try_from(policy.absolute.as_secs()).unwrap_or(i64::MAX);
    build(policy, token.to_owned(), time::Duration::seconds(lifetime))
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(policy: &SessionPolicy) -> HeaderValue {
    build(policy, String::new(), time::Duration::ZERO)
}
