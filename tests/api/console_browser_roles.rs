//! The Roles page in real headless Chromium: a custom role made, granted a permission and
//! given a member through the page only, and what that member's key may do checked through
//! the API after each step (custom roles are enforced from the next request).

use crate::browser::*;
use crate::helpers::*;
use fantoccini::Locator;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Waits until `check` holds for what the API answers, the page's change being asynchronous.
async fn until_api(s: &Server, path: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        let (status, body) = s.call(Method::GET, path, None).await;
        if status == StatusCode::OK && check(&body) {
            return body;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: {last}");
}

/// A service account without roles, and its application key.
async fn bare_service_account(s: &Server) -> (String, String) {
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v2/service_accounts",
            Some(json!({"data": {"type": "users", "attributes": {
                "email": "reader@example.com", "name": "Key reader", "service_account": true},
                "relationships": {"roles": {"data": []}}}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["data"]["id"].as_str().expect("id").to_owned();
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/api/v2/service_accounts/{id}/application_keys"),
            Some(json!({"data": {"type": "application_keys", "attributes": {"name": "reader"}}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let key = body["data"]["attributes"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    (id, key)
}

async fn lists_api_keys(s: &Server, app_key: &str) -> StatusCode {
    let req = s
        .http
        .get(s.url("/api/v2/api_keys"))
        .header("DD-API-KEY", &s.creds.api_key)
        .header("DD-APPLICATION-KEY", app_key);
    send(req).await.0
}

#[tokio::test]
async fn a_custom_role_made_granted_and_assigned_in_the_console_is_enforced() {
    if !available() {
        return;
    }
    let s = Arc::new(Server::start().await);
    let (reader_id, reader_key) = bare_service_account(&s).await;
    assert_eq!(lists_api_keys(&s, &reader_key).await, StatusCode::FORBIDDEN);
    let (base, email, password) = (s.url("/"), s.creds.email.clone(), s.creds.password.clone());
    let browser = Browser::launch(LAPTOP).await;
    let server = s.clone();
    browser
        .run("roles", |c| async move {
            let s = &*server;
            console_sign_in(&c, &base, &email, &password).await;
            click(&c, tid("nav-roles")).await;
            until_text(&c, "the managed roles", |t| {
                t.contains("Datadog Admin Role")
            })
            .await;
            visible(&c, tid("row-managed")).await;

            // A role that starts empty.
            type_into(&c, tid("roles-create-name"), "Key readers").await;
            click(&c, tid("roles-create-opt-out")).await;
            click(&c, tid("roles-create-submit")).await;
            visible(&c, tid("role-page")).await;
            let count = visible(&c, tid("role-permissions-count")).await;
            assert_eq!(
                count.attr("data-count").await.expect("count").as_deref(),
                Some("0")
            );
            let role_id = visible(&c, tid("role-page"))
                .await
                .attr("data-id")
                .await
                .expect("attr")
                .expect("role id");

            // Grant one permission, then give the service account the role.
            type_into(&c, tid("role-permissions-search"), "api_keys_read").await;
            click(&c, tid("role-permission-api_keys_read")).await;
            until_text(&c, "the grant", |t| t.contains("api_keys_read granted")).await;
            until_api(
                s,
                &format!("/api/v2/roles/{role_id}/permissions"),
                "granted",
                |b| {
                    b["data"].as_array().is_some_and(|ps| {
                        ps.iter()
                            .any(|p| p["attributes"]["name"] == "api_keys_read")
                    })
                },
            )
            .await;
            assert_eq!(lists_api_keys(s, &reader_key).await, StatusCode::FORBIDDEN);
            visible(&c, tid("role-users-add-select"))
                .await
                .select_by_value(&reader_id)
                .await
                .expect("pick the service account");
            click(&c, tid("role-users-add-submit")).await;
            visible(&c, tid("role-user-row")).await;
            until_text(&c, "the member count", |t| t.contains("1 member")).await;
            assert_eq!(lists_api_keys(s, &reader_key).await, StatusCode::OK);

            // Revoking the permission takes effect on the next request.
            click(&c, tid("role-permission-api_keys_read")).await;
            until_text(&c, "the revocation", |t| {
                t.contains("api_keys_read revoked")
            })
            .await;
            assert_eq!(lists_api_keys(s, &reader_key).await, StatusCode::FORBIDDEN);

            // Removing the member empties the role.
            click(&c, tid("role-user-remove")).await;
            visible(&c, tid("role-users-empty")).await;

            // Clone from the list, then delete the clone.
            click(&c, tid("role-back")).await;
            let row = Locator::Css("[data-testid=\"roles-row\"][data-name=\"Key readers\"]");
            visible(&c, row)
                .await
                .find(tid("row-clone"))
                .await
                .expect("clone")
                .click()
                .await
                .expect("click");
            click(&c, tid("confirm-ok")).await;
            until_text(&c, "the clone's page", |t| t.contains("Key readers (copy)")).await;
            click(&c, tid("role-back")).await;
            let copy =
                Locator::Css("[data-testid=\"roles-row\"][data-name=\"Key readers (copy)\"]");
            visible(&c, copy)
                .await
                .find(tid("row-delete"))
                .await
                .expect("delete")
                .click()
                .await
                .expect("click");
            click(&c, tid("confirm-ok")).await;
            until_text(&c, "the deletion", |t| t.contains("was deleted")).await;

            // The Users page assigns a managed role.
            click(&c, tid("nav-users")).await;
            let account = Locator::Css("[data-testid=\"users-row\"][data-name=\"Key reader\"]");
            visible(&c, account)
                .await
                .find(tid("row-edit-roles"))
                .await
                .expect("edit roles")
                .click()
                .await
                .expect("click");
            click(&c, tid("roles-dialog-role-datadog-read-only-role")).await;
            click(&c, tid("confirm-ok")).await;
            until_text(&c, "the saved roles", |t| t.contains("were saved")).await;
            until_api(s, &format!("/api/v2/users/{reader_id}"), "the role", |b| {
                b["data"]["relationships"]["roles"]["data"]
                    .as_array()
                    .is_some_and(|rs| rs.len() == 1)
            })
            .await;
        })
        .await;
}
