//! Key expiry: `expires_at` on API keys, application keys and client tokens, refused from
//! that instant by every check (validate, key pairs, the intake gate, client-token
//! validation), set and cleared by updates, bounded by the organization's
//! `max_key_lifetime_days`, and answered only when set so Datadog's shape and its official
//! client are unchanged.

use crate::helpers::*;
use datadog_api_client::datadogV2::api_key_management::KeyManagementAPI;
use keyplane::domain::time;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

const SECOND: i64 = 1_000_000;
const DAY: i64 = 86_400 * SECOND;
const CU_APP_KEYS: &str = "/api/v2/current_user/application_keys";
const LIFETIME: &str = "/api/v2/org_configs/max_key_lifetime_days";

/// `now` + `micros`, as the API takes and answers it.
fn from_now(micros: i64) -> (i64, String) {
    let at = time::now() + micros;
    (at, time::format(at))
}

fn body(kind: &str, attributes: Value) -> Value {
    json!({"data": {"type": kind, "attributes": attributes}})
}

fn change(kind: &str, id: &str, attributes: Value) -> Value {
    json!({"data": {"type": kind, "id": id, "attributes": attributes}})
}

fn attribute_names(doc: &Value) -> BTreeSet<String> {
    doc["data"]["attributes"]
        .as_object()
        .expect("attributes")
        .keys()
        .cloned()
        .collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

async fn created(s: &Server, path: &str, doc: Value) -> Value {
    let (status, body) = s.call(Method::POST, path, Some(doc)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

fn id_and_key(doc: &Value) -> (String, String) {
    let id = doc["data"]["id"].as_str().expect("id").to_owned();
    let key = doc["data"]["attributes"]["key"].as_str().expect("key");
    (id, key.to_owned())
}

/// What every check answers for the three credentials, in order: the Agent's validate, the
/// intake gate, v2 validate, the key pair (with the admin's API key), client-token validation.
async fn checks(s: &Server, api: &str, app: &str, token: &str) -> Vec<StatusCode> {
    let get = |path: &str| s.http.get(s.url(path));
    let reqs = [
        get("/api/v1/validate").header("DD-API-KEY", api),
        get("/intake/authorize")
            .header("X-Original-URI", "/api/v2/series")
            .header("DD-API-KEY", api),
        get("/api/v2/validate").header("DD-API-KEY", api),
        get("/api/v2/validate_keys")
            .header("DD-API-KEY", &s.creds.api_key)
            .header("DD-APPLICATION-KEY", app),
        get("/api/v1/validate_client_token").header("DD-CLIENT-TOKEN", token),
    ];
    let mut out = Vec::new();
    for req in reqs {
        out.push(send(req).await.0);
    }
    out
}

async fn expire_on_time(s: Server) {
    let (at, expires) = from_now(3 * SECOND);
    let attrs = json!({"name": "short-lived", "expires_at": expires});
    let api = created(&s, "/api/v2/api_keys", body("api_keys", attrs.clone())).await;
    let app = created(&s, CU_APP_KEYS, body("application_keys", attrs.clone())).await;
    let token = created(&s, "/api/v2/client_tokens", body("client_tokens", attrs)).await;
    for doc in [&api, &app, &token] {
        assert_eq!(doc["data"]["attributes"]["expires_at"], expires, "{doc}");
    }
    let ((_, api), (_, app), (_, token)) = (id_and_key(&api), id_and_key(&app), id_and_key(&token));
    assert_eq!(
        checks(&s, &api, &app, &token).await,
        vec![StatusCode::OK; 5],
        "before expiry"
    );
    let wait = at - time::now() + 100_000;
    tokio::time::sleep(Duration::from_micros(u64::try_from(wait).unwrap_or(0))).await;
    assert_eq!(
        checks(&s, &api, &app, &token).await,
        vec![StatusCode::FORBIDDEN; 5],
        "after expiry"
    );
    // The admin's own keys, which never expire, still work.
    let (status, _) = s.call(Method::GET, "/api/v2/api_keys", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn each_kind_works_until_its_expiry_then_is_refused_on_sqlite() {
    expire_on_time(Server::start().await).await;
}

#[tokio::test]
async fn each_kind_works_until_its_expiry_then_is_refused_on_postgres() {
    let Some(s) = Server::start_postgres().await else {
        return;
    };
    expire_on_time(s).await;
}

/// A node that learned of the keys before they expired refuses them at the instant, though
/// nothing is written then (an expiry changes no row, so no node hears of it).
#[tokio::test]
async fn every_node_refuses_at_the_instant_on_postgres() {
    let Some(a) = Server::start_postgres().await else {
        return;
    };
    let b = Server::start_node_of(&a, &[]).await;
    let (at, expires) = from_now(5 * SECOND);
    let attrs = json!({"name": "short-lived", "expires_at": expires});
    let api = created(&a, "/api/v2/api_keys", body("api_keys", attrs.clone())).await;
    let app = created(&a, CU_APP_KEYS, body("application_keys", attrs.clone())).await;
    let token = created(&a, "/api/v2/client_tokens", body("client_tokens", attrs)).await;
    let ((_, api), (_, app), (_, token)) = (id_and_key(&api), id_and_key(&app), id_and_key(&token));
    let mut seen = Vec::new();
    while time::now() < at - SECOND {
        seen = checks(&b, &api, &app, &token).await;
        if seen == vec![StatusCode::OK; 5] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, vec![StatusCode::OK; 5], "node B before expiry");
    let wait = at - time::now() + 100_000;
    tokio::time::sleep(Duration::from_micros(u64::try_from(wait).unwrap_or(0))).await;
    for node in [&b, &a] {
        assert_eq!(
            checks(node, &api, &app, &token).await,
            vec![StatusCode::FORBIDDEN; 5],
            "after expiry"
        );
    }
}

#[tokio::test]
async fn updates_set_keep_and_clear_the_expiry() {
    let s = Server::start().await;
    let (_, later) = from_now(DAY);
    let (_, latest) = from_now(2 * DAY);
    let cases = [
        ("api_keys", "/api/v2/api_keys".to_owned()),
        ("application_keys", CU_APP_KEYS.to_owned()),
        ("client_tokens", "/api/v2/client_tokens".to_owned()),
    ];
    for (kind, path) in cases {
        let doc = created(&s, &path, body(kind, json!({"name": format!("{kind} a")}))).await;
        let (id, _) = id_and_key(&doc);
        let one = format!("{path}/{id}");
        let patch = |attrs: Value| s.call(Method::PATCH, &one, Some(change(kind, &id, attrs)));
        let (status, doc) = patch(json!({"name": format!("{kind} a"), "expires_at": later})).await;
        assert_eq!(status, StatusCode::OK, "{kind}: {doc}");
        assert_eq!(doc["data"]["attributes"]["expires_at"], later, "{kind}");
        // Absent: unchanged.
        let (status, doc) = patch(json!({"name": format!("{kind} b")})).await;
        assert_eq!(status, StatusCode::OK, "{kind}: {doc}");
        assert_eq!(doc["data"]["attributes"]["expires_at"], later, "{kind}");
        let (status, doc) = patch(json!({"name": format!("{kind} b"), "expires_at": latest})).await;
        assert_eq!(status, StatusCode::OK, "{kind}: {doc}");
        let (_, read) = s.call(Method::GET, &one, None).await;
        assert_eq!(
            read["data"]["attributes"]["expires_at"], latest,
            "{kind}: {read}"
        );
        // null clears it.
        let (status, doc) = patch(json!({"name": format!("{kind} b"), "expires_at": null})).await;
        assert_eq!(status, StatusCode::OK, "{kind}: {doc}");
        assert!(
            doc["data"]["attributes"].get("expires_at").is_none(),
            "{kind}: {doc}"
        );
        let (_, read) = s.call(Method::GET, &one, None).await;
        assert!(
            read["data"]["attributes"].get("expires_at").is_none(),
            "{kind}: {read}"
        );
    }
}

#[tokio::test]
async fn a_cleared_expiry_lets_the_key_live_on() {
    let s = Server::start().await;
    let (at, soon) = from_now(2 * SECOND);
    let doc = created(
        &s,
        "/api/v2/api_keys",
        body("api_keys", json!({"name": "reprieved", "expires_at": soon})),
    )
    .await;
    let (id, key) = id_and_key(&doc);
    let cleared = change(
        "api_keys",
        &id,
        json!({"name": "reprieved", "expires_at": null}),
    );
    let path = format!("/api/v2/api_keys/{id}");
    let (status, _) = s.call(Method::PATCH, &path, Some(cleared)).await;
    assert_eq!(status, StatusCode::OK);
    let wait = at - time::now() + 100_000;
    tokio::time::sleep(Duration::from_micros(u64::try_from(wait).unwrap_or(0))).await;
    let validate = s
        .http
        .get(s.url("/api/v1/validate"))
        .header("DD-API-KEY", &key);
    assert_eq!(send(validate).await.0, StatusCode::OK);
}

#[tokio::test]
async fn past_dates_and_bad_formats_are_refused() {
    let s = Server::start().await;
    let (_, past) = from_now(-SECOND);
    let bad: [(Value, &str); 5] = [
        (json!(past), "expires_at must be in the future"),
        (
            json!(time::format(time::now())),
            "expires_at must be in the future",
        ),
        (
            json!("next tuesday"),
            "expires_at must be an RFC 3339 date-time",
        ),
        (
            json!("2030-02-30T00:00:00Z"),
            "expires_at must be an RFC 3339 date-time",
        ),
        (json!(1_900_000_000), ""),
    ];
    let (api_id, _) = s.create_api_key("to change").await;
    for (kind, path) in [
        ("api_keys", "/api/v2/api_keys"),
        ("application_keys", CU_APP_KEYS),
        ("client_tokens", "/api/v2/client_tokens"),
    ] {
        for (value, message) in &bad {
            let attrs = json!({"name": "refused", "expires_at": value});
            let (status, doc) = s.call(Method::POST, path, Some(body(kind, attrs))).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{kind} {value}: {doc}");
            let text = doc["errors"][0].as_str().expect("Datadog's error shape");
            assert!(text.contains(message), "{kind} {value}: {text}");
        }
    }
    let path = format!("/api/v2/api_keys/{api_id}");
    let attrs = json!({"name": "to change", "expires_at": past});
    let (status, doc) = s
        .call(
            Method::PATCH,
            &path,
            Some(change("api_keys", &api_id, attrs)),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{doc}");
    let (status, listed) = s
        .call(Method::GET, "/api/v2/api_keys?filter=refused", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["data"], json!([]), "nothing was created");
}

#[tokio::test]
async fn the_organizations_longest_lifetime_applies_to_new_keys() {
    let s = Server::start().await;
    let value = |v: Value| json!({"data": {"type": "org_configs", "attributes": {"value": v}}});
    let (status, doc) = s
        .call(Method::PATCH, LIFETIME, Some(value(json!(30))))
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(doc["data"]["attributes"]["value"], 30);
    let (status, doc) = s
        .call(Method::PATCH, LIFETIME, Some(value(json!("30"))))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{doc}");

    let (_, within) = from_now(29 * DAY);
    let (_, beyond) = from_now(31 * DAY);
    for (kind, path) in [
        ("api_keys", "/api/v2/api_keys"),
        ("application_keys", CU_APP_KEYS),
        ("client_tokens", "/api/v2/client_tokens"),
    ] {
        // Without expires_at: created_at + 30 days.
        let doc = created(
            &s,
            path,
            body(kind, json!({"name": format!("{kind} default")})),
        )
        .await;
        let attrs = &doc["data"]["attributes"];
        let created_at = time::parse(attrs["created_at"].as_str().expect("created_at"));
        let expires_at = attrs["expires_at"].as_str().and_then(time::parse);
        assert_eq!(
            expires_at,
            created_at.map(|c| c + 30 * DAY),
            "{kind}: {doc}"
        );
        let attrs = json!({"name": format!("{kind} within"), "expires_at": within});
        let doc = created(&s, path, body(kind, attrs)).await;
        assert_eq!(doc["data"]["attributes"]["expires_at"], within);
        let attrs = json!({"name": format!("{kind} beyond"), "expires_at": beyond});
        let (status, doc) = s.call(Method::POST, path, Some(body(kind, attrs))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{kind}: {doc}");
        let text = doc["errors"][0].as_str().expect("error");
        assert!(
            text.contains("max_key_lifetime_days") && text.contains("30 days"),
            "{text}"
        );
        // Nor can an update lift it.
        let (id, _) =
            id_and_key(&created(&s, path, body(kind, json!({"name": format!("{kind} x")}))).await);
        let attrs = json!({"name": format!("{kind} x"), "expires_at": null});
        let (status, doc) = s
            .call(
                Method::PATCH,
                &format!("{path}/{id}"),
                Some(change(kind, &id, attrs)),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{kind}: {doc}");
    }

    // null (or 0): unlimited again.
    let (status, _) = s
        .call(Method::PATCH, LIFETIME, Some(value(json!(null))))
        .await;
    assert_eq!(status, StatusCode::OK);
    let doc = created(
        &s,
        "/api/v2/api_keys",
        body("api_keys", json!({"name": "forever"})),
    )
    .await;
    assert!(
        doc["data"]["attributes"].get("expires_at").is_none(),
        "{doc}"
    );
}

#[tokio::test]
async fn responses_without_expiry_keep_datadogs_attributes() {
    let s = Server::start().await;
    let api_create = [
        "category",
        "created_at",
        "key",
        "last4",
        "modified_at",
        "name",
        "remote_config_read_enabled",
    ];
    let usage = ["date_last_used", "last_used_date", "used_in_last_24_hours"];
    let app_create = ["created_at", "key", "last4", "name", "scopes"];
    let token = ["created_at", "key", "last4", "modified_at", "name"];
    let with = |list: &[&str], extra: &[&str]| {
        let mut all = names(list);
        all.extend(names(extra));
        all
    };
    let (_, later) = from_now(DAY);
    for (kind, path, on_create, on_get) in [
        (
            "api_keys",
            "/api/v2/api_keys",
            names(&api_create),
            with(&api_create, &usage),
        ),
        (
            "application_keys",
            CU_APP_KEYS,
            names(&app_create),
            with(&app_create, &["last_used_at"]),
        ),
        (
            "client_tokens",
            "/api/v2/client_tokens",
            names(&token),
            names(&token),
        ),
    ] {
        let plain = created(
            &s,
            path,
            body(kind, json!({"name": format!("{kind} plain")})),
        )
        .await;
        assert_eq!(attribute_names(&plain), on_create, "{kind}: {plain}");
        let (id, _) = id_and_key(&plain);
        let (_, read) = s.call(Method::GET, &format!("{path}/{id}"), None).await;
        assert_eq!(attribute_names(&read), on_get, "{kind}: {read}");
        let attrs = json!({"name": format!("{kind} expiring"), "expires_at": later});
        let expiring = created(&s, path, body(kind, attrs)).await;
        let mut expected = on_create.clone();
        expected.insert("expires_at".to_owned());
        assert_eq!(attribute_names(&expiring), expected, "{kind}");
    }
}

#[tokio::test]
async fn the_official_client_parses_keys_with_an_expiry() {
    let s = Server::start().await;
    let (_, later) = from_now(DAY);
    let attrs = json!({"name": "official expiring", "expires_at": later});
    let (id, _) =
        id_and_key(&created(&s, "/api/v2/api_keys", body("api_keys", attrs.clone())).await);
    let (app_id, _) = id_and_key(&created(&s, CU_APP_KEYS, body("application_keys", attrs)).await);
    let api = KeyManagementAPI::with_config(s.dd_config());

    let got = api
        .get_api_key(id.clone(), Default::default())
        .await
        .expect("get API key");
    let key = got.data.expect("data");
    let attrs = key.attributes.expect("attributes");
    assert_eq!(attrs.name.as_deref(), Some("official expiring"));
    assert_eq!(
        attrs.additional_properties.get("expires_at"),
        Some(&json!(later))
    );
    let listed = api
        .list_api_keys(Default::default())
        .await
        .expect("list API keys");
    assert!(listed
        .data
        .expect("data")
        .iter()
        .any(|k| k.id.as_deref() == Some(id.as_str())));

    let got = api
        .get_current_user_application_key(app_id)
        .await
        .expect("get application key");
    let attrs = got.data.expect("data").attributes.expect("attributes");
    assert_eq!(attrs.name.as_deref(), Some("official expiring"));
    assert_eq!(
        attrs.additional_properties.get("expires_at"),
        Some(&json!(later))
    );
}
