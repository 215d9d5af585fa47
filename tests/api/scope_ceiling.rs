//! Scopes are a ceiling wherever a credential is made or changed (security review 2026-12,
//! finding 1): a scoped application key cannot mint a wider key, widen or unscope itself,
//! make (or key) a service account with permissions beyond its scopes, or read another
//! owner's key value through v1. Also the scope grammar of issue #18: `[]` means unscoped,
//! unknown names are refused.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const CU: &str = "/api/v2/current_user/application_keys";
const ORG: &str = "/api/v2/application_keys";
const ADMIN_ROLE: &str = "6b2c5a2e-7d0c-11ee-9f0a-0242ac120001";
const READ_ONLY_ROLE: &str = "6b2c5a2e-7d0c-11ee-9f0a-0242ac120003";

fn key_body(name: &str, scopes: Option<Value>) -> Value {
    let mut attributes = json!({ "name": name });
    if let Some(scopes) = scopes {
        attributes["scopes"] = scopes;
    }
    json!({"data": {"type": "application_keys", "attributes": attributes}})
}

fn scopes_body(id: &str, scopes: Value) -> Value {
    json!({"data": {"id": id, "type": "application_keys", "attributes": {"scopes": scopes}}})
}

/// A key of the admin scoped to `scopes`: (id, value).
async fn scoped_key(s: &Server, name: &str, scopes: &[&str]) -> (String, String) {
    let (status, got) = s
        .call(Method::POST, CU, Some(key_body(name, Some(json!(scopes)))))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    let data = &got["data"];
    (
        data["id"].as_str().expect("id").to_owned(),
        data["attributes"]["key"].as_str().expect("key").to_owned(),
    )
}

/// A request with the admin's API key and application key `app`.
async fn call_as(
    s: &Server,
    app: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = s
        .http
        .request(method, s.url(path))
        .header("DD-API-KEY", &s.creds.api_key)
        .header("DD-APPLICATION-KEY", app);
    if let Some(body) = body {
        req = req.json(&body);
    }
    send(req).await
}

fn service_account_body(roles: &[&str]) -> Value {
    let roles: Vec<Value> = roles
        .iter()
        .map(|id| json!({"id": id, "type": "roles"}))
        .collect();
    json!({"data": {"type": "users", "attributes": {
        "email": format!("sa-{}@example.com", uuid::Uuid::new_v4().simple()),
        "service_account": true},
        "relationships": {"roles": {"data": roles}}}})
}

