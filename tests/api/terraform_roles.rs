//! The request sequences the Terraform provider sends for `datadog_role`, `datadog_user_role`
//! and the role diff of `datadog_user` / `datadog_service_account`, end to end over HTTP.

use crate::helpers::*;
use crate::roles::create_role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn role_ids(user: &Value) -> Vec<String> {
    user["data"]["relationships"]["roles"]["data"]
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn managed(s: &Server, name: &str) -> String {
    let (_, got) = s
        .call(Method::GET, &format!("/api/v2/roles?filter={name}"), None)
        .await;
    got["data"][0]["id"].as_str().expect("role").to_owned()
}

async fn role_diff(s: &Server, user: &str, remove: &[&str], add: &[&str]) {
    let link = json!({"data": {"id": user, "type": "users"}});
    for role in add {
        let path = format!("/api/v2/roles/{role}/users");
        let (status, got) = s.call(Method::POST, &path, Some(link.clone())).await;
        assert_eq!(status, StatusCode::OK, "{got}");
    }
    for role in remove {
        let path = format!("/api/v2/roles/{role}/users");
        let (status, got) = s.call(Method::DELETE, &path, Some(link.clone())).await;
        assert_eq!(status, StatusCode::OK, "{got}");
    }
}

#[tokio::test]
async fn datadog_role_create_read_update_delete() {
    let s = Server::start().await;
    // Plan time: the permission ids must exist, restricted ones only when opted out.
    let (status, all) = s.call(Method::GET, "/api/v2/permissions", None).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<String> = all["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|p| p["attributes"]["restricted"] == false)
        .take(3)
        .map(|p| p["id"].as_str().expect("id").to_owned())
        .collect();
    let links = |ids: &[String]| -> Vec<Value> {
        ids.iter()
            .map(|id| json!({"id": id, "type": "permissions"}))
            .collect()
    };
    let body = json!({"data": {"type": "roles",
        "attributes": {"name": "tf role", "default_permissions_opt_out": true},
        "relationships": {"permissions": {"data": links(&ids[..2])}}}});
    let (status, created) = s.call(Method::POST, "/api/v2/roles", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v2/roles/{id}");
    // The provider retries GET while it is 404: it must be there at once.
    let (status, got) = s.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    let held: Vec<&Value> = got["data"]["relationships"]["permissions"]["data"]
        .as_array()
        .expect("permissions")
        .iter()
        .map(|p| &p["id"])
        .collect();
    assert_eq!(held, [&json!(ids[0]), &json!(ids[1])]);

    // Update sends the full list; `[]` when none.
    for list in [&ids[..], &[][..]] {
        let body = json!({"data": {"id": id, "type": "roles",
            "attributes": {"name": "tf role", "default_permissions_opt_out": true},
            "relationships": {"permissions": {"data": links(list)}}}});
        let (status, got) = s.call(Method::PATCH, &path, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{got}");
        let (_, got) = s.call(Method::GET, &path, None).await;
        let count = got["data"]["relationships"]["permissions"]["data"]
            .as_array()
            .expect("permissions")
            .len();
        assert_eq!(count, list.len());
    }
    let (status, _) = s.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s.call(Method::GET, &path, None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "read after delete: gone from state"
    );
}

#[tokio::test]
async fn datadog_user_role_and_the_user_role_diff() {
    let s = Server::start().await;
    let standard = managed(&s, "Standard").await;
    let read_only = managed(&s, "Read Only").await;
    let custom = create_role(&s, "tf custom", &[]).await;
    let email = "tf.user@example.com";
    let body = json!({"data": {"type": "users", "attributes": {"email": email, "name": "TF"},
        "relationships": {"roles": {"data": [{"id": standard, "type": "roles"}]}}}});
    let (status, created) = s
        .call(Method::POST, "/api/v2/users", Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // An existing user: 409, then the provider finds it, patches it and diffs its roles.
    let (status, _) = s.call(Method::POST, "/api/v2/users", Some(body)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, found) = s
        .call(Method::GET, &format!("/api/v2/users?filter={email}"), None)
        .await;
    let user = found["data"][0]["id"].as_str().expect("found").to_owned();
    let patch = json!({"data": {"id": user, "type": "users",
        "attributes": {"email": email, "name": "TF 2", "disabled": false}}});
    let (status, _) = s
        .call(Method::PATCH, &format!("/api/v2/users/{user}"), Some(patch))
        .await;
    assert_eq!(status, StatusCode::OK);
    role_diff(&s, &user, &[&standard], &[&read_only]).await;
    let (_, got) = s
        .call(Method::GET, &format!("/api/v2/users/{user}"), None)
        .await;
    assert_eq!(role_ids(&got), std::slice::from_ref(&read_only));

    // datadog_user_role: create, read (the role in relationships.roles), delete.
    role_diff(&s, &user, &[], &[&custom]).await;
    let (_, got) = s
        .call(Method::GET, &format!("/api/v2/users/{user}"), None)
        .await;
    assert!(role_ids(&got).contains(&custom), "{got}");
    assert!(got["included"]
        .as_array()
        .expect("included")
        .iter()
        .any(|r| r["id"] == custom.as_str() && r["attributes"]["name"] == "tf custom"));
    role_diff(&s, &user, &[&custom], &[]).await;
    let (_, got) = s
        .call(Method::GET, &format!("/api/v2/users/{user}"), None)
        .await;
    assert_eq!(role_ids(&got), [read_only]);
}

#[tokio::test]
async fn datadog_service_account_with_a_custom_role() {
    let s = Server::start().await;
    let custom = create_role(&s, "tf robots", &[]).await;
    let standard = managed(&s, "Standard").await;
    let body = json!({"data": {"type": "users",
        "attributes": {"email": "robot@example.com", "service_account": true},
        "relationships": {"roles": {"data": [{"id": custom, "type": "roles"}]}}}});
    let (status, created) = s
        .call(Method::POST, "/api/v2/service_accounts", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(role_ids(&created), std::slice::from_ref(&custom));
    assert_eq!(created["included"][0]["attributes"]["name"], "tf robots");
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    role_diff(&s, &id, &[&custom], &[&standard]).await;
    let (_, got) = s
        .call(Method::GET, &format!("/api/v2/users/{id}"), None)
        .await;
    assert_eq!(role_ids(&got), [standard]);

    let unknown = uuid::Uuid::new_v4();
    let body = json!({"data": {"type": "users",
        "attributes": {"email": "robot2@example.com", "service_account": true},
        "relationships": {"roles": {"data": [{"id": unknown, "type": "roles"}]}}}});
    let (status, got) = s
        .call(Method::POST, "/api/v2/service_accounts", Some(body))
        .await;
    assert_eq!(
        (status, got),
        (
            StatusCode::BAD_REQUEST,
            errors(&format!("Role {unknown} not found"))
        )
    );
}
