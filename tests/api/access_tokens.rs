//! Personal and service-account access tokens over raw HTTP: the exact bodies, the token
//! format, bearer and header authentication, the restrictions on token-authenticated calls,
//! revocation, and expiry to the second.

use crate::helpers::*;
use keyplane::domain::access_token::{self, AccessToken, TokenKind};
use keyplane::domain::time;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use uuid::Uuid;

const DAY: i64 = 86_400;

/// RFC 3339 `seconds` from now, at second precision.
fn in_seconds(seconds: i64) -> String {
    let at = ::time::OffsetDateTime::now_utc() + ::time::Duration::seconds(seconds);
    at.replace_nanosecond(0)
        .expect("whole second")
        .format(&::time::format_description::well_known::Rfc3339)
        .expect("format")
}

pub fn pat_body(name: &str, scopes: &[&str], expires_at: Option<&str>) -> Value {
    let mut attributes = json!({"name": name, "scopes": scopes});
    if let Some(at) = expires_at {
        attributes["expires_at"] = json!(at);
    }
    json!({"data": {"type": "personal_access_tokens", "attributes": attributes}})
}

fn sat_body(name: &str, scopes: &[&str], expires_at: Option<&str>) -> Value {
    let mut body = pat_body(name, scopes, expires_at);
    body["data"]["type"] = json!("service_access_tokens");
    body
}

