//! Application keys over raw HTTP: per-surface shapes, cross-surface visibility, the FAQ's
//! rules, list parameters, scopes and One-Time Read mode.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const CU: &str = "/api/v2/current_user/application_keys";
const ORG: &str = "/api/v2/application_keys";

fn app_body(name: &str) -> Value {
    json!({"data": {"type": "application_keys", "attributes": {"name": name}}})
}

fn rename_body(id: &str, attributes: Value) -> Value {
    json!({"data": {"id": id, "type": "application_keys", "attributes": attributes}})
}

async fn create(s: &Server, path: &str, body: Value) -> Value {
    let (status, got) = s.call(Method::POST, path, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    got
}

async fn service_account(s: &Server) -> String {
    let body = json!({"data": {"type": "users", "attributes": {
        "email": format!("sa-{}@example.com", uuid::Uuid::new_v4().simple()), "service_account": true}}});
    let (status, got) = s
        .call(Method::POST, "/api/v2/service_accounts", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    got["data"]["id"].as_str().expect("id").to_owned()
}

async fn org_list(s: &Server, query: &str) -> Value {
    let (status, body) = s.call(Method::GET, &format!("{ORG}?{query}"), None).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

fn names(body: &Value) -> Vec<&str> {
    body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|k| k["attributes"]["name"].as_str().expect("name"))
        .collect()
}

#[tokio::test]
async fn each_surface_answers_in_its_recorded_shape() {
    let s = Server::start().await;
    let created = create(&s, CU, app_body("ci")).await;
    let data = &created["data"];
    let id = data["id"].as_str().expect("id");
    let key = data["attributes"]["key"].as_str().expect("key");
    assert!(
        key.len() == 40 && key.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')),
        "{key}"
    );
    assert_eq!(data["type"], "application_keys");
    assert_eq!(data["attributes"]["last4"], &key[36..]);
    assert_eq!(data["attributes"]["scopes"], Value::Null);
    assert!(data["attributes"].get("last_used_at").is_none());
    assert_eq!(data["relationships"]["owned_by"]["data"]["type"], "users");
    assert_eq!(
        data["relationships"]["leak_information"],
        json!({"data": null})
    );
    let owner = data["relationships"]["owned_by"]["data"]["id"].clone();

    let (_, cu) = s.call(Method::GET, &format!("{CU}/{id}"), None).await;
    assert_eq!(cu["data"]["attributes"]["key"], key);
    assert_eq!(cu["data"]["attributes"]["last_used_at"], Value::Null);
    let included = cu["included"]
        .as_array()
        .expect("owner included without asking");
    assert_eq!(included[0]["type"], "users");
    assert_eq!(included[0]["id"], owner);
    assert_eq!(included[1]["type"], "roles");
    assert_eq!(included[1]["attributes"]["name"], "Datadog Admin Role");

    let (_, org) = s.call(Method::GET, &format!("{ORG}/{id}"), None).await;
    assert!(org["data"]["attributes"].get("key").is_none());
    assert_eq!(org["data"]["attributes"]["last_used_at"], Value::Null);
    assert_eq!(
        org["data"]["relationships"]["owned_by"]["data"]["id"],
        owner
    );
    assert!(org.get("included").is_none());

    let (_, patched) = s
        .call(
            Method::PATCH,
            &format!("{CU}/{id}"),
            Some(rename_body(id, json!({"name": "ci-2"}))),
        )
        .await;
    assert_eq!(patched["data"]["attributes"]["key"], key);
    assert_eq!(patched["data"]["attributes"]["name"], "ci-2");
    let (_, patched) = s
        .call(
            Method::PATCH,
            &format!("{ORG}/{id}"),
            Some(rename_body(id, json!({"name": "ci-3"}))),
        )
        .await;
    assert!(patched["data"]["attributes"].get("key").is_none());
    assert_eq!(patched["data"]["attributes"]["name"], "ci-3");

    let (_, cu_list) = s.call(Method::GET, CU, None).await;
    assert_eq!(
        cu_list["meta"],
        json!({"page": {"total_filtered_count": 2}, "max_allowed_per_user": 1000})
    );
    let first = &cu_list["data"][0];
    assert!(first["attributes"].get("key").is_none());
    assert!(first["relationships"].get("owned_by").is_none());
    let (_, org_list) = s.call(Method::GET, ORG, None).await;
    assert!(org_list["data"][0]["relationships"]["owned_by"].is_object());

    let sa = service_account(&s).await;
    let sa_path = format!("/api/v2/service_accounts/{sa}/application_keys");
    let sa_key = create(&s, &sa_path, app_body("sa-key")).await;
    assert_eq!(
        sa_key["data"]["relationships"]["owned_by"]["data"]["id"],
        sa.as_str()
    );
    let sa_id = sa_key["data"]["id"].as_str().expect("id");
    let (_, got) = s
        .call(Method::GET, &format!("{sa_path}/{sa_id}"), None)
        .await;
    assert!(got["data"]["attributes"].get("key").is_none());
    assert_eq!(
        got["data"]["relationships"],
        json!({"leak_information": {"data": null}})
    );
    let (_, sa_list) = s.call(Method::GET, &sa_path, None).await;
    assert_eq!(names(&sa_list), ["sa-key"]);
}

#[tokio::test]
async fn a_change_through_one_surface_shows_through_the_others() {
    let s = Server::start().await;
    let created = create(&s, CU, app_body("shared")).await;
    let id = created["data"]["id"].as_str().expect("id");
    let (_, org_list) = s
        .call(Method::GET, &format!("{ORG}?filter=shared"), None)
        .await;
    assert_eq!(names(&org_list), ["shared"]);
    s.call(
        Method::PATCH,
        &format!("{ORG}/{id}"),
        Some(rename_body(id, json!({"name": "renamed"}))),
    )
    .await;
    let (_, cu) = s.call(Method::GET, &format!("{CU}/{id}"), None).await;
    assert_eq!(cu["data"]["attributes"]["name"], "renamed");

    // A current-user key is not reachable through a service account's surface.
    let sa = service_account(&s).await;
    let (status, body) = s
        .call(
            Method::GET,
            &format!("/api/v2/service_accounts/{sa}/application_keys/{id}"),
            None,
        )
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, errors("Application key not found"))
    );

    let (status, _) = s.call(Method::DELETE, &format!("{ORG}/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for path in [format!("{CU}/{id}"), format!("{ORG}/{id}")] {
        for method in [Method::GET, Method::DELETE] {
            let (status, body) = s.call(method, &path, None).await;
            assert_eq!(
                (status, body),
                (StatusCode::NOT_FOUND, errors("Application key not found")),
                "{path}"
            );
        }
    }
    for bad in [
        "invalidId",
        "incorrectId",
        "00000000-0000-0000-0000-000000000000",
    ] {
        let (status, body) = s.call(Method::GET, &format!("{CU}/{bad}"), None).await;
        assert_eq!(
            (status, body),
            (StatusCode::NOT_FOUND, errors("Application key not found"))
        );
    }
    let (status, body) = s
        .call(
            Method::GET,
            "/api/v2/service_accounts/nope/application_keys",
            None,
        )
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, errors("Service account not found"))
    );
    // The admin is a user, not a service account.
    let (_, me) = s.call(Method::GET, CU, None).await;
    let admin = me["data"][0]["relationships"].clone();
    assert!(admin.get("owned_by").is_none());
}

