//! Roles, permissions and role users over raw HTTP: Datadog's recorded shapes and errors,
//! and custom roles enforced on the next request.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const ADMIN_ROLE_ID: &str = "6b2c5a2e-7d0c-11ee-9f0a-0242ac120001";

async fn permission_id(s: &Server, name: &str) -> String {
    let (status, all) = s.call(Method::GET, "/api/v2/permissions", None).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    all["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|p| p["attributes"]["name"] == name)
        .unwrap_or_else(|| panic!("{name} is listed"))["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

fn role_body(name: &str, permissions: &[&str], opt_out: bool) -> Value {
    let links: Vec<Value> = permissions
        .iter()
        .map(|id| json!({"id": id, "type": "permissions"}))
        .collect();
    let mut attributes = json!({"name": name});
    if opt_out {
        attributes["default_permissions_opt_out"] = json!(true);
    }
    json!({"data": {"type": "roles", "attributes": attributes,
        "relationships": {"permissions": {"data": links}}}})
}

pub async fn create_role(s: &Server, name: &str, permissions: &[&str]) -> String {
    let (status, got) = s
        .call(
            Method::POST,
            "/api/v2/roles",
            Some(role_body(name, permissions, true)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    got["data"]["id"].as_str().expect("id").to_owned()
}

fn permission_names(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|p| p["attributes"]["name"].as_str().expect("name").to_owned())
        .collect()
}

fn linked(role: &Value) -> usize {
    role["data"]["relationships"]["permissions"]["data"]
        .as_array()
        .expect("permissions")
        .len()
}

#[tokio::test]
async fn the_permission_catalog_is_datadogs() {
    let s = Server::start().await;
    let (status, all) = s.call(Method::GET, "/api/v2/permissions", None).await;
    assert_eq!(status, StatusCode::OK);
    let data = all["data"].as_array().expect("data");
    assert_eq!(data.len(), 300);
    // Datadog's BDD fixture `permission` is data[4]; it must be grantable.
    assert_eq!(
        data[4],
        json!({"type": "permissions", "id": "6f66600e-dd12-11e8-9e55-7f30fbb45e73",
            "attributes": {"created": "2018-10-31T13:39:48.292879Z",
                "description": "View the live tail feed for all log indexes, even if otherwise specifically restricted.",
                "display_name": "Logs Live Tail", "display_type": "read",
                "group_name": "Log Management", "name": "logs_live_tail",
                "name_aliases": [], "restricted": false}})
    );
    let restricted = data
        .iter()
        .filter(|p| p["attributes"]["restricted"] == true)
        .count();
    assert_eq!(restricted, 10);
    assert!(!permission_names(&all).contains(&"user_access_read".to_owned()));
}

#[tokio::test]
async fn application_key_scopes_are_catalog_names() {
    let s = Server::start().await;
    let scoped = |scopes: Value| {
        json!({"data": {"type": "application_keys",
            "attributes": {"name": format!("k {scopes}"), "scopes": scopes}}})
    };
    let (status, got) = s
        .call(
            Method::POST,
            "/api/v2/current_user/application_keys",
            Some(scoped(json!([
                "dashboards_read",
                "dashboards_write",
                "dashboards_public_share"
            ]))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    let (status, got) = s
        .call(
            Method::POST,
            "/api/v2/current_user/application_keys",
            Some(scoped(json!(["dashboards"]))),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(got["errors"][0]
        .as_str()
        .expect("error")
        .contains("Invalid scopes"));
}

#[tokio::test]
async fn a_role_lives_as_recorded() {
    let s = Server::start().await;
    let live_tail = permission_id(&s, "logs_live_tail").await;
    let (status, created) = s
        .call(
            Method::POST,
            "/api/v2/roles",
            Some(role_body("ops", &[&live_tail], false)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["data"]["type"], "roles");
    assert_eq!(created["data"]["attributes"]["name"], "ops");
    assert_eq!(created["data"]["attributes"]["user_count"], 0);
    assert_eq!(created["data"]["attributes"]["managed"], false);
    // The restricted (default) permissions are added unless the role opts out.
    assert_eq!(linked(&created), 11, "{created}");
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v2/roles/{id}");

    let (status, got) = s.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["data"]["id"], id.as_str());

    let patch = |body_id: &str, permissions: Value, opt_out: bool| {
        json!({"data": {"id": body_id, "type": "roles",
            "attributes": {"name": "ops team", "default_permissions_opt_out": opt_out},
            "relationships": {"permissions": {"data": permissions}}}})
    };
    let (status, got) = s
        .call(Method::PATCH, &path, Some(patch(&id, json!([]), false)))
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["data"]["attributes"]["name"], "ops team");
    assert_eq!(linked(&got), 10, "[] keeps the restricted ones");
    let (_, got) = s
        .call(Method::PATCH, &path, Some(patch(&id, json!([]), true)))
        .await;
    assert_eq!(linked(&got), 0, "opted out, [] empties the role");

    let other = uuid::Uuid::new_v4().to_string();
    let (status, got) = s
        .call(Method::PATCH, &path, Some(patch(&other, json!([]), true)))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        got,
        errors("The id attribute in the request body does not match the role_id in the URL")
    );
    let unknown = json!([{"id": other, "type": "permissions"}]);
    let (status, got) = s
        .call(Method::PATCH, &path, Some(patch(&id, unknown, true)))
        .await;
    assert_eq!(
        (status, got),
        (StatusCode::BAD_REQUEST, errors("Invalid input "))
    );

    let clone = |name: &str| json!({"data": {"type": "roles", "attributes": {"name": name}}});
    let clone_path = format!("{path}/clone");
    let (status, got) = s
        .call(Method::POST, &clone_path, Some(clone("ops team")))
        .await;
    assert_eq!(
        (status, got),
        (
            StatusCode::CONFLICT,
            errors("A role with the same name already exists")
        )
    );
    let (status, got) = s.call(Method::POST, &clone_path, Some(clone("    "))).await;
    assert_eq!(
        (status, got),
        (
            StatusCode::BAD_REQUEST,
            errors("Role names cannot be only whitespace")
        )
    );
    let (status, got) = s
        .call(Method::POST, &clone_path, Some(clone("ops clone")))
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["data"]["attributes"]["name"], "ops clone");

    let (status, got) = s
        .call(Method::GET, "/api/v2/roles?filter=OPS&sort=-name", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = got["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|r| r["attributes"]["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["ops team", "ops clone"]);
    assert_eq!(
        got["meta"]["page"],
        json!({"total_count": 5, "total_filtered_count": 2})
    );
    let (_, got) = s
        .call(Method::GET, &format!("/api/v2/roles?filter[id]={id}"), None)
        .await;
    assert_eq!(got["data"].as_array().expect("data").len(), 1);
    let (_, got) = s
        .call(
            Method::GET,
            "/api/v2/roles?page[size]=2&page[number]=2",
            None,
        )
        .await;
    assert_eq!(got["data"].as_array().expect("data").len(), 1);

    let (status, _) = s.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, got) = s.call(Method::DELETE, &path, None).await;
    assert_eq!(
        (status, got),
        (StatusCode::NOT_FOUND, errors(&format!("{id} not found")))
    );
    let (status, _) = s.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn managed_roles_cannot_change() {
    let s = Server::start().await;
    let path = format!("/api/v2/roles/{ADMIN_ROLE_ID}");
    let (status, got) = s.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["data"]["attributes"]["managed"], true);
    assert_eq!(got["data"]["attributes"]["user_count"], 1);
    let body = json!({"data": {"id": ADMIN_ROLE_ID, "type": "roles", "attributes": {"name": "x"}}});
    let (status, _) = s.call(Method::PATCH, &path, Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let grant =
        json!({"data": {"id": permission_id(&s, "logs_live_tail").await, "type": "permissions"}});
    let (status, _) = s
        .call(Method::POST, &format!("{path}/permissions"), Some(grant))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, got) = s.call(Method::GET, "/api/v2/roles/not-a-uuid", None).await;
    assert_eq!(
        (status, got),
        (StatusCode::NOT_FOUND, errors("not-a-uuid not found"))
    );
}

#[tokio::test]
async fn role_permissions_are_granted_and_revoked() {
    let s = Server::start().await;
    let id = create_role(&s, "granting", &[]).await;
    let path = format!("/api/v2/roles/{id}/permissions");
    let live_tail = permission_id(&s, "logs_live_tail").await;
    let link = |kind: &str| json!({"data": {"id": live_tail, "type": kind}});
    let (status, got) = s.call(Method::POST, &path, Some(link("permissions"))).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(permission_names(&got), ["logs_live_tail"]);
    let (_, got) = s.call(Method::GET, &path, None).await;
    assert_eq!(permission_names(&got), ["logs_live_tail"]);
    let (status, got) = s
        .call(Method::DELETE, &path, Some(link("bad_permission_type")))
        .await;
    assert_eq!(
        (status, got),
        (StatusCode::BAD_REQUEST, errors("400 BAD REQUEST"))
    );
    let (status, got) = s
        .call(Method::DELETE, &path, Some(link("permissions")))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, json!({"data": []}));
    let unknown = uuid::Uuid::new_v4();
    let (status, got) = s
        .call(
            Method::DELETE,
            &format!("/api/v2/roles/{unknown}/permissions"),
            Some(link("permissions")),
        )
        .await;
    assert_eq!(
        (status, got),
        (
            StatusCode::NOT_FOUND,
            errors(&format!("{unknown} not found"))
        )
    );
}

async fn new_user(s: &Server, email: &str) -> String {
    let body = json!({"data": {"type": "users", "attributes": {"email": email}}});
    let (status, got) = s.call(Method::POST, "/api/v2/users", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    got["data"]["id"].as_str().expect("id").to_owned()
}

fn user_link(id: &str) -> Value {
    json!({"data": {"id": id, "type": "users"}})
}

#[tokio::test]
async fn role_users_are_added_listed_and_removed() {
    let s = Server::start().await;
    let role = create_role(&s, "members", &[]).await;
    let user = new_user(&s, "member@example.com").await;
    let path = format!("/api/v2/roles/{role}/users");
    let (status, got) = s.call(Method::POST, &path, Some(user_link(&user))).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["meta"]["page"]["total_count"], 1);
    assert_eq!(got["data"][0]["id"], user.as_str());
    let roles = got["data"][0]["relationships"]["roles"]["data"]
        .as_array()
        .expect("roles");
    assert!(roles.iter().any(|r| r["id"] == role.as_str()), "{got}");

    let (_, got) = s.call(Method::GET, &path, None).await;
    assert_eq!(
        got["meta"]["page"],
        json!({"total_filtered_count": 1, "total_count": 1})
    );
    assert_eq!(got["included"][0]["id"], role.as_str());
    let (_, got) = s
        .call(Method::GET, &format!("{path}?filter=nobody"), None)
        .await;
    assert_eq!(
        got["meta"]["page"],
        json!({"total_filtered_count": 0, "total_count": 1})
    );
    let (_, got) = s
        .call(Method::GET, &format!("/api/v2/roles/{role}"), None)
        .await;
    assert_eq!(got["data"]["attributes"]["user_count"], 1);

    let (status, got) = s
        .call(
            Method::GET,
            &format!("/api/v2/users/{user}/permissions"),
            None,
        )
        .await;
    assert_eq!((status, got), (StatusCode::OK, json!({"data": []})));

    let (status, got) = s.call(Method::DELETE, &path, Some(user_link(&user))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        got,
        json!({"meta": {"page": {"total_count": 0}}, "data": []})
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    let (status, _) = s.call(Method::POST, &path, Some(user_link(&unknown))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_last_admin_keeps_the_admin_role() {
    let s = Server::start().await;
    let (_, me) = s.call(Method::GET, "/api/v2/current_user", None).await;
    let me = me["data"]["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v2/roles/{ADMIN_ROLE_ID}/users");
    let (status, got) = s.call(Method::DELETE, &path, Some(user_link(&me))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{got}");
    let (_, got) = s.call(Method::GET, "/api/v2/current_user", None).await;
    let roles = &got["data"]["relationships"]["roles"]["data"];
    assert_eq!(roles[0]["id"], ADMIN_ROLE_ID);
}

/// A key of a new user holding only `role`: what the role grants is all it may do.
pub async fn key_of_role_holder(s: &Server, email: &str, role: &str) -> String {
    let user = new_user(s, email).await;
    let path = format!("/api/v2/roles/{role}/users");
    let (status, got) = s.call(Method::POST, &path, Some(user_link(&user))).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let out = s.admin(&[
        "create-application-key",
        "--email",
        email,
        "--name",
        "holder",
    ]);
    let key = env_value(&out, "DD_APP_KEY");
    s.await_key_pair(&s.creds.api_key, &key).await;
    key
}

#[tokio::test]
async fn custom_roles_are_enforced_on_the_next_request() {
    let s = Server::start().await;
    let role = create_role(&s, "key readers", &[]).await;
    let key = key_of_role_holder(&s, "reader@example.com", &role).await;
    let as_holder = |method: Method, path: &str| {
        s.http
            .request(method, s.url(path))
            .header("DD-API-KEY", &s.creds.api_key)
            .header("DD-APPLICATION-KEY", &key)
    };
    assert_eq!(
        send(as_holder(Method::GET, "/api/v2/api_keys")).await.0,
        StatusCode::FORBIDDEN
    );
    // Every role may read the organization's users (Datadog's unlisted user_access_read).
    assert_eq!(
        send(as_holder(Method::GET, "/api/v2/users")).await.0,
        StatusCode::OK
    );

    let grant =
        json!({"data": {"id": permission_id(&s, "api_keys_read").await, "type": "permissions"}});
    let permissions = format!("/api/v2/roles/{role}/permissions");
    s.call(Method::POST, &permissions, Some(grant.clone()))
        .await;
    assert_eq!(
        send(as_holder(Method::GET, "/api/v2/api_keys")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        send(as_holder(Method::POST, "/api/v2/api_keys").json(&api_key_body("no")))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (_, got) = send(as_holder(Method::GET, "/api/v2/current_user")).await;
    let included = got["included"].as_array().expect("included");
    assert!(included.iter().any(|i| i["type"] == "orgs"));
    assert!(included.iter().any(|i| i["id"] == role.as_str()));
    assert!(included
        .iter()
        .any(|i| i["type"] == "permissions" && i["attributes"]["name"] == "api_keys_read"));

    s.call(Method::DELETE, &permissions, Some(grant.clone()))
        .await;
    assert_eq!(
        send(as_holder(Method::GET, "/api/v2/api_keys")).await.0,
        StatusCode::FORBIDDEN
    );
    s.call(Method::POST, &permissions, Some(grant)).await;
    s.call(Method::DELETE, &format!("/api/v2/roles/{role}"), None)
        .await;
    assert_eq!(
        send(as_holder(Method::GET, "/api/v2/api_keys")).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(as_holder(Method::GET, "/api/v2/users")).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_current_user_reads_and_edits_itself() {
    let s = Server::start().await;
    let (status, got) = s.call(Method::GET, "/api/v2/current_user", None).await;
    assert_eq!(status, StatusCode::OK);
    let me = got["data"]["id"].as_str().expect("id").to_owned();
    assert_eq!(got["data"]["type"], "users");
    assert_eq!(
        got["data"]["relationships"]["team_roles"],
        json!({"data": []})
    );
    let included = got["included"].as_array().expect("included");
    let org = included.iter().find(|i| i["type"] == "orgs").expect("org");
    assert_eq!(got["data"]["relationships"]["org"]["data"]["id"], org["id"]);
    assert!(included
        .iter()
        .any(|i| i["type"] == "roles" && i["id"] == ADMIN_ROLE_ID));
    let permissions = included
        .iter()
        .filter(|i| i["type"] == "permissions")
        .count();
    assert_eq!(permissions, 300, "an admin holds every listed permission");

    let edit =
        |id: &str| json!({"data": {"id": id, "type": "users", "attributes": {"name": "Me"}}});
    let other = uuid::Uuid::new_v4().to_string();
    let (status, _) = s
        .call(Method::PATCH, "/api/v2/current_user", Some(edit(&other)))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, got) = s
        .call(Method::PATCH, "/api/v2/current_user", Some(edit(&me)))
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["data"]["attributes"]["name"], "Me");

    let (status, got) = s
        .call(Method::GET, &format!("/api/v2/users/{me}/orgs"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["data"]["id"], me.as_str());
    assert_eq!(got["included"][0]["type"], "orgs");
}
