//! Validation from memory: usage counted without a write per request, unknown keys refused
//! without a database query, and the figures on `/metrics`.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

async fn metrics(s: &Server) -> String {
    let resp = s.http.get(s.url("/metrics")).send().await.expect("metrics");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.text().await.expect("text")
}

/// The value of the first sample whose line starts with `prefix`, or 0.
fn sample(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn db_queries(text: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with("keyplane_db_seconds_count"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn unknown_keys_are_refused_from_memory() {
    // Without failure-burst records: their audit writes are queries too, and the bound
    // below counts only what a flood of unknown keys costs.
    let s = Server::start_with(&["--auth-failure-burst", "0"]).await;
    let validate = |key: String| {
        s.http
            .get(s.url("/api/v1/validate"))
            .header("DD-API-KEY", key)
    };
    assert_eq!(
        send(validate(s.creds.api_key.clone())).await.0,
        StatusCode::OK
    );
    let before = metrics(&s).await;
    for i in 0..200 {
        let random = format!("{:032x}", u128::from(i as u32) * 0x9e37_79b9_7f4a_7c15 + 7);
        assert_eq!(send(validate(random)).await.0, StatusCode::FORBIDDEN);
    }
    assert_eq!(
        send(validate(s.creds.api_key.clone())).await.0,
        StatusCode::OK,
        "valid entries survive the flood"
    );
    let after = metrics(&s).await;
    let misses = sample(
        &after,
        "keyplane_credential_cache_misses_total{kind=\"api_key\"}",
    ) - sample(
        &before,
        "keyplane_credential_cache_misses_total{kind=\"api_key\"}",
    );
    assert_eq!(misses, 200.0);
    // Only the background poll may have queried the database meanwhile (every 100 ms).
    let queries = db_queries(&after) - db_queries(&before);
    assert!(
        queries < 100.0,
        "{queries} database queries for 200 unknown keys"
    );
    assert!(sample(&after, "keyplane_auth_failures_total{kind=\"api_key\"}") >= 200.0);
    assert!(after.contains("keyplane_http_requests_total{method=\"GET\",route=\"/api/v1/validate\",status=\"403\"} 200"), "{after}");
    assert!(
        sample(
            &after,
            "keyplane_credential_cache_entries{kind=\"api_key\"}"
        ) >= 1.0
    );
}

#[tokio::test]
async fn usage_is_written_in_batches_and_on_shutdown() {
    let mut s = Server::start().await;
    let (id, key) = s.create_api_key("used").await;
    let path = format!("/api/v2/api_keys/{id}");
    let (_, before) = s.call(Method::GET, &path, None).await;
    assert_eq!(before["data"]["attributes"]["date_last_used"], Value::Null);
    let validate = s
        .http
        .get(s.url("/api/v1/validate"))
        .header("DD-API-KEY", &key);
    assert_eq!(send(validate).await.0, StatusCode::OK);
    // Not written on the request path: still unset right after the request.
    let (_, right_after) = s.call(Method::GET, &path, None).await;
    assert_eq!(
        right_after["data"]["attributes"]["date_last_used"],
        Value::Null
    );

    assert!(s.stop().await);
    s.restart().await;
    let (_, after) = s.call(Method::GET, &path, None).await;
    let attrs = &after["data"]["attributes"];
    assert!(attrs["date_last_used"].is_string(), "{after}");
    assert_eq!(attrs["used_in_last_24_hours"], true);
    assert_eq!(
        attrs["last_used_date"]["timestamp"],
        attrs["date_last_used"]
    );
    let (_, apps) = s
        .call(Method::GET, "/api/v2/current_user/application_keys", None)
        .await;
    assert!(
        apps["data"][0]["attributes"]["last_used_at"].is_string(),
        "{apps}"
    );
}

#[tokio::test]
async fn health_reports_the_backend_and_invalidation_lag() {
    let s = Server::start().await;
    let (status, body) = send(s.http.get(s.url("/healthz"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["backend"], "sqlite");
    assert_eq!(
        body["notifications"], "none",
        "SQLite has no change notifications"
    );
    let lag = body["invalidation_lag_seconds"].as_f64().expect("lag");
    assert!((0.0..5.0).contains(&lag), "{lag}");
    let resp = s.http.get(s.url("/ping")).send().await.expect("ping");
    assert_eq!(resp.text().await.expect("text"), "ok");
}

#[tokio::test]
async fn database_latency_is_reported_by_operation() {
    let s = Server::start().await;
    let (id, _) = s.create_api_key("timed").await;
    let (status, _) = s
        .call(Method::GET, "/api/v2/api_keys?filter=timed", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .call(Method::GET, &format!("/api/v2/api_keys/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = metrics(&s).await;
    for op in [
        "create_api_key",
        "api_keys_by_ids",
        "get_api_key",
        "append_audit",
        "changes_since",
    ] {
        let count = sample(&text, &format!("keyplane_db_seconds_count{{op=\"{op}\"}}"));
        assert!(count >= 1.0, "no latency for {op}:\n{text}");
    }
}
