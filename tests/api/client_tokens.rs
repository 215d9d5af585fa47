//! Client tokens: the JSON:API resource (same rules as the key resources) and the check
//! browser-intake proxies call, which accepts client tokens and nothing else.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn token_body(name: &str) -> Value {
    json!({"data": {"type": "client_tokens", "attributes": {"name": name}}})
}

async fn create(s: &Server, name: &str) -> (String, String) {
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v2/client_tokens",
            Some(token_body(name)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["data"]["id"].as_str().expect("id").to_owned();
    let key = body["data"]["attributes"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    (id, key)
}

async fn validate(req: reqwest::RequestBuilder) -> StatusCode {
    send(req).await.0
}

#[tokio::test]
async fn create_get_rename_and_revoke() {
    let s = Server::start().await;
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v2/client_tokens",
            Some(token_body("RUM web")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let data = &body["data"];
    assert_eq!(data["type"], "client_tokens");
    let key = data["attributes"]["key"].as_str().expect("key");
    assert_eq!(key.len(), 35);
    assert!(key.starts_with("pub"));
    assert!(key[3..]
        .chars()
        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
    assert_eq!(data["attributes"]["last4"], key[31..]);
    assert_eq!(data["attributes"]["name"], "RUM web");
    assert!(data["attributes"]["created_at"].is_string());
    assert!(data["relationships"]["created_by"]["data"]["id"].is_string());
    let id = data["id"].as_str().expect("id");

    // Tokens are published in web pages, so reads show them in full.
    let (status, got) = s
        .call(
            Method::GET,
            &format!("/api/v2/client_tokens/{id}?include=created_by"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["data"]["attributes"]["key"], key);
    assert_eq!(got["included"][0]["type"], "users");

    let rename =
        json!({"data": {"id": id, "type": "client_tokens", "attributes": {"name": "RUM shop"}}});
    let (status, renamed) = s
        .call(
            Method::PATCH,
            &format!("/api/v2/client_tokens/{id}"),
            Some(rename),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["data"]["attributes"]["name"], "RUM shop");
    assert_eq!(renamed["data"]["attributes"]["key"], key);

    let (status, _) = s
        .call(Method::DELETE, &format!("/api/v2/client_tokens/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = s
        .call(Method::GET, &format!("/api/v2/client_tokens/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, errors("Client token not found"));
    let (status, _) = s
        .call(Method::DELETE, &format!("/api/v2/client_tokens/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn names_follow_the_key_rules() {
    let s = Server::start().await;
    let (id, _) = create(&s, "browser logs").await;
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v2/client_tokens",
            Some(token_body("browser logs")),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body,
        errors("A client token with the name browser logs already exists")
    );
    // Names are unique per kind: an API key may share it.
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v2/api_keys",
            Some(api_key_body("browser logs")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for bad in [json!(""), json!("   "), json!(7), json!("x".repeat(256))] {
        let body = json!({"data": {"type": "client_tokens", "attributes": {"name": bad}}});
        let (status, got) = s
            .call(Method::POST, "/api/v2/client_tokens", Some(body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {got}");
        assert!(got["errors"].is_array());
    }
    let wrong_type = json!({"data": {"type": "api_keys", "attributes": {"name": "t"}}});
    let (status, _) = s
        .call(Method::POST, "/api/v2/client_tokens", Some(wrong_type))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let other_id = json!({"data": {"id": uuid::Uuid::new_v4(), "type": "client_tokens", "attributes": {"name": "n"}}});
    let (status, _) = s
        .call(
            Method::PATCH,
            &format!("/api/v2/client_tokens/{id}"),
            Some(other_id),
        )
        .await;
    assert!(status.is_client_error(), "{status}");
    for path in [
        "/api/v2/client_tokens/not-a-uuid",
        &format!("/api/v2/client_tokens/{}", uuid::Uuid::new_v4()),
    ] {
        let (status, body) = s.call(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body, errors("Client token not found"));
    }
}

#[tokio::test]
async fn lists_page_sort_and_filter() {
    let s = Server::start().await;
    for name in ["gamma", "Alpha", "beta", "alphabet", "delta"] {
        create(&s, name).await;
    }
    let names = |body: &Value| -> Vec<String> {
        body["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|t| t["attributes"]["name"].as_str().expect("name").to_owned())
            .collect()
    };
    let (status, all) = s.call(Method::GET, "/api/v2/client_tokens", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&all), ["Alpha", "alphabet", "beta", "delta", "gamma"]);
    assert_eq!(all["meta"]["page"]["total_filtered_count"], 5);
    assert!(all["data"][0]["attributes"]["key"].is_string());

    let (_, desc) = s
        .call(Method::GET, "/api/v2/client_tokens?sort=-name", None)
        .await;
    assert_eq!(
        names(&desc),
        ["gamma", "delta", "beta", "alphabet", "Alpha"]
    );
    let (_, page) = s
        .call(
            Method::GET,
            "/api/v2/client_tokens?page[size]=2&page[number]=1&sort=created_at",
            None,
        )
        .await;
    assert_eq!(names(&page), ["beta", "alphabet"]);
    assert_eq!(page["meta"]["page"]["total_filtered_count"], 5);
    let (_, filtered) = s
        .call(Method::GET, "/api/v2/client_tokens?filter=ALPHA", None)
        .await;
    assert_eq!(names(&filtered), ["Alpha", "alphabet"]);
    assert_eq!(filtered["meta"]["page"]["total_filtered_count"], 2);
    for bad in [
        "sort=key",
        "page[size]=0",
        "page[size]=101",
        "page[number]=-1",
        "filter[created_at][start]=yesterday",
    ] {
        let (status, body) = s
            .call(Method::GET, &format!("/api/v2/client_tokens?{bad}"), None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}

#[tokio::test]
async fn intake_validation_accepts_client_tokens_and_nothing_else() {
    let s = Server::start().await;
    let (id, token) = create(&s, "intake").await;
    let check = |header: Option<&str>, query: Option<&str>| {
        let mut req = s.http.get(s.url(&match query {
            Some(q) => format!("/api/v1/validate_client_token?dd-api-key={q}"),
            None => "/api/v1/validate_client_token".to_owned(),
        }));
        if let Some(h) = header {
            req = req.header("DD-CLIENT-TOKEN", h);
        }
        req
    };
    let (status, body) = send(check(Some(&token), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"valid": true}));
    // As the browser SDKs send it to intake, in the query string.
    assert_eq!(validate(check(None, Some(&token))).await, StatusCode::OK);
    // API keys and application keys are refused: they must never ship to a browser.
    for wrong in [
        s.creds.api_key.as_str(),
        s.creds.app_key.as_str(),
        "pub00000000000000000000000000000000",
    ] {
        let (status, body) = send(check(Some(wrong), None)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body, errors("Forbidden"));
    }
    assert_eq!(validate(check(None, None)).await, StatusCode::FORBIDDEN);
    // And the Agent's API key check refuses client tokens.
    let req = s
        .http
        .get(s.url("/api/v1/validate"))
        .header("DD-API-KEY", &token);
    assert_eq!(send(req).await.0, StatusCode::FORBIDDEN);
    // A client token is no management credential either.
    let req = s
        .http
        .get(s.url("/api/v2/client_tokens"))
        .header("DD-API-KEY", &token)
        .header("DD-APPLICATION-KEY", &s.creds.app_key);
    assert_eq!(send(req).await.0, StatusCode::FORBIDDEN);

    // Revoked: refused on the very next request.
    let (status, _) = s
        .call(Method::DELETE, &format!("/api/v2/client_tokens/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        validate(check(Some(&token), None)).await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn tokens_survive_a_restart() {
    let mut s = Server::start().await;
    let (_, token) = create(&s, "persisted").await;
    s.restart().await;
    let req = s
        .http
        .get(s.url("/api/v1/validate_client_token"))
        .header("DD-CLIENT-TOKEN", &token);
    assert_eq!(send(req).await.0, StatusCode::OK);
}
