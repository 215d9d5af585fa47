//! `/api/v1/validate` and the intake gate are answered before the router (src/http/hot_path.rs).
//! A request with a body still goes through the router: both ways must give the same answer,
//! the same headers, the same metric series and the same access line.

use crate::helpers::*;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use std::time::Duration;

/// Status, body and the sorted header names (minus the per-response ones).
async fn answer(req: reqwest::RequestBuilder) -> (StatusCode, String, Vec<String>) {
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let names = header_names(resp.headers());
    (status, resp.text().await.expect("body"), names)
}

fn header_names(headers: &HeaderMap) -> Vec<String> {
    let mut names: Vec<String> = headers
        .keys()
        .map(|k| k.as_str().to_owned())
        .filter(|k| k != "date" && k != "content-length")
        .collect();
    names.sort();
    names
}

async fn metrics(s: &Server) -> String {
    send_text(s.http.get(s.url("/metrics"))).await
}

async fn send_text(req: reqwest::RequestBuilder) -> String {
    req.send()
        .await
        .expect("request")
        .text()
        .await
        .expect("text")
}

fn count(text: &str, series: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn validate_answers_the_same_with_and_without_the_router() {
    let s = Server::start().await;
    let get = |key: &str| {
        s.http
            .get(s.url("/api/v1/validate"))
            .header("DD-API-KEY", key)
    };
    let before = metrics(&s).await;
    // No body: the hot path. A body: the edge reads it and the router answers.
    let hot = answer(get(&s.creds.api_key)).await;
    let routed = answer(get(&s.creds.api_key).body("{}")).await;
    assert_eq!(hot.0, StatusCode::OK);
    assert_eq!(hot.1, r#"{"valid":true}"#);
    assert_eq!(hot, routed, "the hot path and the router disagree");
    assert!(hot.2.contains(&"content-security-policy".to_owned()));
    assert!(hot.2.contains(&"cache-control".to_owned()));

    let unknown = "0123456789abcdef0123456789abcdef";
    let hot_refusal = answer(get(unknown)).await;
    let routed_refusal = answer(get(unknown).body("{}")).await;
    assert_eq!(hot_refusal.0, StatusCode::FORBIDDEN);
    assert_eq!(hot_refusal, routed_refusal);
    // The key in the query string, as the Agent sends it.
    let query = s
        .http
        .get(s.url(&format!("/api/v1/validate?api_key={}", s.creds.api_key)));
    assert_eq!(answer(query).await.0, StatusCode::OK);

    let after = metrics(&s).await;
    let series = |status| {
        format!("keyplane_http_requests_total{{method=\"GET\",route=\"/api/v1/validate\",status=\"{status}\"}}")
    };
    assert_eq!(
        count(&after, &series(200)) - count(&before, &series(200)),
        3
    );
    assert_eq!(
        count(&after, &series(403)) - count(&before, &series(403)),
        2
    );

    // The access log is written in batches (every 100 ms).
    tokio::time::sleep(Duration::from_millis(400)).await;
    let lines = s
        .logs()
        .lines()
        .filter(|l| l.contains("request method=GET route=/api/v1/validate status=200"))
        .count();
    assert!(lines >= 3, "{lines} access lines for 3 allowed validations");
    assert!(
        !s.logs().contains(&s.creds.api_key),
        "a key reached the log"
    );
}

#[tokio::test]
async fn what_the_hot_path_does_not_answer_is_answered_as_before() {
    let s = Server::start().await;
    let key = s.creds.api_key.as_str();
    let call = |method: Method, path: &str| {
        s.http
            .request(method, s.url(path))
            .header("DD-API-KEY", key)
    };
    assert_eq!(
        answer(call(Method::POST, "/api/v1/validate")).await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    let head = answer(call(Method::HEAD, "/api/v1/validate")).await;
    assert_eq!((head.0, head.1.as_str()), (StatusCode::OK, ""));
    assert_eq!(
        answer(call(Method::GET, "/api/v1/validate/")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        answer(call(Method::GET, "/intake/authorizeX")).await.0,
        StatusCode::NOT_FOUND
    );
    let trace = answer(call(Method::TRACE, "/intake/authorize")).await;
    assert_eq!(trace.0, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn the_gate_answers_the_same_with_and_without_the_router() {
    let s = Server::start().await;
    let gate = |path: &str, key: &str| {
        s.http
            .post(s.url(path))
            .header("DD-API-KEY", key)
            .header("X-Original-URI", "/api/v2/series")
    };
    let before = metrics(&s).await;
    for path in ["/intake/authorize", "/intake/authorize/api/v2/series"] {
        let hot = gate(path, &s.creds.api_key).send().await.expect("gate");
        let routed = gate(path, &s.creds.api_key)
            .body("{}")
            .send()
            .await
            .expect("gate");
        assert_eq!(hot.status(), StatusCode::OK, "{path}");
        assert_eq!(routed.status(), StatusCode::OK, "{path}");
        for header in ["x-keyplane-org", "x-keyplane-org-num", "x-keyplane-key-id"] {
            assert_eq!(hot.headers().get(header), routed.headers().get(header));
            assert!(hot.headers().get(header).is_some(), "{header} missing");
        }
        assert_eq!(header_names(hot.headers()), header_names(routed.headers()));
        // A proxy's answer carries no browser headers.
        assert!(hot.headers().get("content-security-policy").is_none());
        let refused = gate(path, "0123456789abcdef0123456789abcdef");
        let (status, body) = send(refused).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body, serde_json::json!({"errors": ["Forbidden"]}));
    }
    let after = metrics(&s).await;
    for route in ["/intake/authorize", "/intake/authorize/{*original}"] {
        let series = format!(
            "keyplane_http_requests_total{{method=\"POST\",route=\"{route}\",status=\"200\"}}"
        );
        assert_eq!(
            count(&after, &series) - count(&before, &series),
            2,
            "{route}"
        );
    }
}
