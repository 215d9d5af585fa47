//! The v2 API key resource over raw HTTP: exact shapes, the FAQ's rules, list parameters.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

fn is_dd_timestamp(s: &str) -> bool {
    // 2025-09-08T09:24:42.999350+00:00
    s.len() == 32 && s.ends_with("+00:00") && s.as_bytes()[10] == b'T' && s.as_bytes()[19] == b'.'
}

fn names(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(|k| k["attributes"]["name"].as_str().expect("name").to_owned())
        .collect()
}

async fn list(s: &Server, query: &str) -> Value {
    let (status, body) = s
        .call(Method::GET, &format!("/api/v2/api_keys?{query}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

async fn list_names(s: &Server, query: &str) -> Vec<String> {
    names(&list(s, query).await)
}

#[tokio::test]
async fn create_get_patch_delete_have_datadogs_shapes() {
    let s = Server::start().await;
    let (status, created) = s
        .call(
            Method::POST,
            "/api/v2/api_keys",
            Some(api_key_body("agent-prod")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let data = &created["data"];
    let attrs = &data["attributes"];
    let key = attrs["key"].as_str().expect("key");
    let id = data["id"].as_str().expect("id");
    assert_eq!(data["type"], "api_keys");
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert!(is_hex(key, 32), "{key}");
    assert_eq!(attrs["last4"], &key[28..]);
    assert_eq!(attrs["name"], "agent-prod");
    assert_eq!(attrs["category"], "default");
    assert_eq!(attrs["remote_config_read_enabled"], true);
    assert!(is_dd_timestamp(
        attrs["created_at"].as_str().expect("created_at")
    ));
    assert_eq!(attrs["created_at"], attrs["modified_at"]);
    let rel = &data["relationships"];
    assert_eq!(rel["created_by"]["data"]["type"], "users");
    assert_eq!(rel["created_by"], rel["modified_by"]);
    assert_eq!(rel["leak_information"], json!({"data": null}));

    let (status, got) = s
        .call(Method::GET, &format!("/api/v2/api_keys/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["data"]["attributes"]["key"], key);
    assert_eq!(got["data"]["attributes"]["date_last_used"], Value::Null);
    assert_eq!(got["data"]["attributes"]["used_in_last_24_hours"], false);

    let patch = json!({"data": {"id": id, "type": "api_keys", "attributes": {
        "name": "agent-prod-2", "category": "ci", "remote_config_read_enabled": false}}});
    let (status, patched) = s
        .call(
            Method::PATCH,
            &format!("/api/v2/api_keys/{id}"),
            Some(patch),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let pa = &patched["data"]["attributes"];
    assert_eq!(pa["name"], "agent-prod-2");
    assert_eq!(pa["category"], "ci");
    assert_eq!(pa["remote_config_read_enabled"], false);
    assert_eq!(pa["key"], key);
    assert_eq!(pa["created_at"], attrs["created_at"]);
    assert!(pa["modified_at"].as_str() > attrs["modified_at"].as_str());

    // A PATCH with only the name keeps the other attributes.
    let patch =
        json!({"data": {"id": id, "type": "api_keys", "attributes": {"name": "agent-prod-3"}}});
    let (_, patched) = s
        .call(
            Method::PATCH,
            &format!("/api/v2/api_keys/{id}"),
            Some(patch),
        )
        .await;
    assert_eq!(patched["data"]["attributes"]["category"], "ci");
    assert_eq!(
        patched["data"]["attributes"]["remote_config_read_enabled"],
        false
    );

    let resp = s
        .req(Method::DELETE, &format!("/api/v2/api_keys/{id}"))
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(resp.bytes().await.expect("body").len(), 0);
    for method in [Method::DELETE, Method::GET] {
        let (status, body) = s
            .call(method, &format!("/api/v2/api_keys/{id}"), None)
            .await;
        assert_eq!(
            (status, body),
            (StatusCode::NOT_FOUND, errors("API key not found"))
        );
    }
}

#[tokio::test]
async fn attributes_come_in_datadogs_order() {
    let s = Server::start().await;
    let req = s
        .req(Method::POST, "/api/v2/api_keys")
        .json(&api_key_body("ordered"));
    let text = req
        .send()
        .await
        .expect("create")
        .text()
        .await
        .expect("body");
    let order = [
        "\"type\":\"api_keys\"",
        "\"created_at\"",
        "\"key\"",
        "\"last4\"",
        "\"modified_at\"",
        "\"remote_config_read_enabled\"",
        "\"category\"",
        "\"name\"",
        "\"relationships\"",
        "\"created_by\"",
        "\"modified_by\"",
        "\"leak_information\"",
        "}},\"id\"",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|f| {
            text.find(f)
                .unwrap_or_else(|| panic!("{f} missing from {text}"))
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404() {
    let s = Server::start().await;
    let patch =
        |id: &str| json!({"data": {"id": id, "type": "api_keys", "attributes": {"name": "x"}}});
    for id in [
        "invalidId",
        "00000000-0000-0000-0000-000000000000",
        "%20",
        "1;DROP",
    ] {
        let path = format!("/api/v2/api_keys/{id}");
        for (method, body) in [
            (Method::GET, None),
            (Method::DELETE, None),
            (Method::PATCH, Some(patch(id))),
        ] {
            let (status, got) = s.call(method.clone(), &path, body).await;
            assert_eq!(
                (status, got),
                (StatusCode::NOT_FOUND, errors("API key not found")),
                "{method} {id}"
            );
        }
    }
}

#[tokio::test]
async fn names_are_unique_within_the_organization() {
    let s = Server::start().await;
    let (id, _) = s.create_api_key("dup").await;
    let (status, body) = s
        .call(Method::POST, "/api/v2/api_keys", Some(api_key_body("dup")))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body, errors("An API key with the name dup already exists"));

    let (other, _) = s.create_api_key("other").await;
    let rename = json!({"data": {"id": other, "type": "api_keys", "attributes": {"name": "dup"}}});
    let (status, _) = s
        .call(
            Method::PATCH,
            &format!("/api/v2/api_keys/{other}"),
            Some(rename),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Renaming a key to its own name is not a conflict.
    let same = json!({"data": {"id": id, "type": "api_keys", "attributes": {"name": "dup"}}});
    let (status, _) = s
        .call(Method::PATCH, &format!("/api/v2/api_keys/{id}"), Some(same))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn at_most_max_keys_and_never_fewer_than_one() {
    let s = Server::start().await;
    // Bootstrap made one; the default limit is five.
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(s.create_api_key(&format!("k{i}")).await.0);
    }
    let (status, body) = s
        .call(Method::POST, "/api/v2/api_keys", Some(api_key_body("k5")))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let msg = body["errors"][0].as_str().expect("message");
    assert!(
        msg.contains("has 5 api keys") && msg.contains("at most 5"),
        "{msg}"
    );
    let (_, list) = s.call(Method::GET, "/api/v2/api_keys", None).await;
    assert_eq!(list["meta"]["page"]["total_filtered_count"], 5);
    assert_eq!(list["meta"]["max_allowed"], 5);

    // Delete down to the last key, which is refused and keeps working.
    let (_, all) = s.call(Method::GET, "/api/v2/api_keys", None).await;
    let bootstrap_id = all["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|k| k["attributes"]["last4"] == s.creds.api_key[28..])
        .and_then(|k| k["id"].as_str())
        .expect("bootstrap key listed")
        .to_owned();
    for id in &ids {
        let (status, _) = s
            .call(Method::DELETE, &format!("/api/v2/api_keys/{id}"), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let (status, body) = s
        .call(
            Method::DELETE,
            &format!("/api/v2/api_keys/{bootstrap_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["errors"][0]
        .as_str()
        .expect("msg")
        .contains("last API key"));
    let (status, _) = s.call(Method::GET, "/api/v1/validate", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn max_keys_flag_sets_the_limit() {
    let s = Server::start_with(&["--max-api-keys-per-org", "2"]).await;
    s.create_api_key("second").await;
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v2/api_keys",
            Some(api_key_body("third")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, list) = s.call(Method::GET, "/api/v2/api_keys", None).await;
    assert_eq!(list["meta"]["max_allowed"], 2);
}

#[tokio::test]
async fn list_pages_sorts_filters_and_never_returns_keys() {
    let s = Server::start_with(&["--max-api-keys-per-org", "50"]).await;
    for name in ["beta", "Alpha", "gamma", "alphabet", "Delta"] {
        s.create_api_key(name).await;
    }

    let all = list(&s, "").await;
    assert_eq!(
        names(&all),
        [
            "Alpha",
            "alphabet",
            "beta",
            "Delta",
            "gamma",
            "Initial API key"
        ]
    );
    assert!(all["data"]
        .as_array()
        .expect("data")
        .iter()
        .all(|k| k["attributes"].get("key").is_none()));
    assert!(all.get("included").is_none());

    let desc = list(&s, "sort=-name").await;
    assert_eq!(names(&desc)[0], "Initial API key");
    let by_created = list(&s, "sort=created_at").await;
    assert_eq!(names(&by_created)[..2], ["Initial API key", "beta"]);
    let by_created_desc = list(&s, "sort=-created_at").await;
    assert_eq!(names(&by_created_desc)[0], "Delta");
    let by_last4 = list(&s, "sort=last4").await;
    let last4s: Vec<String> = by_last4["data"]
        .as_array()
        .expect("d")
        .iter()
        .map(|k| k["attributes"]["last4"].as_str().expect("l4").to_owned())
        .collect();
    let mut sorted = last4s.clone();
    sorted.sort();
    assert_eq!(last4s, sorted);

    // Bracketed names percent-encoded, as the official clients send them.
    let page = list(&s, "page%5Bsize%5D=2&page%5Bnumber%5D=1").await;
    assert_eq!(names(&page), ["beta", "Delta"]);
    assert_eq!(page["meta"]["page"]["total_filtered_count"], 6);
    let past_end = list(&s, "page[size]=4&page[number]=7").await;
    assert_eq!(names(&past_end), Vec::<String>::new());

    let filtered = list(&s, "filter=ALPHA").await;
    assert_eq!(names(&filtered), ["Alpha", "alphabet"]);
    assert_eq!(filtered["meta"]["page"]["total_filtered_count"], 2);
    let none = list(&s, "filter=zzz").await;
    assert_eq!(none["meta"]["page"]["total_filtered_count"], 0);
}

#[tokio::test]
async fn list_filters_by_dates_category_and_remote_config() {
    let s = Server::start_with(&["--max-api-keys-per-org", "50"]).await;
    let (_, first) = s
        .call(
            Method::POST,
            "/api/v2/api_keys",
            Some(json!({"data": {"type": "api_keys",
        "attributes": {"name": "ci-key", "category": "ci", "remote_config_read_enabled": false}}})),
        )
        .await;
    let t1 = first["data"]["attributes"]["created_at"]
        .as_str()
        .expect("t")
        .to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (later_id, _) = s.create_api_key("later").await;
    let enc = |t: &str| t.replace('+', "%2B");
    assert_eq!(list_names(&s, "filter[category]=ci").await, ["ci-key"]);
    assert_eq!(
        list_names(&s, "filter%5Bremote_config_read_enabled%5D=false").await,
        ["ci-key"]
    );
    assert_eq!(
        list_names(&s, "filter[remote_config_read_enabled]=true").await,
        ["Initial API key", "later"]
    );
    assert_eq!(
        list_names(&s, &format!("filter[created_at][start]={}", enc(&t1))).await,
        ["ci-key", "later"]
    );
    assert_eq!(
        list_names(&s, &format!("filter[created_at][end]={}", enc(&t1))).await,
        ["ci-key", "Initial API key"]
    );
    assert_eq!(
        list_names(&s, "filter[created_at][start]=2999-01-01").await,
        Vec::<String>::new()
    );

    let rename =
        json!({"data": {"id": later_id, "type": "api_keys", "attributes": {"name": "later"}}});
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (_, patched) = s
        .call(
            Method::PATCH,
            &format!("/api/v2/api_keys/{later_id}"),
            Some(rename),
        )
        .await;
    let m = patched["data"]["attributes"]["modified_at"]
        .as_str()
        .expect("m")
        .to_owned();
    assert_eq!(
        list_names(&s, &format!("filter[modified_at][start]={}", enc(&m))).await,
        ["later"]
    );
    assert_eq!(
        list_names(&s, &format!("filter[modified_at][end]={}", enc(&t1))).await,
        ["ci-key", "Initial API key"]
    );
}

#[tokio::test]
async fn include_returns_the_creating_users() {
    let s = Server::start().await;
    let (id, _) = s.create_api_key("with-users").await;
    let (_, list) = s
        .call(
            Method::GET,
            "/api/v2/api_keys?include=created_by,modified_by",
            None,
        )
        .await;
    let included = list["included"].as_array().expect("included");
    assert_eq!(
        included.len(),
        1,
        "the admin once, not once per key and relationship"
    );
    let user = &included[0];
    assert_eq!(user["type"], "users");
    assert_eq!(user["attributes"]["email"], s.creds.email);
    assert_eq!(user["attributes"]["status"], "Active");
    assert_eq!(
        user["id"],
        list["data"][0]["relationships"]["created_by"]["data"]["id"]
    );

    let (_, one) = s
        .call(
            Method::GET,
            &format!("/api/v2/api_keys/{id}?include=modified_by"),
            None,
        )
        .await;
    assert_eq!(one["included"][0]["id"], user["id"]);
    let (_, plain) = s
        .call(Method::GET, &format!("/api/v2/api_keys/{id}"), None)
        .await;
    assert!(plain.get("included").is_none());
}
