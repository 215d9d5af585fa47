//! `POST /api/v2/credentials/leaked`: anyone may report a found credential; the answer never
//! says whether it matched; a match is recorded once, shows on the key (`leak_information`
//! and `included`, parsed by the official client), is audited, and is revoked at once when
//! the organization chose `revoke`.

use crate::helpers::*;
use datadog_api_client::datadogV2::api_key_management::{
    GetAPIKeyOptionalParams, KeyManagementAPI, ListAPIKeysOptionalParams,
};
use datadog_api_client::datadogV2::model::APIKeyResponseIncludedItem;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const LEAKED: &str = "/api/v2/credentials/leaked";
const ACTION_CONFIG: &str = "/api/v2/org_configs/leaked_keys_action";
const SOURCE: &str = "https://github.com/example/repo/blob/main/.env";

fn report(candidates: &[&str]) -> Value {
    json!({"data": {"type": "leaked_credentials",
        "attributes": {"candidates": candidates, "source": SOURCE}}})
}

/// A report sent with no credential at all.
async fn post_report(s: &Server, body: &Value) -> (StatusCode, Value, HeaderMap) {
    let resp = s
        .http
        .post(s.url(LEAKED))
        .json(body)
        .send()
        .await
        .expect("request");
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = resp.json().await.expect("JSON body");
    (status, body, headers)
}

