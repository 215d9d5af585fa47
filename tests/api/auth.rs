//! Datadog authentication: both keys on management endpoints, the API key alone on validate.

use crate::helpers::*;
use reqwest::{Method, StatusCode};

fn forbidden() -> (StatusCode, serde_json::Value) {
    (StatusCode::FORBIDDEN, errors("Forbidden"))
}

#[tokio::test]
async fn management_needs_both_valid_keys() {
    let s = Server::start().await;
    let path = "/api/v2/api_keys";
    let cases: [(Option<&str>, Option<&str>); 6] = [
        (None, None),
        (Some(&s.creds.api_key), None),
        (None, Some(&s.creds.app_key)),
        (
            Some("0123456789abcdef0123456789abcdef"),
            Some(&s.creds.app_key),
        ),
        (
            Some(&s.creds.api_key),
            Some("0123456789abcdef0123456789abcdef01234567"),
        ),
        // An application key presented as the API key, and the other way round.
        (Some(&s.creds.app_key), Some(&s.creds.api_key)),
    ];
    for (api, app) in cases {
        let mut req = s.http.get(s.url(path));
        if let Some(k) = api {
            req = req.header("DD-API-KEY", k);
        }
        if let Some(k) = app {
            req = req.header("DD-APPLICATION-KEY", k);
        }
        assert_eq!(send(req).await, forbidden(), "api={api:?} app={app:?}");
    }
    // Every management route refuses, before looking at the body or the id.
    for (method, path) in [
        (Method::POST, "/api/v2/api_keys"),
        (Method::GET, "/api/v2/api_keys/invalidId"),
        (Method::PATCH, "/api/v2/api_keys/invalidId"),
        (Method::DELETE, "/api/v2/api_keys/invalidId"),
    ] {
        let req = s.http.request(method.clone(), s.url(path)).body("not json");
        assert_eq!(send(req).await, forbidden(), "{method} {path}");
    }
}

#[tokio::test]
async fn header_names_are_case_insensitive() {
    let s = Server::start().await;
    let req = s
        .http
        .get(s.url("/api/v2/api_keys"))
        .header("dd-api-key", &s.creds.api_key)
        .header("Dd-Application-Key", &s.creds.app_key);
    assert_eq!(send(req).await.0, StatusCode::OK);
}

#[tokio::test]
async fn keys_of_two_organizations_never_combine() {
    let s = Server::start().await;
    let text = s.admin(&[
        "create-organization",
        "--name",
        "Other",
        "--admin-email",
        "Ops@Other.Example",
    ]);
    let get = |name: &str| env_value(&text, name);
    let (other_api, other_app) = (get("DD_API_KEY"), get("DD_APP_KEY"));
    s.await_key_pair(&other_api, &other_app).await;
    assert_eq!(get("KEYPLANE_ADMIN_EMAIL"), "ops@other.example");

    let with = |api: &str, app: &str| {
        s.http
            .get(s.url("/api/v2/api_keys"))
            .header("DD-API-KEY", api)
            .header("DD-APPLICATION-KEY", app)
    };
    assert_eq!(send(with(&s.creds.api_key, &other_app)).await, forbidden());
    assert_eq!(send(with(&other_api, &s.creds.app_key)).await, forbidden());

    // Each organization sees only its own keys, and ids of the other answer 404.
    let (status, mine) = send(with(&s.creds.api_key, &s.creds.app_key)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, theirs) = send(with(&other_api, &other_app)).await;
    assert_eq!(mine["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(theirs["data"].as_array().map(Vec::len), Some(1));
    assert_ne!(mine["data"][0]["id"], theirs["data"][0]["id"]);
    let their_id = theirs["data"][0]["id"].as_str().expect("id");
    let (status, body) = s
        .call(Method::GET, &format!("/api/v2/api_keys/{their_id}"), None)
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, errors("API key not found"))
    );
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v2/api_keys/{their_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn validate_takes_the_header_or_the_query_string() {
    let s = Server::start().await;
    let v = "/api/v1/validate";
    let ok = (StatusCode::OK, serde_json::json!({"valid": true}));
    assert_eq!(
        send(s.http.get(s.url(v)).header("DD-API-KEY", &s.creds.api_key)).await,
        ok
    );
    assert_eq!(
        send(
            s.http
                .get(s.url(&format!("{v}?api_key={}", s.creds.api_key)))
        )
        .await,
        ok
    );
    assert_eq!(
        send(s.http.get(s.url(v))).await,
        (StatusCode::FORBIDDEN, errors("API key required"))
    );
    assert_eq!(
        send(s.http.get(s.url(&format!("{v}?api_key=")))).await.0,
        StatusCode::FORBIDDEN
    );
    for wrong in [
        "0123456789abcdef0123456789abcdef",
        &s.creds.app_key,
        "%00%ff",
        "' OR 1=1 --",
    ] {
        let req = s.http.get(s.url(v)).query(&[("api_key", wrong)]);
        assert_eq!(send(req).await, forbidden(), "{wrong}");
    }
}

#[tokio::test]
async fn a_deleted_key_is_refused_on_the_very_next_request() {
    let s = Server::start().await;
    let (id, key) = s.create_api_key("short-lived").await;
    let validate = || {
        s.http
            .get(s.url("/api/v1/validate"))
            .header("DD-API-KEY", &key)
    };
    assert_eq!(send(validate()).await.0, StatusCode::OK);
    let (status, _) = s
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v2/api_keys/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(send(validate()).await, forbidden());
    let manage = s
        .http
        .get(s.url("/api/v2/api_keys"))
        .header("DD-API-KEY", &key)
        .header("DD-APPLICATION-KEY", &s.creds.app_key);
    assert_eq!(send(manage).await, forbidden());
}