/// Creates a personal token for the admin and returns `(id, token)`.
pub async fn create_pat(s: &Server, scopes: &[&str]) -> (String, String) {
    let expires = in_seconds(30 * DAY);
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v2/personal_access_tokens",
            Some(pat_body("ci", scopes, Some(&expires))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["data"]["id"].as_str().expect("id").to_owned();
    let key = body["data"]["attributes"]["key"].as_str().expect("key");
    (id, key.to_owned())
}

/// Creates a service account and returns its id.
pub async fn create_service_account(s: &Server, email: &str) -> String {
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v2/service_accounts",
            Some(json!({"data": {"type": "users", "attributes": {
                "email": email, "service_account": true}}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["id"].as_str().expect("id").to_owned()
}

fn bearer(s: &Server, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    s.http
        .request(method, s.url(path))
        .header("Authorization", format!("Bearer {token}"))
}

async fn status_with_bearer(s: &Server, path: &str, token: &str) -> StatusCode {
    send(bearer(s, Method::GET, path, token)).await.0
}

#[tokio::test]
async fn personal_token_lifecycle_with_exact_bodies() {
    let s = Server::start().await;
    let expires = in_seconds(30 * DAY);
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v2/personal_access_tokens",
            Some(pat_body("deploy", &["api_keys_read"], Some(&expires))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let data = &body["data"];
    let id = data["id"].as_str().expect("id");
    let uuid = Uuid::parse_str(id).expect("uuid");
    let key = data["attributes"]["key"].as_str().expect("key");
    assert_eq!(key.len(), 65);
    assert_eq!(access_token::parse(key), Some((TokenKind::Personal, uuid)));
    let attrs = data["attributes"].as_object().expect("attributes");
    let mut fields: Vec<&str> = attrs.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "created_at",
            "expires_at",
            "key",
            "name",
            "public_portion",
            "scopes"
        ]
    );
    assert_eq!(data["type"], "personal_access_tokens");
    assert_eq!(attrs["public_portion"], access_token::alias(uuid));
    assert_eq!(attrs["expires_at"], expires.as_str());
    assert_eq!(attrs["scopes"], json!(["api_keys_read"]));
    assert_eq!(data["relationships"]["owned_by"]["data"]["type"], "users");

    // Never shown again; `last_used_at` appears, `modified_at` only after a change.
    let path = format!("/api/v2/personal_access_tokens/{id}");
    let (status, got) = s.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert!(got["data"]["attributes"].get("key").is_none(), "{got}");
    assert!(!got.to_string().contains(key));
    assert_eq!(got["data"]["attributes"]["last_used_at"], Value::Null);
    assert!(got["data"]["attributes"].get("modified_at").is_none());

    let patch = json!({"data": {"id": id, "type": "personal_access_tokens",
        "attributes": {"name": "deploy 2", "scopes": ["api_keys_read", "user_access_read"]}}});
    let (status, changed) = s.call(Method::PATCH, &path, Some(patch)).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["data"]["attributes"]["name"], "deploy 2");
    assert!(changed["data"]["attributes"]["modified_at"].is_string());
    assert_eq!(
        changed["data"]["attributes"]["expires_at"],
        expires.as_str()
    );

    // The expiry is immutable.
    let patch = json!({"data": {"id": id, "type": "personal_access_tokens",
        "attributes": {"expires_at": in_seconds(40 * DAY)}}});
    let (status, _) = s.call(Method::PATCH, &path, Some(patch)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, list) = s
        .call(Method::GET, "/api/v2/personal_access_tokens", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["meta"]["page"]["total_filtered_count"], 1);
    assert_eq!(list["data"][0]["id"], id);

    // The token works, then a revoke ends it at once; a second DELETE is 204 too.
    assert_eq!(
        status_with_bearer(&s, "/api/v2/api_keys", key).await,
        StatusCode::OK
    );
    for _ in 0..2 {
        let (status, body) = s.call(Method::DELETE, &path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    assert_eq!(
        status_with_bearer(&s, "/api/v2/api_keys", key).await,
        StatusCode::FORBIDDEN
    );
    let (status, _) = s.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn expiry_and_scopes_are_validated() {
    let s = Server::start().await;
    let cases = [
        pat_body("none", &["api_keys_read"], None),
        pat_body("soon", &["api_keys_read"], Some(&in_seconds(DAY - 60))),
        pat_body("late", &["api_keys_read"], Some(&in_seconds(366 * DAY))),
        pat_body("bad date", &["api_keys_read"], Some("tomorrow")),
        pat_body("no scopes", &[], Some(&in_seconds(2 * DAY))),
        pat_body("bad scope", &["nope"], Some(&in_seconds(2 * DAY))),
        sat_body("wrong type", &["api_keys_read"], Some(&in_seconds(2 * DAY))),
    ];
    for body in cases {
        let (status, answer) = s
            .call(
                Method::POST,
                "/api/v2/personal_access_tokens",
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {answer}");
        assert!(answer["errors"][0].is_string(), "{answer}");
    }
    let (status, answer) = s
        .call(
            Method::POST,
            "/api/v2/personal_access_tokens",
            Some(pat_body("bad scope", &["nope"], Some(&in_seconds(2 * DAY)))),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["errors"][0]
        .as_str()
        .is_some_and(|e| e.contains("Invalid scopes")));
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v2/personal_access_tokens",
            Some(pat_body(
                "edge",
                &["api_keys_read"],
                Some(&in_seconds(DAY + 60)),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn bearer_and_application_key_header_forms() {
    let s = Server::start().await;
    let (_, token) = create_pat(&s, &["api_keys_read"]).await;
    // Terraform's `bearer_token` configure check: Bearer + the token as application key,
    // no API key.
    let req = bearer(&s, Method::GET, "/api/v2/validate_keys", &token)
        .header("DD-APPLICATION-KEY", &token);
    let (status, body) = send(req).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
    assert_eq!(
        status_with_bearer(&s, "/api/v2/validate_keys", &token).await,
        StatusCode::OK
    );
    // In DD-APPLICATION-KEY the API key is optional and not evaluated.
    for api in [None, Some("0123456789abcdef0123456789abcdef")] {
        let mut req = s
            .http
            .get(s.url("/api/v2/api_keys"))
            .header("DD-APPLICATION-KEY", &token);
        if let Some(api) = api {
            req = req.header("DD-API-KEY", api);
        }
        assert_eq!(send(req).await.0, StatusCode::OK);
    }
    // Scopes are a ceiling: reading keys yes, creating them no.
    let req = bearer(&s, Method::POST, "/api/v2/api_keys", &token).json(&api_key_body("x"));
    assert_eq!(send(req).await.0, StatusCode::FORBIDDEN);
    // Mistyped, truncated or foreign tokens are refused.
    let mut typo = token.clone().into_bytes();
    typo[10] = if typo[10] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).expect("ascii");
    for bad in [typo.as_str(), &token[..64], "ddpat_nonsense", "Basic abc"] {
        assert_eq!(
            status_with_bearer(&s, "/api/v2/api_keys", bad).await,
            StatusCode::FORBIDDEN,
            "{bad}"
        );
    }
    // A token does not authenticate the Agent's API-key-only validate.
    let req = s
        .http
        .get(s.url("/api/v1/validate"))
        .header("DD-API-KEY", &token);
    assert_eq!(send(req).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn token_authenticated_calls_are_restricted() {
    let s = Server::start().await;
    let (_, token) = create_pat(&s, &["user_app_keys", "api_keys_read"]).await;
    // No application keys from a token: create and update are refused, revoke allowed.
    let app = json!({"data": {"type": "application_keys", "attributes": {"name": "k"}}});
    let req = bearer(
        &s,
        Method::POST,
        "/api/v2/current_user/application_keys",
        &token,
    )
    .json(&app);
    assert_eq!(send(req).await.0, StatusCode::FORBIDDEN);
    let (status, created) = s
        .call(
            Method::POST,
            "/api/v2/current_user/application_keys",
            Some(app),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let app_id = created["data"]["id"].as_str().expect("id");
    let path = format!("/api/v2/current_user/application_keys/{app_id}");
    let rename = json!({"data": {"id": app_id, "type": "application_keys",
        "attributes": {"name": "renamed"}}});
    let req = bearer(&s, Method::PATCH, &path, &token).json(&rename);
    assert_eq!(send(req).await.0, StatusCode::FORBIDDEN);
    let req = bearer(&s, Method::DELETE, &path, &token);
    assert_eq!(send(req).await.0, StatusCode::NO_CONTENT);

    // New tokens: within its scopes and no longer-lived than itself.
    let post = |body: Value| {
        bearer(&s, Method::POST, "/api/v2/personal_access_tokens", &token).json(&body)
    };
    let wider = pat_body("w", &["api_keys_write"], Some(&in_seconds(2 * DAY)));
    assert_eq!(send(post(wider)).await.0, StatusCode::FORBIDDEN);
    let later = pat_body("l", &["api_keys_read"], Some(&in_seconds(60 * DAY)));
    assert_eq!(send(post(later)).await.0, StatusCode::FORBIDDEN);
    let fine = pat_body("f", &["api_keys_read"], Some(&in_seconds(2 * DAY)));
    let (status, body) = send(post(fine)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn service_account_tokens_as_terraform_manages_them() {
    let s = Server::start().await;
    let sa = create_service_account(&s, "robot@example.com").await;
    let base = format!("/api/v2/service_accounts/{sa}/access_tokens");
    let (status, empty) = s.call(Method::GET, &base, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        empty,
        json!({"data": [], "meta": {"page": {"total_filtered_count": 0}}})
    );
    // datadog_service_access_token: create (no expiry), read, update, delete, delete again.
    let (status, body) = s
        .call(
            Method::POST,
            &base,
            Some(sat_body("tf", &["api_keys_read"], None)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let data = &body["data"];
    let id = data["id"].as_str().expect("id");
    let key = data["attributes"]["key"].as_str().expect("key");
    let uuid = Uuid::parse_str(id).expect("uuid");
    assert_eq!(data["type"], "service_access_tokens");
    assert_eq!(data["attributes"]["expires_at"], Value::Null);
    assert_eq!(
        data["attributes"]["public_portion"],
        format!("ddsat_{}", access_token::alias(uuid))
    );
    assert_eq!(
        data["relationships"]["owned_by"]["data"],
        json!({"id": sa, "type": "service_account"})
    );
    assert_eq!(
        access_token::parse(key),
        Some((TokenKind::ServiceAccount, uuid))
    );
    // A service account without roles holds no permission, but its token authenticates.
    assert_eq!(
        status_with_bearer(&s, "/api/v2/validate_keys", key).await,
        StatusCode::OK
    );
    let path = format!("{base}/{id}");
    let (status, got) = s.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert!(got["data"]["attributes"].get("key").is_none());
    let patch = json!({"data": {"id": id, "type": "service_access_tokens",
        "attributes": {"name": "tf2", "scopes": ["api_keys_read"]}}});
    let (status, changed) = s.call(Method::PATCH, &path, Some(patch)).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["data"]["attributes"]["name"], "tf2");
    // The organization's list shows service-account tokens too.
    let (_, all) = s
        .call(Method::GET, "/api/v2/personal_access_tokens", None)
        .await;
    assert_eq!(all["data"][0]["type"], "service_access_tokens");
    let owned = format!("/api/v2/personal_access_tokens?filter[owned_by]={sa}");
    let (_, by_owner) = s.call(Method::GET, &owned, None).await;
    assert_eq!(by_owner["meta"]["page"]["total_filtered_count"], 1);
    for _ in 0..2 {
        assert_eq!(
            s.call(Method::DELETE, &path, None).await.0,
            StatusCode::NO_CONTENT
        );
    }
    assert_eq!(
        s.call(Method::GET, &path, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status_with_bearer(&s, "/api/v2/validate_keys", key).await,
        StatusCode::FORBIDDEN
    );
    // A service account's expiry is optional but at most a year.
    let late = sat_body("late", &["api_keys_read"], Some(&in_seconds(366 * DAY)));
    assert_eq!(
        s.call(Method::POST, &base, Some(late)).await.0,
        StatusCode::BAD_REQUEST
    );
    let unknown = format!("/api/v2/service_accounts/{}/access_tokens", Uuid::new_v4());
    assert_eq!(
        s.call(Method::GET, &unknown, None).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn validate_v2_names_the_api_key() {
    let s = Server::start().await;
    let req = s
        .http
        .get(s.url("/api/v2/validate"))
        .header("DD-API-KEY", &s.creds.api_key);
    let (status, body) = send(req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["type"], "validate_v2");
    assert_eq!(body["data"]["attributes"]["valid"], true);
    let (_, keys) = s.call(Method::GET, "/api/v2/api_keys", None).await;
    assert_eq!(
        body["data"]["attributes"]["api_key_id"],
        keys["data"][0]["id"]
    );
    assert!(body["data"]["attributes"]["api_key_scopes"].is_array());
    let req = s
        .http
        .get(s.url("/api/v2/validate"))
        .header("DD-API-KEY", "nope");
    assert_eq!(send(req).await.0, StatusCode::FORBIDDEN);
}

/// A token the API would refuse to make (it expires in seconds), written straight into the
/// store the server runs on: it authenticates until its `expires_at` and not from then on.
#[tokio::test]
async fn an_expired_token_is_refused_from_the_second_it_expires() {
    let s = Server::start_sqlite_with(&[]).await;
    let req = s
        .http
        .get(s.url("/api/v2/validate"))
        .header("DD-API-KEY", &s.creds.api_key);
    let org_id = send(req).await.1["data"]["id"]
        .as_str()
        .expect("org")
        .to_owned();
    let (_, users) = s.call(Method::GET, "/api/v2/users", None).await;
    let admin = users["data"][0]["id"].as_str().expect("admin").to_owned();
    let url = format!("sqlite://{}", s.data_dir().join("keyplane.db").display());
    let store = keyplane::store::connect(&url).await.expect("store");
    let id = Uuid::new_v4();
    let secret = access_token::generate(TokenKind::Personal, id);
    let now = time::now();
    let expires_at = now + 3_000_000;
    let token = AccessToken {
        id,
        org_id: Uuid::parse_str(&org_id).expect("uuid"),
        owner_id: Uuid::parse_str(&admin).expect("uuid"),
        kind: TokenKind::Personal,
        name: "short".into(),
        digest: secret.digest(),
        scopes: vec!["api_keys_read".into()],
        created_at: now,
        expires_at: Some(expires_at),
        modified_at: None,
        last_used_at: None,
    };
    store.create_access_token(&token).await.expect("insert");
    // The server hears of it through the change log.
    let path = "/api/v2/api_keys";
    let mut seen = false;
    while time::now() < expires_at - 1_000_000 {
        if status_with_bearer(&s, path, secret.expose()).await == StatusCode::OK {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen, "the token never authenticated before it expired");
    let wait = expires_at - time::now();
    tokio::time::sleep(Duration::from_micros(u64::try_from(wait).unwrap_or(0))).await;
    assert_eq!(
        status_with_bearer(&s, path, secret.expose()).await,
        StatusCode::FORBIDDEN
    );
}

/// Two nodes on one PostgreSQL database: a token made on A works on B, and a revoke on A is
/// refused by B within a second (the change log carries tokens as it carries keys).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_on_every_node() {
    let Some(a) = Server::start_postgres_with(&["--auth-failure-burst", "0"]).await else {
        return;
    };
    let b = Server::start_node_of(&a, &["--auth-failure-burst", "0"]).await;
    let (id, token) = create_pat(&a, &["api_keys_read"]).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while status_with_bearer(&b, "/api/v2/api_keys", &token).await != StatusCode::OK {
        assert!(
            std::time::Instant::now() < deadline,
            "B never saw the token"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let path = format!("/api/v2/personal_access_tokens/{id}");
    assert_eq!(
        a.call(Method::DELETE, &path, None).await.0,
        StatusCode::NO_CONTENT
    );
    let revoked = std::time::Instant::now();
    while status_with_bearer(&b, "/api/v2/api_keys", &token).await != StatusCode::FORBIDDEN {
        assert!(
            revoked.elapsed() < Duration::from_secs(1),
            "B still accepts a token revoked a second ago"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The audit trail's newest records, newest first, as `(action, target, via, token)`.
async fn audited(s: &Server, count: usize) -> Vec<(String, String, String, Value)> {
    let (status, body) = s.call(Method::GET, "/api/v2/audit/events", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let events = body["data"].as_array().expect("data");
    events
        .iter()
        .take(count)
        .map(|e| {
            let a = &e["attributes"];
            let text = |f: &str| a[f].as_str().unwrap_or_default().to_owned();
            (
                text("action"),
                text("target_id"),
                text("via"),
                a["access_token_id"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn token_creates_changes_and_revokes_are_audited_with_the_acting_credential() {
    let s = Server::start().await;
    let (id, token) = create_pat(&s, &["user_app_keys", "api_keys_read"]).await;
    let path = format!("/api/v2/personal_access_tokens/{id}");
    let patch = json!({"data": {"id": id, "type": "personal_access_tokens",
        "attributes": {"name": "ci-2"}}});
    assert_eq!(
        s.call(Method::PATCH, &path, Some(patch)).await.0,
        StatusCode::OK
    );
    // A token acting is recorded as that token.
    let child = pat_body("child", &["api_keys_read"], Some(&in_seconds(2 * DAY)));
    let req = bearer(&s, Method::POST, "/api/v2/personal_access_tokens", &token).json(&child);
    let (status, body) = send(req).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let child_id = body["data"]["id"].as_str().expect("id").to_owned();
    // Revoking twice is recorded once: the second DELETE changes nothing.
    for _ in 0..2 {
        assert_eq!(
            s.call(Method::DELETE, &path, None).await.0,
            StatusCode::NO_CONTENT
        );
    }
    let sa = create_service_account(&s, "audited-robot@example.com").await;
    let base = format!("/api/v2/service_accounts/{sa}/access_tokens");
    let (status, body) = s
        .call(
            Method::POST,
            &base,
            Some(sat_body("sa", &["api_keys_read"], None)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let sat = body["data"]["id"].as_str().expect("id").to_owned();
    let sat_path = format!("{base}/{sat}");
    let patch = json!({"data": {"id": sat, "type": "service_access_tokens",
        "attributes": {"scopes": ["api_keys_read", "user_app_keys"]}}});
    assert_eq!(
        s.call(Method::PATCH, &sat_path, Some(patch)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        s.call(Method::DELETE, &sat_path, None).await.0,
        StatusCode::NO_CONTENT
    );

    let key =
        |a: &str, t: &str, via: &str, by: Value| (a.to_owned(), t.to_owned(), via.to_owned(), by);
    let token_records: Vec<_> = audited(&s, 20)
        .await
        .into_iter()
        .filter(|(action, ..)| action.starts_with("access_token."))
        .collect();
    assert_eq!(
        token_records,
        [
            key("access_token.revoke", &sat, "key", Value::Null),
            key("access_token.update", &sat, "key", Value::Null),
            key("access_token.create", &sat, "key", Value::Null),
            key("access_token.revoke", &id, "key", Value::Null),
            key("access_token.create", &child_id, "token", json!(id)),
            key("access_token.update", &id, "key", Value::Null),
            key("access_token.create", &id, "key", Value::Null),
        ]
    );
    let (_, all) = s.call(Method::GET, "/api/v2/audit/events", None).await;
    assert!(
        !all.to_string().contains(&token),
        "a token reached the audit trail"
    );
    let (status, filtered) = s
        .call(
            Method::GET,
            "/api/v2/audit/events?filter[action]=access_token.revoke",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{filtered}");
    assert_eq!(filtered["data"].as_array().map(Vec::len), Some(2));
}
