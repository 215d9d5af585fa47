//! Security review 2026-12, findings 11 and 12: refused requests do not spend the
//! organization's rate-limit window, and key names are unique and visible as a person reads
//! them (case, normalization, invisible and bidi characters).

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn refused_requests_do_not_use_up_the_organizations_window() {
    let s = Server::start_with(&["--rate-limit", "5", "--rate-limit-period", "60"]).await;
    let body = json!({"data": {"type": "users", "attributes": {"email": "nobody@example.com"}}});
    let (status, got) = s.call(Method::POST, "/api/v2/users", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    let out = s.admin(&[
        "create-application-key",
        "--email",
        "nobody@example.com",
        "--name",
        "n",
    ]);
    let roleless = env_value(&out, "DD_APP_KEY");
    s.await_key_pair(&s.creds.api_key, &roleless).await;
    let mut seen = Vec::new();
    for _ in 0..12 {
        let req = s
            .http
            .get(s.url("/api/v2/api_keys"))
            .header("DD-API-KEY", &s.creds.api_key)
            .header("DD-APPLICATION-KEY", &roleless);
        seen.push(send(req).await.0.as_u16());
    }
    // Refused for want of a role, then limited by its own window.
    assert_eq!(seen[..5], [403; 5], "{seen:?}");
    assert!(seen[5..].iter().all(|s| *s == 429), "{seen:?}");
    for i in 0..5 {
        let (status, got) = s.call(Method::GET, "/api/v2/api_keys", None).await;
        assert_eq!(status, StatusCode::OK, "admin request {i}: {got}");
    }
    let (status, _) = s.call(Method::GET, "/api/v2/api_keys", None).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the window still holds"
    );
}

#[tokio::test]
async fn look_alike_and_invisible_names_are_refused() {
    let s = Server::start().await;
    let tokens = "/api/v2/client_tokens";
    let body =
        |name: &str| json!({"data": {"type": "client_tokens", "attributes": {"name": name}}});
    let (status, got) = s.call(Method::POST, tokens, Some(body("Prod agent"))).await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    for name in ["prod agent", "PROD AGENT", "Prod agent ", "Prod\u{a0}agent"] {
        let (status, got) = s.call(Method::POST, tokens, Some(body(name))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{name:?}: {got}");
    }
    let (status, _) = s.call(Method::POST, tokens, Some(body("Café"))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = s
        .call(Method::POST, tokens, Some(body("Cafe\u{301}")))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    for name in [
        "\u{2060}",
        "\u{200b}\u{200b}",
        "\u{3000}",
        "Prod\u{200b}agent",
        "\u{202e}Prod agent",
        "a\u{2067}b",
    ] {
        let (status, got) = s.call(Method::POST, tokens, Some(body(name))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name:?}: {got}");
        let key = json!({"data": {"type": "application_keys", "attributes": {"name": name}}});
        let (status, got) = s
            .call(
                Method::POST,
                "/api/v2/current_user/application_keys",
                Some(key),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "app key {name:?}: {got}");
        let (status, got) = s
            .call(Method::POST, "/api/v2/api_keys", Some(api_key_body(name)))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "API key {name:?}: {got}");
    }
    s.create_api_key("Ingest").await;
    let (status, got) = s
        .call(
            Method::POST,
            "/api/v2/api_keys",
            Some(api_key_body("INGEST")),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{got}");
}
