//! Datadog API v1 over raw HTTP: exact bodies and status codes, keys in the query string,
//! the same rules as v2, and One-Time Read refusal.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn with_query_keys(s: &Server, method: Method, path: &str) -> reqwest::RequestBuilder {
    s.http.request(method, s.url(path)).query(&[
        ("api_key", &s.creds.api_key),
        ("application_key", &s.creds.app_key),
    ])
}

#[tokio::test]
async fn api_keys_in_v1_shapes() {
    let s = Server::start().await;
    let (status, created) = s
        .call(
            Method::POST,
            "/api/v1/api_key",
            Some(json!({"name": "legacy"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "v1 create answers 200");
    let key = created["api_key"]["key"].as_str().expect("key").to_owned();
    assert_eq!(key.len(), 32);
    assert_eq!(created["api_key"]["name"], "legacy");
    assert_eq!(created["api_key"]["created_by"], s.creds.email);
    let when = created["api_key"]["created"].as_str().expect("created");
    assert!(when.len() == 19 && when.as_bytes()[10] == b' ', "{when}");

    let (status, got) = s
        .call(Method::GET, &format!("/api/v1/api_key/{key}"), None)
        .await;
    assert_eq!((status, &got), (StatusCode::OK, &created));
    let (_, all) = s.call(Method::GET, "/api/v1/api_key", None).await;
    let names: Vec<&str> = all["api_keys"]
        .as_array()
        .expect("list")
        .iter()
        .map(|k| k["name"].as_str().expect("n"))
        .collect();
    assert_eq!(names, ["Initial API key", "legacy"]);
    assert_eq!(all["api_keys"][0]["key"], s.creds.api_key);

    let (status, renamed) = s
        .call(
            Method::PUT,
            &format!("/api/v1/api_key/{key}"),
            Some(json!({"name": "legacy-2"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(renamed["api_key"]["name"], "legacy-2");
    assert_eq!(renamed["api_key"]["key"], key);

    let (status, deleted) = s
        .call(Method::DELETE, &format!("/api/v1/api_key/{key}"), None)
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "v1 delete answers 200 with the object"
    );
    assert_eq!(deleted["api_key"]["name"], "legacy-2");
    for method in [Method::GET, Method::DELETE] {
        let (status, body) = s
            .call(method, &format!("/api/v1/api_key/{key}"), None)
            .await;
        assert_eq!(
            (status, body),
            (StatusCode::NOT_FOUND, errors("API key not found"))
        );
    }
    let (status, body) = s.call(Method::GET, "/api/v1/api_key/whatever", None).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, errors("API key not found"))
    );
}

#[tokio::test]
async fn v2_rules_hold_through_v1() {
    let s = Server::start().await;
    let missing = errors("Required parameter 'name' is missing");
    assert_eq!(
        s.call(Method::POST, "/api/v1/api_key", Some(json!({})))
            .await,
        (StatusCode::BAD_REQUEST, missing.clone())
    );
    assert_eq!(
        s.call(Method::POST, "/api/v1/application_key", Some(json!({})))
            .await,
        (StatusCode::BAD_REQUEST, missing.clone())
    );
    let (_, first) = s
        .call(
            Method::POST,
            "/api/v1/api_key",
            Some(json!({"name": "one"})),
        )
        .await;
    let first_key = first["api_key"]["key"].as_str().expect("key").to_owned();
    assert_eq!(
        s.call(
            Method::PUT,
            &format!("/api/v1/api_key/{first_key}"),
            Some(json!({}))
        )
        .await,
        (StatusCode::BAD_REQUEST, missing)
    );
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v1/api_key",
            Some(json!({"name": "one"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = s
        .call(Method::POST, "/api/v1/api_key", Some(json!({"name": "  "})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for name in ["two", "three", "four"] {
        let (status, _) = s
            .call(Method::POST, "/api/v1/api_key", Some(json!({"name": name})))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/api_key",
            Some(json!({"name": "six"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the limit of 5 holds through v1"
    );
    assert!(body["errors"][0].as_str().expect("m").contains("at most 5"));

    let (_, all) = s.call(Method::GET, "/api/v1/api_key", None).await;
    let keys: Vec<String> = all["api_keys"]
        .as_array()
        .expect("l")
        .iter()
        .map(|k| k["key"].as_str().expect("k").to_owned())
        .collect();
    for key in keys.iter().filter(|k| **k != s.creds.api_key) {
        let (status, _) = s
            .call(Method::DELETE, &format!("/api/v1/api_key/{key}"), None)
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, body) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/api_key/{}", s.creds.api_key),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the last key stays: {body}"
    );
}

#[tokio::test]
async fn application_keys_in_v1_shapes() {
    let s = Server::start().await;
    let (status, created) = s
        .call(
            Method::POST,
            "/api/v1/application_key",
            Some(json!({"name": "legacy app"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let hash = created["application_key"]["hash"]
        .as_str()
        .expect("hash")
        .to_owned();
    assert_eq!(
        created,
        json!({"application_key": {"owner": s.creds.email, "hash": hash, "name": "legacy app", "revoked": false}})
    );
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/application_key",
            Some(json!({"name": "legacy app"})),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CONFLICT,
            errors("An application key with the name legacy app already exists")
        )
    );
    let (_, other) = s
        .call(
            Method::POST,
            "/api/v1/application_key",
            Some(json!({"name": "other"})),
        )
        .await;
    let other_hash = other["application_key"]["hash"].as_str().expect("hash");
    let (status, body) = s
        .call(
            Method::PUT,
            &format!("/api/v1/application_key/{other_hash}"),
            Some(json!({"name": "legacy app"})),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CONFLICT,
            errors("An application key with the name legacy app already exists")
        )
    );

    let (_, got) = s
        .call(
            Method::GET,
            &format!("/api/v1/application_key/{hash}"),
            None,
        )
        .await;
    assert_eq!(got, created);
    let (_, renamed) = s
        .call(
            Method::PUT,
            &format!("/api/v1/application_key/{hash}"),
            Some(json!({"name": "renamed"})),
        )
        .await;
    assert_eq!(renamed["application_key"]["name"], "renamed");
    let (_, all) = s.call(Method::GET, "/api/v1/application_key", None).await;
    let names: Vec<&str> = all["application_keys"]
        .as_array()
        .expect("l")
        .iter()
        .map(|k| k["name"].as_str().expect("n"))
        .collect();
    assert_eq!(names, ["Initial application key", "other", "renamed"]);

    let (status, deleted) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/application_key/{hash}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted["application_key"]["revoked"], true);
    let (status, body) = s
        .call(
            Method::GET,
            &format!("/api/v1/application_key/{hash}"),
            None,
        )
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, errors("Application key not found"))
    );
    let using_deleted = s
        .http
        .get(s.url("/api/v1/api_key"))
        .header("DD-API-KEY", &s.creds.api_key)
        .header("DD-APPLICATION-KEY", &hash);
    assert_eq!(send(using_deleted).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn keys_work_across_versions_and_in_the_query_string() {
    let s = Server::start().await;
    let (_, v1_key) = s
        .call(
            Method::POST,
            "/api/v1/api_key",
            Some(json!({"name": "from v1"})),
        )
        .await;
    let v1_value = v1_key["api_key"]["key"].as_str().expect("key").to_owned();
    let (_, v2_list) = s
        .call(Method::GET, "/api/v2/api_keys?filter=from%20v1", None)
        .await;
    assert_eq!(v2_list["data"][0]["attributes"]["last4"], &v1_value[28..]);
    let validate = s
        .http
        .get(s.url("/api/v1/validate"))
        .header("DD-API-KEY", &v1_value);
    assert_eq!(send(validate).await.0, StatusCode::OK);

    let (_, v2_app) = s
        .call(
            Method::POST,
            "/api/v2/current_user/application_keys",
            Some(json!({"data": {"type": "application_keys", "attributes": {"name": "from v2"}}})),
        )
        .await;
    let v2_value = v2_app["data"]["attributes"]["key"].as_str().expect("key");
    let (status, got) = s
        .call(
            Method::GET,
            &format!("/api/v1/application_key/{v2_value}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["application_key"]["name"], "from v2");
    let v2_id = v2_app["data"]["id"].as_str().expect("id");
    s.call(
        Method::DELETE,
        &format!("/api/v1/application_key/{v2_value}"),
        None,
    )
    .await;
    let (status, _) = s
        .call(
            Method::GET,
            &format!("/api/v2/application_keys/{v2_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // v1 accepts api_key / application_key in the query string; v2 does not.
    let (status, all) = send(with_query_keys(&s, Method::GET, "/api/v1/api_key")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["api_keys"].as_array().map(Vec::len), Some(2));
    let (status, _) = send(
        with_query_keys(&s, Method::POST, "/api/v1/application_key").json(&json!({"name": "q"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        send(with_query_keys(&s, Method::GET, "/api/v2/api_keys"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let logs = s.logs();
    assert!(
        !logs.contains(&s.creds.app_key) && !logs.contains(&v1_value),
        "a key reached the log"
    );
}

#[tokio::test]
async fn one_time_read_organizations_refuse_v1_application_keys() {
    let s = Server::start().await;
    s.admin(&["set-one-time-read", "true"]);
    let refused = errors("This endpoint is disabled for organizations in One-Time Read mode");
    let app = &s.creds.app_key;
    let calls: [(Method, String, Option<Value>); 5] = [
        (Method::GET, "/api/v1/application_key".into(), None),
        (
            Method::POST,
            "/api/v1/application_key".into(),
            Some(json!({"name": "x"})),
        ),
        (Method::GET, format!("/api/v1/application_key/{app}"), None),
        (
            Method::PUT,
            format!("/api/v1/application_key/{app}"),
            Some(json!({"name": "x"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/application_key/{app}"),
            None,
        ),
    ];
    for (method, path, body) in calls {
        let got = s.call(method.clone(), &path, body).await;
        assert_eq!(
            got,
            (StatusCode::FORBIDDEN, refused.clone()),
            "{method} {path}"
        );
    }
    // API keys through v1 are unaffected.
    assert_eq!(
        s.call(Method::GET, "/api/v1/api_key", None).await.0,
        StatusCode::OK
    );
}
