//! The HTTP-level rules once more, on a server backed by PostgreSQL. (The whole suite runs
//! there too with `KEYPLANE_TEST_BACKEND=postgres`; these few run on every `cargo test`.)

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn names(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(|k| k["attributes"]["name"].as_str().expect("name").to_owned())
        .collect()
}

async fn validate(s: &Server, key: &str) -> StatusCode {
    let req = s
        .http
        .get(s.url("/api/v1/validate"))
        .header("DD-API-KEY", key);
    send(req).await.0
}

#[tokio::test]
async fn api_key_rules_hold_on_postgres() {
    let Some(s) = Server::start_postgres().await else {
        return;
    };
    let (_, body) = send(s.http.get(s.url("/healthz"))).await;
    assert_eq!(body["backend"], "postgres");
    let mut keys = Vec::new();
    for name in ["Beta", "alpha", "Gamma"] {
        keys.push(s.create_api_key(name).await);
    }
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v2/api_keys",
            Some(api_key_body("alpha")),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body,
        errors("An API key with the name alpha already exists")
    );

    keys.push(s.create_api_key("delta").await);
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v2/api_keys",
            Some(api_key_body("one more")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["errors"][0]
            .as_str()
            .is_some_and(|m| m.ends_with("Orgs must have at least 1 and at most 5 keys.")),
        "{body}"
    );
    let (_, listed) = s
        .call(Method::GET, "/api/v2/api_keys?sort=-name&filter=A", None)
        .await;
    assert_eq!(
        names(&listed),
        ["Initial API key", "Gamma", "delta", "Beta", "alpha"]
    );
    assert_eq!(listed["meta"]["page"]["total_filtered_count"], 5);
    let (status, listed) = s
        .call(Method::GET, "/api/v2/api_keys?filter=%00", None)
        .await;
    assert_eq!((status, names(&listed).len()), (StatusCode::OK, 0));
    let bad_category = json!({"data": {"type": "api_keys",
        "attributes": {"name": "nul", "category": "a\u{0}b"}}});
    let (status, _) = s
        .call(Method::POST, "/api/v2/api_keys", Some(bad_category))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A deleted key fails on the very next request, and the last key stays.
    let (id, key) = &keys[0];
    assert_eq!(validate(&s, key).await, StatusCode::OK);
    let (status, _) = s
        .call(Method::DELETE, &format!("/api/v2/api_keys/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(validate(&s, key).await, StatusCode::FORBIDDEN);
    for (id, _) in &keys[1..] {
        let (status, _) = s
            .call(Method::DELETE, &format!("/api/v2/api_keys/{id}"), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let (_, listed) = s.call(Method::GET, "/api/v2/api_keys", None).await;
    let last = listed["data"][0]["id"].as_str().expect("id").to_owned();
    let (status, body) = s
        .call(Method::DELETE, &format!("/api/v2/api_keys/{last}"), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn disabling_a_user_revokes_its_application_keys_on_postgres() {
    let Some(s) = Server::start_postgres().await else {
        return;
    };
    let body = json!({"data": {"type": "users", "attributes": {"email": "leaver@example.com"}}});
    let (status, created) = s.call(Method::POST, "/api/v2/users", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    let out = s.admin(&["create-application-key", "--email", "leaver@example.com"]);
    let app = env_value(&out, "DD_APP_KEY");
    s.await_key_pair(&s.creds.api_key, &app).await;

    let (status, _) = s
        .call(Method::DELETE, &format!("/api/v2/users/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let req = s
        .http
        .get(s.url("/api/v2/validate_keys"))
        .header("DD-API-KEY", &s.creds.api_key)
        .header("DD-APPLICATION-KEY", &app);
    assert_eq!(send(req).await.0, StatusCode::FORBIDDEN);
    let (_, keys) = s
        .call(
            Method::GET,
            &format!("/api/v2/application_keys?filter[owned_by]={id}"),
            None,
        )
        .await;
    assert_eq!(keys["data"], json!([]));
}

#[tokio::test]
async fn data_and_usage_survive_a_restart_on_postgres() {
    let Some(mut s) = Server::start_postgres().await else {
        return;
    };
    let (id, key) = s.create_api_key("kept").await;
    assert_eq!(validate(&s, &key).await, StatusCode::OK);
    assert!(s.stop().await);
    s.restart().await;
    assert_eq!(validate(&s, &key).await, StatusCode::OK);
    let (_, got) = s
        .call(Method::GET, &format!("/api/v2/api_keys/{id}"), None)
        .await;
    assert_eq!(got["data"]["attributes"]["key"], key.as_str());
    assert!(
        got["data"]["attributes"]["date_last_used"].is_string(),
        "usage flushed at shutdown: {got}"
    );
}