/// Polls `check` until it holds: a match is acted on after the answer is sent.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check().await {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn leak_of(s: &Server, id: &str) -> Value {
    let (status, body) = s
        .call(Method::GET, &format!("/api/v2/api_keys/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The leak records about `target`, once there is one: audit comes last in acting on a match.
async fn audit_actions(s: &Server, target: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let seen = recorded_actions(s, target).await;
        if !seen.is_empty() || Instant::now() > deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn recorded_actions(s: &Server, target: &str) -> Vec<String> {
    let (status, body) = s
        .call(Method::GET, "/api/v2/audit/events?page[size]=100", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|e| e["attributes"]["target_id"] == target)
        .filter_map(|e| e["attributes"]["action"].as_str().map(str::to_owned))
        .filter(|a| a.starts_with("credential."))
        .collect()
}

async fn validate(s: &Server, api_key: &str) -> StatusCode {
    let req = s
        .http
        .get(s.url("/api/v1/validate"))
        .header("DD-API-KEY", api_key);
    send(req).await.0
}

#[tokio::test]
async fn the_answer_is_the_same_whether_or_not_anything_matched() {
    let s = Server::start().await;
    let (_, key) = s.create_api_key("will leak").await;
    let (hit_status, hit, _) = post_report(&s, &report(&[&key, "not-a-key"])).await;
    let (miss_status, miss, _) = post_report(&s, &report(&["nothing", "not-a-key"])).await;
    assert_eq!(hit_status, StatusCode::ACCEPTED, "{hit}");
    assert_eq!((hit_status, &hit), (miss_status, &miss));
    assert_eq!(hit["data"]["attributes"]["received"], 2);
}

#[tokio::test]
async fn a_report_is_bounded_and_checked() {
    let s = Server::start().await;
    let many: Vec<String> = (0..1_001).map(|i| format!("c{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let (status, body, _) = post_report(&s, &report(&many)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let message = body["errors"][0].as_str().expect("message");
    assert!(message.contains("at most 1000 candidates"), "{message}");
    let (status, _, _) = post_report(&s, &report(&many[..1_000])).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let wrong_type = json!({"data": {"type": "api_keys", "attributes": {"candidates": []}}});
    let (status, body, _) = post_report(&s, &wrong_type).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body, _) = post_report(&s, &json!({"data": {"type": "leaked_credentials"}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn one_source_is_rate_limited() {
    let s = Server::start().await;
    let body = report(&["nothing"]);
    let mut statuses = Vec::new();
    for _ in 0..31 {
        let (status, _, headers) = post_report(&s, &body).await;
        statuses.push(status);
        assert_eq!(headers["x-ratelimit-name"], "leaked_credentials");
    }
    assert!(
        statuses[..30].iter().all(|s| *s == StatusCode::ACCEPTED),
        "{statuses:?}"
    );
    let (status, refused, headers) = post_report(&s, &body).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{refused}");
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    assert!(refused["errors"][0].as_str().is_some());
}

#[tokio::test]
async fn a_flagged_key_shows_its_leak_stays_valid_and_is_recorded_once() {
    let s = Server::start().await;
    let (id, key) = s.create_api_key("flagged").await;
    let before = leak_of(&s, &id).await;
    assert_eq!(
        before["data"]["relationships"]["leak_information"],
        json!({"data": null})
    );
    assert!(before.get("included").is_none(), "{before}");

    post_report(&s, &report(&[&key])).await;
    eventually("leak_information set", || {
        let s = &s;
        let id = &id;
        async move {
            !leak_of(s, id).await["data"]["relationships"]["leak_information"]["data"].is_null()
        }
    })
    .await;
    let got = leak_of(&s, &id).await;
    let link = &got["data"]["relationships"]["leak_information"]["data"];
    assert_eq!(link["type"], "leaked_keys");
    let included = got["included"].as_array().expect("included");
    assert_eq!(included.len(), 1, "{got}");
    assert_eq!(included[0]["type"], "leaked_keys");
    assert_eq!(included[0]["id"], link["id"]);
    assert_eq!(included[0]["attributes"]["leak_source"], SOURCE);
    let date = included[0]["attributes"]["date"].as_str().expect("date");
    assert!(
        chrono::DateTime::parse_from_rfc3339(date).is_ok(),
        "not RFC 3339: {date}"
    );
    assert_eq!(
        validate(&s, &key).await,
        StatusCode::OK,
        "flag mode keeps the key"
    );

    // The list carries it too, and the official client parses both.
    let (_, list) = s.call(Method::GET, "/api/v2/api_keys", None).await;
    let listed = list["data"].as_array().expect("data");
    let flagged = listed
        .iter()
        .find(|k| k["id"] == id.as_str())
        .expect("listed");
    assert_eq!(flagged["relationships"]["leak_information"]["data"], *link);
    assert_eq!(list["included"].as_array().map(Vec::len), Some(1), "{list}");
    let api = KeyManagementAPI::with_config(s.dd_config());
    let typed = api
        .get_api_key(id.clone(), GetAPIKeyOptionalParams::default())
        .await
        .expect("the official client parses a leaked key");
    let items = typed.included.expect("included");
    match &items[..] {
        [APIKeyResponseIncludedItem::LeakedKey(leak)] => {
            assert_eq!(Some(leak.id.as_str()), link["id"].as_str());
            assert_eq!(leak.attributes.leak_source.as_deref(), Some(SOURCE));
        }
        other => panic!("not a LeakedKey: {other:?}"),
    }
    let typed_list = api
        .list_api_keys(ListAPIKeysOptionalParams::default())
        .await
        .expect("the official client parses the list");
    assert!(typed_list
        .included
        .is_some_and(|i| matches!(&i[..], [APIKeyResponseIncludedItem::LeakedKey(_)])));

    // A rerun records nothing new: same leak id, one audit record.
    post_report(&s, &report(&[&key, &key])).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rerun = leak_of(&s, &id).await;
    assert_eq!(
        rerun["data"]["relationships"]["leak_information"]["data"],
        *link
    );
    assert_eq!(audit_actions(&s, &id).await, ["credential.leak_flag"]);
}

#[tokio::test]
async fn revoke_mode_deletes_the_key_at_once_but_keeps_the_last_one() {
    let s = Server::start().await;
    let set = json!({"data": {"type": "org_configs", "attributes": {"value": "revoke"}}});
    let (status, body) = s.call(Method::PATCH, ACTION_CONFIG, Some(set)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let bad = json!({"data": {"type": "org_configs", "attributes": {"value": "explode"}}});
    assert_eq!(
        s.call(Method::PATCH, ACTION_CONFIG, Some(bad)).await.0,
        StatusCode::BAD_REQUEST
    );

    let (id, key) = s.create_api_key("revoked").await;
    assert_eq!(validate(&s, &key).await, StatusCode::OK);
    post_report(&s, &report(&[&key])).await;
    eventually("the leaked key refused", || {
        let (s, key) = (&s, &key);
        async move { validate(s, key).await == StatusCode::FORBIDDEN }
    })
    .await;
    let (status, _) = s
        .call(Method::GET, &format!("/api/v2/api_keys/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(audit_actions(&s, &id).await, ["credential.leak_revoke"]);

    // The admin's own key is now the organization's only one: it is flagged, not deleted.
    let admin_key = s.creds.api_key.clone();
    let (_, list) = s.call(Method::GET, "/api/v2/api_keys", None).await;
    let last = list["data"][0]["id"].as_str().expect("id").to_owned();
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1), "{list}");
    post_report(&s, &report(&[&admin_key])).await;
    eventually("the last key flagged", || {
        let (s, last) = (&s, &last);
        async move {
            !leak_of(s, last).await["data"]["relationships"]["leak_information"]["data"].is_null()
        }
    })
    .await;
    assert_eq!(validate(&s, &admin_key).await, StatusCode::OK);
    assert_eq!(
        audit_actions(&s, &last).await,
        ["credential.leak_flag_last_key"]
    );
}

#[tokio::test]
async fn application_keys_show_their_leak() {
    let s = Server::start().await;
    let (_, list) = s
        .call(Method::GET, "/api/v2/current_user/application_keys", None)
        .await;
    let id = list["data"][0]["id"].as_str().expect("id").to_owned();
    post_report(&s, &report(&[&s.creds.app_key])).await;
    let path = format!("/api/v2/current_user/application_keys/{id}");
    eventually("application key flagged", || {
        let (s, path) = (&s, &path);
        async move {
            let (_, body) = s.call(Method::GET, path, None).await;
            !body["data"]["relationships"]["leak_information"]["data"].is_null()
        }
    })
    .await;
    let (_, body) = s.call(Method::GET, &path, None).await;
    let included = body["included"].as_array().expect("included");
    assert!(
        included.iter().any(|i| i["type"] == "leaked_keys"),
        "{body}"
    );
    let (_, org_list) = s.call(Method::GET, "/api/v2/application_keys", None).await;
    assert!(org_list["included"]
        .as_array()
        .is_some_and(|i| i.iter().any(|i| i["type"] == "leaked_keys")));
    assert_eq!(audit_actions(&s, &id).await, ["credential.leak_flag"]);
}

#[tokio::test]
async fn client_tokens_and_access_tokens_are_found_and_revoked_too() {
    let s = Server::start().await;
    let set = json!({"data": {"type": "org_configs", "attributes": {"value": "revoke"}}});
    assert_eq!(
        s.call(Method::PATCH, ACTION_CONFIG, Some(set)).await.0,
        StatusCode::OK
    );
    let (token_id, token) = s.create_client_token("rum").await;
    let (pat_id, pat) = crate::access_tokens::create_pat(&s, &["api_keys_read"]).await;
    let client_token_status = |t: String| {
        let req = s
            .http
            .get(s.url("/api/v1/validate_client_token"))
            .header("DD-CLIENT-TOKEN", t);
        async move { send(req).await.0 }
    };
    let pat_status = |t: String| {
        let req = s
            .http
            .get(s.url("/api/v2/validate_keys"))
            .header("Authorization", format!("Bearer {t}"));
        async move { send(req).await.0 }
    };
    assert_eq!(client_token_status(token.clone()).await, StatusCode::OK);
    assert_eq!(pat_status(pat.clone()).await, StatusCode::OK);

    // Surrounding whitespace, as copied from a file, does not hide a credential.
    post_report(&s, &report(&[&format!(" {token}\n"), &pat])).await;
    eventually("both refused", || {
        let (token, pat) = (token.clone(), pat.clone());
        async move {
            client_token_status(token).await == StatusCode::FORBIDDEN
                && pat_status(pat).await != StatusCode::OK
        }
    })
    .await;
    assert_eq!(
        audit_actions(&s, &token_id).await,
        ["credential.leak_revoke"]
    );
    assert_eq!(audit_actions(&s, &pat_id).await, ["credential.leak_revoke"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leak_revoked_on_one_node_is_refused_by_every_node() {
    let Some(a) = Server::start_postgres().await else {
        return;
    };
    let b = Server::start_node_of(&a, &[]).await;
    let set = json!({"data": {"type": "org_configs", "attributes": {"value": "revoke"}}});
    assert_eq!(
        a.call(Method::PATCH, ACTION_CONFIG, Some(set)).await.0,
        StatusCode::OK
    );
    let (revoked_id, revoked) = a.create_api_key("leaks on a").await;
    eventually("node b knows the key", || {
        let (b, key) = (&b, &revoked);
        async move { validate(b, key).await == StatusCode::OK }
    })
    .await;
    // Reported to node b, which acts on it; node a follows the change log.
    post_report(&b, &report(&[&revoked])).await;
    eventually("node a refuses the key", || {
        let (a, key) = (&a, &revoked);
        async move { validate(a, key).await == StatusCode::FORBIDDEN }
    })
    .await;
    assert_eq!(validate(&b, &revoked).await, StatusCode::FORBIDDEN);
    assert_eq!(
        audit_actions(&a, &revoked_id).await,
        ["credential.leak_revoke"]
    );
}
