//! Application-key and client-token lists, answered from the credential index: a write shows
//! in the next list (on this node and, on PostgreSQL, on the other), and every filter, sort
//! and page agrees with the rule the SQL lists follow, computed here from the created keys.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ORG: &str = "/api/v2/application_keys";
const CU: &str = "/api/v2/current_user/application_keys";
const TOKENS: &str = "/api/v2/client_tokens";

fn body(kind: &str, name: &str) -> Value {
    json!({"data": {"type": kind, "attributes": {"name": name}}})
}

async fn create(s: &Server, path: &str, kind: &str, name: &str) -> Value {
    let (status, got) = s.call(Method::POST, path, Some(body(kind, name))).await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    got["data"].clone()
}

async fn list(s: &Server, path: &str, query: &str) -> Value {
    let (status, got) = s.call(Method::GET, &format!("{path}?{query}"), None).await;
    assert_eq!(status, StatusCode::OK, "{query}: {got}");
    got
}

fn names(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|k| k["attributes"]["name"].as_str().expect("name").to_owned())
        .collect()
}

fn total(body: &Value) -> u64 {
    body["meta"]["page"]["total_filtered_count"]
        .as_u64()
        .expect("total_filtered_count")
}

async fn rename(s: &Server, path: &str, kind: &str, id: &str, name: &str) {
    let body = json!({"data": {"id": id, "type": kind, "attributes": {"name": name}}});
    let (status, got) = s
        .call(Method::PATCH, &format!("{path}/{id}"), Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
}

async fn delete(s: &Server, path: &str, id: &str) {
    let (status, got) = s.call(Method::DELETE, &format!("{path}/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{got}");
}

fn id_of(data: &Value) -> String {
    data["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn lists_show_a_create_rename_and_delete_at_once() {
    let s = Server::start().await;
    for (path, kind, list_path) in [
        (CU, "application_keys", ORG),
        (CU, "application_keys", CU),
        (TOKENS, "client_tokens", TOKENS),
    ] {
        let id = id_of(&create(&s, path, kind, "fresh list entry").await);
        let found = list(&s, list_path, "filter=FRESH").await;
        assert_eq!(
            (names(&found), total(&found)),
            (vec!["fresh list entry".to_owned()], 1),
            "{list_path}"
        );
        rename(&s, path, kind, &id, "Renamed Entry").await;
        assert_eq!(total(&list(&s, list_path, "filter=fresh").await), 0);
        let renamed = list(&s, list_path, "filter=renamed%20e").await;
        assert_eq!(names(&renamed), ["Renamed Entry"], "{list_path}");
        delete(&s, path, &id).await;
        assert_eq!(total(&list(&s, list_path, "filter=renamed").await), 0);
    }
}

/// What a list must answer, from every key's attributes: the SQL rule (folded-name
/// substring, sort field then id in the same direction, offset paging).
fn expected(
    keys: &[Value],
    needle: &str,
    field: &str,
    descending: bool,
    size: usize,
    number: usize,
) -> (Vec<String>, u64) {
    let attr = |k: &Value, f: &str| k["attributes"][f].as_str().expect(f).to_owned();
    let mut hits: Vec<&Value> = keys
        .iter()
        .filter(|k| {
            attr(k, "name")
                .to_lowercase()
                .contains(&needle.to_lowercase())
        })
        .collect();
    hits.sort_by(|a, b| {
        let by = match field {
            "name" => attr(a, "name")
                .to_lowercase()
                .cmp(&attr(b, "name").to_lowercase()),
            // RFC 3339 at one precision and zone: text order is time order.
            "created_at" => attr(a, "created_at").cmp(&attr(b, "created_at")),
            _ => attr(a, field).cmp(&attr(b, field)),
        };
        let id = |k: &Value| uuid::Uuid::parse_str(&id_of(k)).expect("uuid");
        let both = by.then(id(a).cmp(&id(b)));
        if descending {
            both.reverse()
        } else {
            both
        }
    });
    let page = hits
        .iter()
        .skip(size * number)
        .take(size)
        .map(|k| attr(k, "name"));
    (page.collect(), hits.len() as u64)
}

/// Every filter, sort and page the tests ask, on `path`, against `expected`.
async fn check_combinations(s: &Server, path: &str, fields: &[&str], keys: &[Value]) {
    for needle in ["", "PROD", "é", "ci-", "nothing matches"] {
        for field in fields {
            for descending in [false, true] {
                for (size, number) in [(100, 0), (3, 0), (3, 2), (4, 1), (5, 9)] {
                    let sort = if descending {
                        format!("-{field}")
                    } else {
                        (*field).to_owned()
                    };
                    let query = format!(
                        "filter={}&sort={sort}&page[size]={size}&page[number]={number}",
                        encoded(needle)
                    );
                    let got = list(s, path, &query).await;
                    assert_eq!(
                        (names(&got), total(&got)),
                        expected(keys, needle, field, descending, size, number),
                        "{path}?{query}"
                    );
                }
            }
        }
    }
}

const NAMES: [&str; 12] = [
    "prod-eu",
    "Prod-US",
    "PRODUCTION",
    "ci-1",
    "CI-2",
    "ci-3",
    "Émile",
    "émile bis",
    "staging",
    "Stage",
    "qa",
    "QA-prod",
];

#[tokio::test]
async fn filters_sorts_and_pages_agree_with_the_sql_rule() {
    let s = Server::start().await;
    for name in NAMES {
        create(&s, CU, "application_keys", name).await;
        create(&s, TOKENS, "client_tokens", name).await;
    }
    let keys = list(&s, ORG, "page[size]=100").await["data"]
        .as_array()
        .expect("keys")
        .clone();
    assert_eq!(keys.len(), NAMES.len() + 1, "with the initial key");
    check_combinations(&s, ORG, &["name", "created_at", "last4"], &keys).await;
    // Both ends of the creation window are inclusive.
    let mut created: Vec<&str> = keys
        .iter()
        .map(|k| k["attributes"]["created_at"].as_str().expect("created_at"))
        .collect();
    created.sort();
    let at = encoded(created[5]);
    let from = list(&s, ORG, &format!("filter[created_at][start]={at}")).await;
    assert_eq!(total(&from), (created.len() - 5) as u64);
    let to = list(&s, ORG, &format!("filter[created_at][end]={at}&filter=e")).await;
    let early = keys
        .iter()
        .filter(|k| k["attributes"]["created_at"].as_str() <= Some(created[5]))
        .filter(|k| {
            k["attributes"]["name"]
                .as_str()
                .is_some_and(|n| n.to_lowercase().contains('e'))
        })
        .count();
    assert_eq!(total(&to), early as u64);
    check_combinations(&s, CU, &["name", "created_at", "last4"], &keys).await;
    let tokens = list(&s, TOKENS, "page[size]=100").await["data"]
        .as_array()
        .expect("tokens")
        .clone();
    assert_eq!(tokens.len(), NAMES.len());
    check_combinations(
        &s,
        TOKENS,
        &["name", "created_at", "modified_at", "last4"],
        &tokens,
    )
    .await;
}

/// A key made, renamed, rotated or deleted on one node is listed accordingly on the other at
/// its next list, with no wait: a list first catches up with the change log.
#[tokio::test]
async fn a_key_made_on_another_node_is_listed_at_once() {
    let Some(a) = Server::start_postgres().await else {
        return;
    };
    let b = Server::start_node_of(&a, &[]).await;
    for (path, kind) in [(CU, "application_keys"), (TOKENS, "client_tokens")] {
        let list_path = if kind == "client_tokens" { TOKENS } else { ORG };
        let id = id_of(&create(&a, path, kind, "made on a").await);
        let on_b = list(&b, list_path, "filter=made%20on").await;
        assert_eq!(
            (names(&on_b), total(&on_b)),
            (vec!["made on a".to_owned()], 1),
            "{kind}"
        );
        rename(&a, path, kind, &id, "renamed on a").await;
        assert_eq!(
            names(&list(&b, list_path, "filter=on%20a").await),
            ["renamed on a"]
        );
        // With a grace period (the old secret leads to the key) and without (it leads
        // nowhere, and the key lives on under its new secret).
        for grace in [
            None,
            Some(json!({"data": {"type": kind,
            "attributes": {"grace_period_seconds": 0}}})),
        ] {
            let (status, got) = a
                .call(Method::POST, &format!("{path}/{id}/rotate"), grace)
                .await;
            assert_eq!(status, StatusCode::OK, "{got}");
            let secret = got["data"]["attributes"]["key"].as_str().expect("key");
            let on_b = list(&b, list_path, "filter=on%20a").await;
            assert_eq!(
                names(&on_b),
                ["renamed on a"],
                "a rotated {kind} stays listed"
            );
            assert_eq!(
                on_b["data"][0]["attributes"]["last4"].as_str(),
                secret.get(secret.len() - 4..),
                "listed with its new secret's last4"
            );
        }
        delete(&a, path, &id).await;
        assert_eq!(total(&list(&b, list_path, "filter=on%20a").await), 0);
    }
}
