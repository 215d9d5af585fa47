//! Console sign-in over real HTTP: cookie flags, CSRF, expiry, sign-out, throttling, and the
//! session as one more way to call the same JSON API.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};

async fn sign_in_status(
    s: &Server,
    email: &str,
    password: &str,
) -> (StatusCode, serde_json::Value) {
    let req = s
        .http
        .post(s.url("/api/console/session"))
        .json(&json!({"email": email, "password": password}));
    send(req).await
}

/// A Standard user of the admin's organization with a console password.
async fn standard_user(s: &Server) -> (String, String, String) {
    let email = format!("std-{}@example.com", uuid::Uuid::new_v4().simple());
    let (_, roles) = s
        .call(Method::GET, "/api/v2/roles?filter=Standard", None)
        .await;
    let role = roles["data"][0]["id"].as_str().expect("role").to_owned();
    let body = json!({"data": {"type": "users", "attributes": {"email": email},
        "relationships": {"roles": {"data": [{"id": role, "type": "roles"}]}}}});
    let (status, user) = s.call(Method::POST, "/api/v2/users", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let out = s.admin(&["set-password", "--email", &email, "--generate"]);
    let password = env_value(&out, "KEYPLANE_PASSWORD");
    let id = user["data"]["id"].as_str().expect("id").to_owned();
    (id, email, password)
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie_and_describes_the_user() {
    let s = Server::start().await;
    let resp = s
        .http
        .post(s.url("/api/console/session"))
        .json(&json!({"email": s.creds.email.to_uppercase(), "password": s.creds.password}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("cookie")
        .to_owned();
    assert!(cookie.starts_with("keyplane_session="), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(cookie.contains(flag), "{flag} missing from {cookie}");
    }
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["user"]["email"], s.creds.email);
    assert_eq!(body["user"]["roles"], json!(["Datadog Admin Role"]));
    assert!(body["user"]["permissions"]
        .as_array()
        .expect("permissions")
        .contains(&json!("client_tokens_write")));
    assert_eq!(body["limits"]["max_api_keys_per_org"], 5);
    assert_eq!(body["csrf_token"].as_str().map(str::len), Some(64));
    assert!(body["expires_at"].is_string());
    // The session token itself never appears in a body.
    let token = cookie
        .split(';')
        .next()
        .and_then(|c| c.split_once('='))
        .map(|(_, v)| v.to_owned())
        .expect("token");
    assert!(!body.to_string().contains(&token));
}

#[tokio::test]
async fn wrong_credentials_are_one_plain_401_whatever_was_wrong() {
    let s = Server::start().await;
    let expected = errors("Wrong email or password");
    for (email, password) in [
        (s.creds.email.as_str(), "not-the-password"),
        ("nobody@example.com", s.creds.password.as_str()),
        ("not an email", "x"),
        ("", ""),
    ] {
        let (status, body) = sign_in_status(&s, email, password).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{email}");
        assert_eq!(body, expected);
    }
    // Malformed bodies are 4xx in Datadog's shape, never a 5xx.
    let req = s
        .http
        .post(s.url("/api/console/session"))
        .header("content-type", "application/json")
        .body("{\"email\": 3}");
    let (status, body) = send(req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["errors"].is_array());
}

#[tokio::test]
async fn a_session_calls_the_api_and_changes_need_the_csrf_token() {
    let s = Server::start().await;
    let console = s.sign_in().await;
    let (status, list) = send(s.console_req(&console, Method::GET, "/api/v2/api_keys")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1));

    // No token, or a wrong one: refused, and nothing is created.
    let create = || api_key_body("from-console");
    for token in [None, Some("0".repeat(64))] {
        let mut req = s
            .http
            .post(s.url("/api/v2/api_keys"))
            .header("cookie", &console.cookie)
            .json(&create());
        if let Some(token) = token {
            req = req.header("x-csrf-token", token);
        }
        let (status, body) = send(req).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(
            body,
            errors("Missing or invalid CSRF token; reload the page and try again")
        );
    }
    let (_, list) = send(s.console_req(&console, Method::GET, "/api/v2/api_keys")).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1));

    let (status, created) = send(
        s.console_req(&console, Method::POST, "/api/v2/api_keys")
            .json(&create()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // The key was created by the signed-in user.
    let admin_id = console.body["user"]["id"].clone();
    assert_eq!(
        created["data"]["relationships"]["created_by"]["data"]["id"],
        admin_id
    );
    // v1 (key pairs in the query string) is not a console surface.
    let (status, _) = send(s.console_req(&console, Method::GET, "/api/v1/api_key")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sign_out_ends_the_session_everywhere() {
    let s = Server::start().await;
    let console = s.sign_in().await;
    let resp = s
        .console_req(&console, Method::DELETE, "/api/console/session")
        .send()
        .await
        .expect("sign out");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let cleared = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let (status, body) = send(s.console_req(&console, Method::GET, "/api/console/session")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, errors("Your session has expired; sign in again"));
    let (status, _) = send(s.console_req(&console, Method::GET, "/api/v2/api_keys")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Signing out needs the CSRF token too, so another site cannot sign a user out.
    let other = s.sign_in().await;
    let req = s
        .http
        .delete(s.url("/api/console/session"))
        .header("cookie", &other.cookie);
    assert_eq!(send(req).await.0, StatusCode::FORBIDDEN);
    let (status, _) = send(s.console_req(&other, Method::GET, "/api/console/session")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn sessions_expire_when_idle() {
    let s = Server::start_with(&["--session-idle-timeout", "1"]).await;
    let console = s.sign_in().await;
    let (status, _) = send(s.console_req(&console, Method::GET, "/api/console/session")).await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, body) = send(s.console_req(&console, Method::GET, "/api/v2/api_keys")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body, errors("Your session has expired; sign in again"));
}

#[tokio::test]
async fn sessions_end_at_their_absolute_lifetime_however_busy() {
    let s = Server::start_with(&["--session-lifetime", "2"]).await;
    let console = s.sign_in().await;
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        let (status, _) = send(s.console_req(&console, Method::GET, "/api/console/session")).await;
        assert_eq!(status, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (status, _) = send(s.console_req(&console, Method::GET, "/api/console/session")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn repeated_failures_pause_the_account_but_not_others() {
    let s = Server::start().await;
    for _ in 0..3 {
        let (status, _) = sign_in_status(&s, &s.creds.email, "wrong-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // The fourth attempt at once falls in the pause (250 ms, doubling): refused without a
    // password check, even with the right password, with the wait to show.
    let resp = s
        .http
        .post(s.url("/api/console/session"))
        .json(&json!({"email": s.creds.email, "password": s.creds.password}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "1");
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body, errors("Too many failed sign-ins; try again in 1 s"));
    // Another account is not paused.
    let (_, email, password) = standard_user(&s).await;
    let (status, _) = sign_in_status(&s, &email, &password).await;
    assert_eq!(status, StatusCode::CREATED);
    // After the pause the right password works and clears the account's record.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (status, _) = sign_in_status(&s, &s.creds.email, &s.creds.password).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = sign_in_status(&s, &s.creds.email, "wrong-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn disabling_a_user_or_changing_its_password_ends_its_sessions() {
    let s = Server::start().await;
    let (id, email, password) = standard_user(&s).await;
    let console = s.sign_in_as(&email, &password).await;
    assert_eq!(
        console.body["user"]["roles"],
        json!(["Datadog Standard Role"])
    );
    // Standard users may read API keys but not create them, through the console as anywhere.
    let (status, _) = send(s.console_req(&console, Method::GET, "/api/v2/api_keys")).await;
    assert_eq!(status, StatusCode::OK);
    let req = s
        .console_req(&console, Method::POST, "/api/v2/api_keys")
        .json(&api_key_body("nope"));
    assert_eq!(send(req).await.0, StatusCode::FORBIDDEN);

    let out = s.admin(&["set-password", "--email", &email, "--generate"]);
    let new_password = env_value(&out, "KEYPLANE_PASSWORD");
    let (status, _) = send(s.console_req(&console, Method::GET, "/api/console/session")).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a new password ends old sessions"
    );
    assert_eq!(
        sign_in_status(&s, &email, &password).await.0,
        StatusCode::UNAUTHORIZED
    );

    let console = s.sign_in_as(&email, &new_password).await;
    let (status, _) = s
        .call(Method::DELETE, &format!("/api/v2/users/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(s.console_req(&console, Method::GET, "/api/v2/api_keys")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        sign_in_status(&s, &email, &new_password).await.0,
        StatusCode::UNAUTHORIZED,
        "disabled users cannot sign in"
    );
}

#[tokio::test]
async fn set_password_refuses_short_passwords_and_unknown_users() {
    let s = Server::start().await;
    let out = s.admin_output(&[
        "set-password",
        "--email",
        "nobody@example.com",
        "--generate",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user with email"));
    let out = s.admin_stdin(&["set-password", "--email", &s.creds.email], "short\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12 characters"));
    let out = s.admin_stdin(
        &["set-password", "--email", &s.creds.email],
        "a long enough passphrase\n",
    );
    assert!(out.status.success(), "{out:?}");
    s.sign_in_as(&s.creds.email, "a long enough passphrase")
        .await;
}

#[tokio::test]
async fn the_console_page_is_served_with_strict_security_headers() {
    let s = Server::start().await;
    let resp = s.http.get(s.url("/")).send().await.expect("page");
    assert_eq!(resp.status(), StatusCode::OK);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header("content-type").starts_with("text/html"));
    let csp = header("content-security-policy");
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing: {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("x-frame-options"), "DENY");
    let html = resp.text().await.expect("html");
    assert!(
        html.contains("/ui/"),
        "the page loads its scripts from /ui/"
    );
    assert!(!html.contains("<script>"), "no inline script");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no other host"
    );
    let (status, _) = send(s.http.get(s.url("/ui/no-such-file.js"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(s.http.get(s.url("/ui/..%2Fsrc%2Fmain.rs"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