#[tokio::test]
async fn a_scoped_key_cannot_mint_a_wider_key() {
    let s = Server::start().await;
    let (_, scoped) = scoped_key(&s, "scoped", &["user_app_keys", "client_tokens_read"]).await;
    for (label, scopes) in [
        ("unscoped (absent)", None),
        ("unscoped (null)", Some(Value::Null)),
        ("unscoped ([])", Some(json!([]))),
        ("wider", Some(json!(["user_app_keys", "api_keys_write"]))),
    ] {
        let body = key_body(&format!("minted {label}"), scopes);
        let (status, got) = call_as(&s, &scoped, Method::POST, CU, Some(body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{label}: {got}");
    }
    let body = key_body("narrower", Some(json!(["client_tokens_read"])));
    let (status, got) = call_as(&s, &scoped, Method::POST, CU, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    assert_eq!(
        got["data"]["attributes"]["scopes"],
        json!(["client_tokens_read"])
    );
    // The admin's own keys are untouched by the rule.
    let (_, admin_keys) = s.call(Method::GET, CU, None).await;
    let names: Vec<&str> = admin_keys["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|k| k["attributes"]["name"].as_str())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with("minted")), "{names:?}");
}

#[tokio::test]
async fn a_scoped_key_cannot_rescope_itself_or_widen_a_key() {
    let s = Server::start().await;
    let (own_id, own) = scoped_key(&s, "self", &["user_app_keys"]).await;
    for scopes in [
        Value::Null,
        json!([]),
        json!(["user_app_keys", "api_keys_write"]),
    ] {
        let path = format!("{CU}/{own_id}");
        let body = scopes_body(&own_id, scopes.clone());
        let (status, got) = call_as(&s, &own, Method::PATCH, &path, Some(body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{scopes}: {got}");
    }
    // Not even to the same or a narrower set: a key never changes its own scopes.
    let body = scopes_body(&own_id, json!(["user_app_keys"]));
    let path = format!("{CU}/{own_id}");
    let (status, _) = call_as(&s, &own, Method::PATCH, &path, Some(body)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, unchanged) = s.call(Method::GET, &path, None).await;
    assert_eq!(
        unchanged["data"]["attributes"]["scopes"],
        json!(["user_app_keys"])
    );

    // The org surface: org_app_keys_write may narrow other keys, never widen them.
    let (oakw_id, oakw) = scoped_key(
        &s,
        "oakw",
        &["org_app_keys_write", "org_app_keys_read", "user_app_keys"],
    )
    .await;
    let path = format!("{ORG}/{oakw_id}");
    let body = scopes_body(&oakw_id, Value::Null);
    let (status, got) = call_as(&s, &oakw, Method::PATCH, &path, Some(body)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "self via org surface: {got}");
    let (other_id, _) = scoped_key(&s, "other", &["user_app_keys", "org_app_keys_read"]).await;
    let path = format!("{ORG}/{other_id}");
    for widened in [
        Value::Null,
        json!(["user_app_keys", "org_app_keys_read", "org_app_keys_write"]),
    ] {
        let body = scopes_body(&other_id, widened.clone());
        let (status, got) = call_as(&s, &oakw, Method::PATCH, &path, Some(body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{widened}: {got}");
    }
    let body = scopes_body(&other_id, json!(["user_app_keys"]));
    let (status, got) = call_as(&s, &oakw, Method::PATCH, &path, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "narrowing: {got}");
    assert_eq!(
        got["data"]["attributes"]["scopes"],
        json!(["user_app_keys"])
    );
    // A rename changes no scope and stays allowed.
    let body = json!({"data": {"id": other_id, "type": "application_keys",
        "attributes": {"name": "renamed"}}});
    let (status, got) = call_as(&s, &oakw, Method::PATCH, &path, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "rename: {got}");
}

#[tokio::test]
async fn a_scoped_key_cannot_make_or_key_a_wider_service_account() {
    let s = Server::start().await;
    let (_, saw) = scoped_key(&s, "saw", &["service_account_write"]).await;
    let sas = "/api/v2/service_accounts";
    for roles in [&[ADMIN_ROLE][..], &[READ_ONLY_ROLE]] {
        let body = service_account_body(roles);
        let (status, got) = call_as(&s, &saw, Method::POST, sas, Some(body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{roles:?}: {got}");
    }
    // A service account without a role has no permission beyond the scopes.
    let (status, got) = call_as(&s, &saw, Method::POST, sas, Some(service_account_body(&[]))).await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    let roleless = got["data"]["id"].as_str().expect("id").to_owned();
    let body = key_body("for roleless", Some(json!(["service_account_write"])));
    let path = format!("{sas}/{roleless}/application_keys");
    let (status, got) = call_as(&s, &saw, Method::POST, &path, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{got}");

    // An Admin service account made by the admin: the scoped key may not key it.
    let (status, admin_sa) = s
        .call(Method::POST, sas, Some(service_account_body(&[ADMIN_ROLE])))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{admin_sa}");
    let admin_sa = admin_sa["data"]["id"].as_str().expect("id");
    let path = format!("{sas}/{admin_sa}/application_keys");
    for scopes in [None, Some(json!(["service_account_write"]))] {
        let body = key_body("escalation", scopes.clone());
        let (status, got) = call_as(&s, &saw, Method::POST, &path, Some(body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{scopes:?}: {got}");
    }
    let (_, listed) = s.call(Method::GET, &path, None).await;
    assert_eq!(
        listed["meta"]["page"]["total_filtered_count"], 0,
        "{listed}"
    );
}

fn hashes(listed: &Value) -> Vec<String> {
    listed["application_keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["hash"].as_str().expect("hash").to_owned())
        .collect()
}

#[tokio::test]
async fn v1_never_shows_another_owners_key_to_a_read_permission() {
    let s = Server::start().await;
    // A second admin, with an unscoped key from the CLI and a read-only scoped key.
    let body = json!({"data": {"type": "users", "attributes": {"email": "b@example.com"},
        "relationships": {"roles": {"data": [{"id": ADMIN_ROLE, "type": "roles"}]}}}});
    let (status, got) = s.call(Method::POST, "/api/v2/users", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    let out = s.admin(&[
        "create-application-key",
        "--email",
        "b@example.com",
        "--name",
        "b",
    ]);
    let b_unscoped = env_value(&out, "DD_APP_KEY");
    s.await_key_pair(&s.creds.api_key, &b_unscoped).await;
    let body = key_body(
        "b reader",
        Some(json!(["org_app_keys_read", "user_app_keys"])),
    );
    let (status, got) = call_as(&s, &b_unscoped, Method::POST, CU, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    let reader = got["data"]["attributes"]["key"]
        .as_str()
        .expect("key")
        .to_owned();

    let (status, got) = call_as(&s, &reader, Method::GET, "/api/v1/application_key", None).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let seen = hashes(&got);
    assert!(
        !seen.contains(&s.creds.app_key),
        "another admin's key was revealed: {got}"
    );
    assert!(
        !seen.contains(&b_unscoped),
        "the owner's wider key was revealed: {got}"
    );
    assert_eq!(seen, vec![reader.clone()], "{got}");
    // Nor does v2 show a scoped key the secret of its owner's wider key.
    let (_, mine) = call_as(&s, &reader, Method::GET, CU, None).await;
    let wider = mine["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|k| k["attributes"]["name"] == "b")
        .and_then(|k| k["id"].as_str())
        .expect("the CLI key")
        .to_owned();
    let (status, got) = call_as(&s, &reader, Method::GET, &format!("{CU}/{wider}"), None).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert!(!got.to_string().contains(&b_unscoped), "{got}");
    // The unscoped owner still lists its keys in full, and only its own.
    let (_, all) = call_as(
        &s,
        &b_unscoped,
        Method::GET,
        "/api/v1/application_key",
        None,
    )
    .await;
    let mut seen = hashes(&all);
    seen.sort();
    let mut expected = vec![b_unscoped.clone(), reader.clone()];
    expected.sort();
    assert_eq!(seen, expected, "{all}");
}

#[tokio::test]
async fn v1_creates_are_bound_by_the_callers_scopes() {
    let s = Server::start().await;
    let (_, scoped) = scoped_key(&s, "v1 scoped", &["user_app_keys"]).await;
    let body = json!({"name": "made through v1"});
    let (status, got) = call_as(
        &s,
        &scoped,
        Method::POST,
        "/api/v1/application_key",
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let minted = got["application_key"]["hash"].as_str().expect("hash");
    let (status, _) = call_as(&s, minted, Method::GET, "/api/v2/api_keys", None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the v1 key must not be unscoped"
    );
    let (_, mine) = s
        .call(
            Method::GET,
            &format!("{CU}?filter=made%20through%20v1"),
            None,
        )
        .await;
    assert_eq!(
        mine["data"][0]["attributes"]["scopes"],
        json!(["user_app_keys"]),
        "{mine}"
    );
}

#[tokio::test]
async fn empty_scopes_mean_unscoped_and_unknown_scopes_are_refused() {
    let s = Server::start().await;
    let (status, got) = s
        .call(
            Method::POST,
            CU,
            Some(key_body("terraform", Some(json!([])))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    assert_eq!(got["data"]["attributes"]["scopes"], Value::Null, "{got}");
    let (id, _) = scoped_key(&s, "narrow", &["api_keys_read"]).await;
    let path = format!("{CU}/{id}");
    let (status, got) = s
        .call(Method::PATCH, &path, Some(scopes_body(&id, json!([]))))
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["data"]["attributes"]["scopes"], Value::Null, "{got}");
    let (_, reread) = s.call(Method::GET, &path, None).await;
    assert_eq!(reread["data"]["attributes"]["scopes"], Value::Null);
    let (status, _) = s
        .call(Method::PATCH, &path, Some(scopes_body(&id, Value::Null)))
        .await;
    assert_eq!(status, StatusCode::OK);

    for bad in [json!(["dashboards"]), json!(["api_keys_read", "nope"])] {
        let (status, got) = s
            .call(Method::POST, CU, Some(key_body("bad", Some(bad.clone()))))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {got}");
        let message = got["errors"][0].as_str().unwrap_or_default();
        assert!(message.contains("Invalid scopes"), "{message}");
        let (status, got) = s
            .call(Method::PATCH, &path, Some(scopes_body(&id, bad.clone())))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {got}");
        assert!(got.to_string().contains("Invalid scopes"), "{got}");
    }
}
