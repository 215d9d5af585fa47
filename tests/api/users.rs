//! Users and service accounts: Datadog's shapes and the FAQ's rule on disabling a user.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn role_id(s: &Server, name: &str) -> String {
    let (_, roles) = s
        .call(Method::GET, &format!("/api/v2/roles?filter={name}"), None)
        .await;
    roles["data"][0]["id"].as_str().expect("role").to_owned()
}

async fn create_user(s: &Server, email: &str, role: Option<&str>) -> Value {
    let mut body =
        json!({"data": {"type": "users", "attributes": {"email": email, "title": "user title"}}});
    if let Some(role) = role {
        let id = role_id(s, role).await;
        body["data"]["relationships"] = json!({"roles": {"data": [{"id": id, "type": "roles"}]}});
    }
    let (status, got) = s.call(Method::POST, "/api/v2/users", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    got
}

async fn mint_app_key(s: &Server, email: &str) -> String {
    let name = format!("key of {email}");
    let out = s.admin(&["create-application-key", "--email", email, "--name", &name]);
    let key = env_value(&out, "DD_APP_KEY");
    s.await_key_pair(&s.creds.api_key, &key).await;
    key
}

#[tokio::test]
async fn users_are_created_pending_with_lowercased_emails() {
    let s = Server::start().await;
    let created = create_user(&s, "New.User@Example.COM", Some("Standard")).await;
    let user = &created["data"];
    let attrs = &user["attributes"];
    assert_eq!(user["type"], "users");
    assert_eq!(attrs["email"], "new.user@example.com");
    assert_eq!(attrs["handle"], "new.user@example.com");
    assert_eq!(attrs["status"], "Pending");
    assert_eq!(
        (attrs["verified"].clone(), attrs["disabled"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(attrs["service_account"], false);
    assert_eq!(attrs["title"], "user title");
    assert_eq!(user["relationships"]["roles"]["data"][0]["type"], "roles");
    assert_eq!(
        created["included"][0]["attributes"]["name"],
        "Datadog Standard Role"
    );
    assert_eq!(user["relationships"]["org"]["data"]["type"], "orgs");

    let (status, body) = s
        .call(
            Method::POST,
            "/api/v2/users",
            Some(
                json!({"data": {"type": "users", "attributes": {"email": "new.user@EXAMPLE.com"}}}),
            ),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CONFLICT,
            errors("A user with the email new.user@example.com already exists")
        )
    );
    let no_roles = create_user(&s, "plain@example.com", None).await;
    assert_eq!(
        no_roles["data"]["relationships"]["roles"]["data"],
        json!([])
    );
    for bad in [
        json!({"data": {"type": "users", "attributes": {}}}),
        json!({"data": {"type": "users", "attributes": {"email": "not-an-email"}}}),
        json!({"data": {"type": "roles", "attributes": {"email": "a@b.c"}}}),
        json!({"data": {"type": "users", "attributes": {"email": "a@b.c"},
            "relationships": {"roles": {"data": [{"id": uuid::Uuid::new_v4(), "type": "roles"}]}}}}),
    ] {
        let (status, _) = s
            .call(Method::POST, "/api/v2/users", Some(bad.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn users_are_listed_got_updated_and_disabled_as_recorded() {
    let s = Server::start().await;
    let id = create_user(&s, "listed@example.com", None).await["data"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    create_user(&s, "other@example.com", None).await;

    let (_, list) = s
        .call(
            Method::GET,
            "/api/v2/users?filter=listed%40example.com",
            None,
        )
        .await;
    assert_eq!(
        list["meta"],
        json!({"page": {"total_count": 3, "total_filtered_count": 1}})
    );
    assert_eq!(list["data"][0]["id"], id.as_str());
    let (_, pending) = s
        .call(
            Method::GET,
            "/api/v2/users?filter[status]=Pending&page[size]=1&page[number]=1",
            None,
        )
        .await;
    assert_eq!(pending["meta"]["page"]["total_filtered_count"], 2);
    assert_eq!(pending["data"].as_array().map(Vec::len), Some(1));

    let (status, got) = s
        .call(Method::GET, &format!("/api/v2/users/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["data"]["attributes"]["email"], "listed@example.com");

    let mismatch = json!({"data": {"id": "00000000-mismatch-body-id-ffffffffffff", "type": "users",
        "attributes": {"disabled": true, "name": "updated"}}});
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/api/v2/users/{id}"),
            Some(mismatch),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            errors("UUID's in the URL and request body do not match")
        )
    );

    let update = json!({"data": {"id": id, "type": "users", "attributes": {"name": "updated", "title": null}}});
    let (status, updated) = s
        .call(Method::PATCH, &format!("/api/v2/users/{id}"), Some(update))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["data"]["attributes"]["name"], "updated");
    assert_eq!(updated["data"]["attributes"]["title"], Value::Null);

    let ghost = "00000000-dead-beef-dead-ffffffffffff";
    let body = json!({"data": {"id": ghost, "type": "users", "attributes": {"name": "x"}}});
    let (status, got) = s
        .call(Method::PATCH, &format!("/api/v2/users/{ghost}"), Some(body))
        .await;
    assert_eq!(
        (status, got),
        (StatusCode::NOT_FOUND, errors(&format!("{ghost} not found")))
    );

    let (status, _) = s
        .call(Method::DELETE, &format!("/api/v2/users/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = s
        .call(Method::DELETE, &format!("/api/v2/users/{id}"), None)
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, errors(&format!("{id} not found")))
    );
    let (_, got) = s
        .call(Method::GET, &format!("/api/v2/users/{id}"), None)
        .await;
    assert_eq!(got["data"]["attributes"]["status"], "Disabled");
    assert_eq!(got["data"]["attributes"]["disabled"], true);
}

#[tokio::test]
async fn disabling_a_user_deletes_its_application_keys_and_keeps_its_api_keys() {
    let s = Server::start().await;
    let user = create_user(&s, "leaver@example.com", Some("Admin")).await;
    let id = user["data"]["id"].as_str().expect("id").to_owned();
    let app_key = mint_app_key(&s, "leaver@example.com").await;
    let as_leaver = |method: Method, path: &str| {
        s.http
            .request(method, s.url(path))
            .header("DD-API-KEY", &s.creds.api_key)
            .header("DD-APPLICATION-KEY", &app_key)
    };
    let (status, created) =
        send(as_leaver(Method::POST, "/api/v2/api_keys").json(&api_key_body("made by leaver")))
            .await;
    assert_eq!(status, StatusCode::CREATED);
    let api_key = created["data"]["attributes"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let (_, _) = send(
        as_leaver(Method::POST, "/api/v2/current_user/application_keys")
            .json(&json!({"data": {"type": "application_keys", "attributes": {"name": "second"}}})),
    )
    .await;
    let (_, owned) = s
        .call(
            Method::GET,
            &format!("/api/v2/application_keys?filter[owned_by]={id}"),
            None,
        )
        .await;
    assert_eq!(owned["meta"]["page"]["total_filtered_count"], 2);

    let (status, _) = s
        .call(Method::DELETE, &format!("/api/v2/users/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        send(as_leaver(Method::GET, "/api/v2/api_keys")).await,
        (StatusCode::FORBIDDEN, errors("Forbidden"))
    );
    let (_, owned) = s
        .call(
            Method::GET,
            &format!("/api/v2/application_keys?filter[owned_by]={id}"),
            None,
        )
        .await;
    assert_eq!(owned["meta"]["page"]["total_filtered_count"], 0);
    let validate = s
        .http
        .get(s.url("/api/v1/validate"))
        .header("DD-API-KEY", &api_key);
    assert_eq!(
        send(validate).await.0,
        StatusCode::OK,
        "the API key the user created keeps working"
    );
    let with_admin = s
        .http
        .get(s.url("/api/v2/api_keys"))
        .header("DD-API-KEY", &api_key)
        .header("DD-APPLICATION-KEY", &s.creds.app_key);
    assert_eq!(send(with_admin).await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_last_admin_cannot_be_disabled() {
    let s = Server::start().await;
    let (_, list) = s
        .call(
            Method::GET,
            &format!("/api/v2/users?filter={}", s.creds.email),
            None,
        )
        .await;
    let admin = list["data"][0]["id"].as_str().expect("admin").to_owned();
    let (status, body) = s
        .call(Method::DELETE, &format!("/api/v2/users/{admin}"), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        s.call(Method::GET, "/api/v2/api_keys", None).await.0,
        StatusCode::OK
    );
    let second = create_user(&s, "second-admin@example.com", Some("Admin")).await;
    assert_eq!(second["data"]["attributes"]["status"], "Pending");
    let key = mint_app_key(&s, "second-admin@example.com").await;
    let (status, _) = s
        .call(Method::DELETE, &format!("/api/v2/users/{admin}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "another admin exists now");
    let req = s
        .http
        .get(s.url("/api/v2/users"))
        .header("DD-API-KEY", &s.creds.api_key)
        .header("DD-APPLICATION-KEY", &key);
    assert_eq!(send(req).await.0, StatusCode::OK);
}

#[tokio::test]
async fn service_accounts_are_active_and_act_through_their_keys() {
    let s = Server::start().await;
    let role = role_id(&s, "Admin").await;
    let body = json!({"data": {"type": "users", "attributes": {"email": "Bot@Example.com", "name": "Bot", "service_account": true},
        "relationships": {"roles": {"data": [{"id": role, "type": "roles"}]}}}});
    let (status, created) = s
        .call(Method::POST, "/api/v2/service_accounts", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let sa = &created["data"];
    let id = sa["id"].as_str().expect("id");
    assert_eq!(sa["attributes"]["status"], "Active");
    assert_eq!(sa["attributes"]["service_account"], true);
    assert_eq!(sa["attributes"]["verified"], true);
    assert_eq!(sa["attributes"]["handle"], id);
    assert_eq!(sa["attributes"]["email"], "bot@example.com");

    let path = format!("/api/v2/service_accounts/{id}/application_keys");
    let (_, key) = s
        .call(
            Method::POST,
            &path,
            Some(json!({"data": {"type": "application_keys", "attributes": {"name": "bot key"}}})),
        )
        .await;
    let key = key["data"]["attributes"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let as_bot = s
        .http
        .get(s.url("/api/v2/current_user/application_keys"))
        .header("DD-API-KEY", &s.creds.api_key)
        .header("DD-APPLICATION-KEY", &key);
    let (status, mine) = send(as_bot).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["data"][0]["attributes"]["name"], "bot key");

    let not_sa = json!({"data": {"type": "users", "attributes": {"email": "x@example.com"}}});
    let (status, _) = s
        .call(Method::POST, "/api/v2/service_accounts", Some(not_sa))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
