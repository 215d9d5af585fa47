//! Abuse limits: per-organization rate limits with Datadog's headers, burst records for a
//! source that keeps presenting unknown keys (never a delay), header timeouts.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn management_responses_carry_the_rate_limit_headers() {
    let s = Server::start().await;
    let mut remaining = Vec::new();
    for _ in 0..2 {
        let resp = s
            .req(Method::GET, "/api/v2/api_keys")
            .send()
            .await
            .expect("list");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(header(&resp, "x-ratelimit-limit"), "1000");
        assert_eq!(header(&resp, "x-ratelimit-period"), "60");
        assert_eq!(header(&resp, "x-ratelimit-name"), "api_keys");
        let reset: u64 = header(&resp, "x-ratelimit-reset")
            .parse()
            .expect("integer reset");
        assert!((1..=60).contains(&reset), "{reset}");
        remaining.push(
            header(&resp, "x-ratelimit-remaining")
                .parse::<u32>()
                .expect("integer"),
        );
    }
    assert_eq!(remaining[0], remaining[1] + 1, "{remaining:?}");
    // The Agent's validate call is not a management endpoint.
    let resp = s
        .http
        .get(s.url("/api/v1/validate"))
        .header("DD-API-KEY", &s.creds.api_key)
        .send()
        .await
        .expect("validate");
    assert!(resp.headers().get("x-ratelimit-limit").is_none());
}

#[tokio::test]
async fn a_used_up_window_answers_429_per_organization_and_group() {
    let s = Server::start_with(&["--rate-limit", "3", "--rate-limit-period", "60"]).await;
    for _ in 0..3 {
        let (status, _) = s.call(Method::GET, "/api/v2/api_keys", None).await;
        assert_eq!(status, StatusCode::OK);
    }
    let resp = s
        .req(Method::GET, "/api/v2/api_keys")
        .send()
        .await
        .expect("list");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&resp, "x-ratelimit-remaining"), "0");
    assert_eq!(header(&resp, "x-ratelimit-limit"), "3");
    assert_eq!(header(&resp, "x-ratelimit-name"), "api_keys");
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body, errors("Too many requests"));
    // Writes are refused too, and nothing is written.
    let (status, _) = s
        .call(Method::POST, "/api/v2/api_keys", Some(api_key_body("over")))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another endpoint group has its own window.
    let (status, _) = s.call(Method::GET, "/api/v2/users", None).await;
    assert_eq!(status, StatusCode::OK);
    // Another organization has its own window.
    let other = s.admin(&[
        "create-organization",
        "--name",
        "Other",
        "--admin-email",
        "o@other.example",
    ]);
    let (api, app) = (
        env_value(&other, "DD_API_KEY"),
        env_value(&other, "DD_APP_KEY"),
    );
    s.await_key_pair(&api, &app).await;
    let req = s
        .http
        .get(s.url("/api/v2/api_keys"))
        .header("DD-API-KEY", &api)
        .header("DD-APPLICATION-KEY", &app);
    assert_eq!(send(req).await.0, StatusCode::OK);
}

#[tokio::test]
async fn unknown_keys_are_refused_at_once_and_a_burst_is_recorded() {
    let s = Server::start_sqlite_with(&["--auth-failure-burst", "2"]).await;
    let unknown = |s: &Server| {
        s.http
            .get(s.url("/api/v1/validate"))
            .header("DD-API-KEY", "0123456789abcdef0123456789abcdef")
            .send()
    };
    // Eight failures at once: far past the burst, and none of them waits.
    let started = Instant::now();
    let burst: Vec<_> = (0..8).map(|_| unknown(&s)).collect();
    for resp in futures_join(burst).await {
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
    let refused = unknown(&s).await.expect("refused");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let took = started.elapsed();
    // Under the former delay the ninth alone waited 2 s.
    assert!(took < Duration::from_millis(1000), "{took:?}");
    let ok = s
        .http
        .get(s.url("/api/v1/validate"))
        .header("DD-API-KEY", &s.creds.api_key)
        .send()
        .await
        .expect("valid");
    assert_eq!(ok.status(), StatusCode::OK);
    // One burst record for the source, however many failures followed the first past it.
    let db = s.data_dir().join("keyplane.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open db");
    let rows: Vec<(Option<String>,)> =
        sqlx::query_as("SELECT source FROM audit_events WHERE action = 'auth.failure_burst'")
            .fetch_all(&pool)
            .await
            .expect("bursts");
    pool.close().await;
    assert_eq!(rows, [(Some("127.0.0.1".to_owned()),)]);
}

#[tokio::test]
async fn a_burst_with_a_valid_api_key_is_shown_to_its_organization() {
    let s = Server::start_with(&["--auth-failure-burst", "3"]).await;
    for _ in 0..5 {
        let req = s
            .http
            .get(s.url("/api/v2/api_keys"))
            .header("DD-API-KEY", &s.creds.api_key)
            .header("DD-APPLICATION-KEY", "0".repeat(40));
        assert_eq!(send(req).await.0, StatusCode::FORBIDDEN);
    }
    let (status, body) = s
        .call(
            reqwest::Method::GET,
            "/api/v2/audit/events?filter[action]=auth.failure_burst",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let bursts = body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(bursts.len(), 1, "{body}");
    assert_eq!(bursts[0]["attributes"]["source"], "127.0.0.1");
}

#[tokio::test]
async fn the_former_flag_name_still_sets_the_burst() {
    let s = Server::start_sqlite_with(&["--auth-failures-before-delay", "1"]).await;
    for _ in 0..2 {
        let req = s
            .http
            .get(s.url("/api/v1/validate"))
            .header("DD-API-KEY", "0123456789abcdef0123456789abcdef");
        assert_eq!(send(req).await.0, StatusCode::FORBIDDEN);
    }
    let out = s.admin_command_output(&["audit", "verify"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("intact: 1 records"), "{stdout}");
}

async fn futures_join(
    requests: Vec<
        impl std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
    >,
) -> Vec<reqwest::Response> {
    let handles: Vec<_> = requests.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.expect("join").expect("response"));
    }
    out
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let s = Server::start_with(&["--header-read-timeout", "1"]).await;
    let port = s.port;
    let closed_after = tokio::task::spawn_blocking(move || {
        let mut socket = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        socket
            .write_all(b"GET /ping HTTP/1.1\r\nHost: localhost\r\n")
            .expect("partial headers");
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let started = Instant::now();
        let mut buf = [0u8; 1024];
        // The server closes (or answers 408 and closes); either way the read ends.
        loop {
            match socket.read(&mut buf) {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => continue,
            }
        }
    })
    .await
    .expect("join");
    assert!(closed_after < Duration::from_secs(5), "{closed_after:?}");
    // The server still serves everyone else.
    let ping = s.http.get(s.url("/ping")).send().await.expect("ping");
    assert_eq!(ping.status(), StatusCode::OK);
}