#[tokio::test]
async fn names_are_required_unique_and_keys_never_change_owner() {
    let s = Server::start().await;
    for name in [json!(""), json!("   "), json!(null)] {
        let body = json!({"data": {"type": "application_keys", "attributes": {"name": name}}});
        let (status, _) = s.call(Method::POST, CU, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}");
    }
    let created = create(&s, CU, app_body("unique")).await;
    let (status, body) = s.call(Method::POST, CU, Some(app_body("unique"))).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CONFLICT,
            errors("An application key with the name unique already exists")
        )
    );
    // The bootstrap key's name is taken too, across owners: names are unique in the organization.
    let sa = service_account(&s).await;
    let (status, _) = s
        .call(
            Method::POST,
            &format!("/api/v2/service_accounts/{sa}/application_keys"),
            Some(app_body("unique")),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let id = created["data"]["id"].as_str().expect("id");
    let other = create(&s, CU, app_body("other")).await;
    let other_id = other["data"]["id"].as_str().expect("id");
    let (status, _) = s
        .call(
            Method::PATCH,
            &format!("{CU}/{other_id}"),
            Some(rename_body(other_id, json!({"name": "unique"}))),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = s
        .call(
            Method::PATCH,
            &format!("{CU}/{id}"),
            Some(rename_body(id, json!({"name": " "}))),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // An owned_by relationship in a PATCH moves nothing.
    let mut body = rename_body(id, json!({"name": "still-mine"}));
    body["data"]["relationships"] = json!({"owned_by": {"data": {"type": "users", "id": sa}}});
    let (status, patched) = s
        .call(Method::PATCH, &format!("{ORG}/{id}"), Some(body))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        patched["data"]["relationships"]["owned_by"],
        created["data"]["relationships"]["owned_by"]
    );
}

#[tokio::test]
async fn revoking_a_key_stops_it_on_the_very_next_request() {
    let s = Server::start().await;
    let created = create(&s, CU, app_body("short-lived")).await;
    let key = created["data"]["attributes"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let id = created["data"]["id"].as_str().expect("id");
    let with_key = || {
        s.http
            .get(s.url("/api/v2/api_keys"))
            .header("DD-API-KEY", &s.creds.api_key)
            .header("DD-APPLICATION-KEY", &key)
    };
    assert_eq!(send(with_key()).await.0, StatusCode::OK);
    let (status, _) = s.call(Method::DELETE, &format!("{CU}/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        send(with_key()).await,
        (StatusCode::FORBIDDEN, errors("Forbidden"))
    );
}

#[tokio::test]
async fn scopes_are_echoed_and_enforced() {
    let s = Server::start().await;
    let scopes = json!(["api_keys_read", "client_tokens_read"]);
    let body = json!({"data": {"type": "application_keys", "attributes": {"name": "reader", "scopes": scopes}}});
    let created = create(&s, CU, body).await;
    assert_eq!(created["data"]["attributes"]["scopes"], scopes);
    let key = created["data"]["attributes"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let as_reader = |method: Method, path: &str| {
        s.http
            .request(method, s.url(path))
            .header("DD-API-KEY", &s.creds.api_key)
            .header("DD-APPLICATION-KEY", &key)
    };
    assert_eq!(
        send(as_reader(Method::GET, "/api/v2/api_keys")).await.0,
        StatusCode::OK
    );
    let create_api_key = as_reader(Method::POST, "/api/v2/api_keys").json(&api_key_body("nope"));
    assert_eq!(send(create_api_key).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        send(as_reader(Method::GET, CU)).await.0,
        StatusCode::FORBIDDEN
    );

    let id = created["data"]["id"].as_str().expect("id");
    let (_, reset) = s
        .call(
            Method::PATCH,
            &format!("{CU}/{id}"),
            Some(rename_body(id, json!({"scopes": null}))),
        )
        .await;
    assert_eq!(reset["data"]["attributes"]["scopes"], Value::Null);
    assert_eq!(reset["data"]["attributes"]["name"], "reader");
    assert_eq!(send(as_reader(Method::GET, CU)).await.0, StatusCode::OK);

    for bad in [
        json!(["Not A Scope"]),
        json!(["dashboards"]),
        json!("api_keys_read"),
        json!([1]),
    ] {
        let body = json!({"data": {"type": "application_keys", "attributes": {"name": "bad", "scopes": bad}}});
        let (status, _) = s.call(Method::POST, CU, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn lists_page_sort_filter_and_include_owners() {
    let s = Server::start().await;
    for name in ["beta", "Alpha", "gamma"] {
        create(&s, CU, app_body(name)).await;
    }
    let sa = service_account(&s).await;
    create(
        &s,
        &format!("/api/v2/service_accounts/{sa}/application_keys"),
        app_body("delta"),
    )
    .await;
    let all = org_list(&s, "").await;
    assert_eq!(
        names(&all),
        ["Alpha", "beta", "delta", "gamma", "Initial application key"]
    );
    assert_eq!(
        names(&org_list(&s, "sort=-name").await)[0],
        "Initial application key"
    );
    assert_eq!(
        names(&org_list(&s, "sort=created_at").await)[0],
        "Initial application key"
    );
    assert_eq!(names(&org_list(&s, "sort=-created_at").await)[0], "delta");
    let page = org_list(&s, "page%5Bsize%5D=2&page%5Bnumber%5D=1").await;
    assert_eq!(names(&page), ["delta", "gamma"]);
    assert_eq!(page["meta"]["page"]["total_filtered_count"], 5);
    assert_eq!(
        names(&org_list(&s, "filter=A").await),
        ["Alpha", "beta", "delta", "gamma", "Initial application key"]
    );
    assert_eq!(names(&org_list(&s, "filter=ALP").await), ["Alpha"]);
    assert_eq!(
        names(&org_list(&s, &format!("filter%5Bowned_by%5D={sa}")).await),
        ["delta"]
    );
    assert_eq!(
        org_list(&s, "filter[created_at][start]=2999-01-01").await["meta"]["page"]
            ["total_filtered_count"],
        0
    );
    assert_eq!(
        org_list(&s, "filter[created_at][end]=2000-01-01").await["meta"]["page"]
            ["total_filtered_count"],
        0
    );

    let included = org_list(&s, "include=owned_by").await;
    let owners = included["included"].as_array().expect("included");
    assert_eq!(
        owners.len(),
        2,
        "the admin and the service account, once each"
    );
    for q in [
        "filter[owned_by]=nobody",
        "sort=modified_at",
        "page[size]=101",
        "include=created_by",
    ] {
        let (status, _) = s.call(Method::GET, &format!("{ORG}?{q}"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}");
    }
    let (_, mine) = s
        .call(Method::GET, &format!("{CU}?sort=-name&page[size]=2"), None)
        .await;
    assert_eq!(names(&mine), ["Initial application key", "gamma"]);
    assert_eq!(mine["meta"]["page"]["total_filtered_count"], 4);
}

#[tokio::test]
async fn one_time_read_mode_shows_a_secret_only_at_creation() {
    let s = Server::start().await;
    s.admin(&["set-one-time-read", "true"]);
    let created = create(&s, CU, app_body("once")).await;
    assert_eq!(
        created["data"]["attributes"]["key"].as_str().map(str::len),
        Some(40)
    );
    let id = created["data"]["id"].as_str().expect("id");
    let (_, got) = s.call(Method::GET, &format!("{CU}/{id}"), None).await;
    assert!(got["data"]["attributes"].get("key").is_none(), "{got}");
    let (_, patched) = s
        .call(
            Method::PATCH,
            &format!("{CU}/{id}"),
            Some(rename_body(id, json!({"name": "twice"}))),
        )
        .await;
    assert!(
        patched["data"]["attributes"].get("key").is_none(),
        "{patched}"
    );
    assert_eq!(patched["data"]["attributes"]["name"], "twice");
}
