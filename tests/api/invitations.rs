//! Issue 18, item 4: invitations (`/api/v2/user_invitations`, the console link that replaces
//! Datadog's email) and the duplicate-email 409 that Terraform's `datadog_user` falls back on.

use crate::helpers::*;
use datadog_api_client::datadogV2::api_users::{ListUsersOptionalParams, UsersAPI};
use datadog_api_client::datadogV2::model::{
    RelationshipToUser, RelationshipToUserData, UserCreateAttributes, UserCreateData,
    UserCreateRequest, UserInvitationData, UserInvitationRelationships, UserInvitationsRequest,
    UserInvitationsType, UserUpdateAttributes, UserUpdateData, UserUpdateRequest, UsersType,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const DAY_MICROS: i64 = 24 * 3600 * 1_000_000;

fn unique_email(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", uuid::Uuid::new_v4().simple())
}

async fn new_user(s: &Server, email: &str) -> String {
    let body = json!({"data": {"type": "users", "attributes": {"email": email}}});
    let (status, created) = s.call(Method::POST, "/api/v2/users", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["data"]["id"].as_str().expect("user id").to_owned()
}

fn invitation_body(user_id: &str) -> Value {
    json!({"data": [{"type": "user_invitations",
        "relationships": {"user": {"data": {"type": "users", "id": user_id}}}}]})
}

async fn invite(s: &Server, user_id: &str) -> Value {
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v2/user_invitations",
            Some(invitation_body(user_id)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"][0].clone()
}

fn micros(text: &Value) -> i64 {
    let text = text.as_str().expect("timestamp");
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339");
    (t.unix_timestamp_nanos() / 1_000) as i64
}

#[tokio::test]
async fn invitations_have_datadogs_shape_and_errors() {
    let s = Server::start().await;
    let user = new_user(&s, &unique_email("invited")).await;
    let first = invite(&s, &user).await;
    assert_eq!(first["type"], "user_invitations");
    assert_eq!(first["attributes"]["uuid"], first["id"]);
    assert_eq!(first["attributes"]["invite_type"], "openid_invite");
    assert_eq!(first["attributes"]["login_method"], Value::Null);
    assert_eq!(
        first["relationships"]["user"]["data"],
        json!({"type": "users", "id": user})
    );
    let lifetime =
        micros(&first["attributes"]["expires_at"]) - micros(&first["attributes"]["created_at"]);
    assert_eq!(lifetime, 2 * DAY_MICROS);

    let id = first["id"].as_str().expect("id");
    let (status, got) = s
        .call(Method::GET, &format!("/api/v2/user_invitations/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["data"], first);

    let again = invite(&s, &user).await;
    assert_eq!(again["attributes"]["invite_type"], "basic_reminder");
    assert_ne!(again["id"], first["id"]);

    // 30d_invite_expiration, when on, gives the next invitation 30 days.
    let on = json!({"data": {"type": "org_configs", "attributes": {"value": true}}});
    let (status, body) = s
        .call(
            Method::PATCH,
            "/api/v2/org_configs/30d_invite_expiration",
            Some(on),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let long = invite(&s, &user).await;
    let lifetime =
        micros(&long["attributes"]["expires_at"]) - micros(&long["attributes"]["created_at"]);
    assert_eq!(lifetime, 30 * DAY_MICROS);

    let unknown = uuid::Uuid::new_v4().to_string();
    for (bad, message) in [
        (
            json!({"data": []}),
            "data must hold at least one invitation".to_owned(),
        ),
        (
            invitation_body(&unknown),
            format!("User {unknown} not found"),
        ),
        (
            json!({"data": [{"type": "users", "relationships": {"user": {"data": {"type": "users", "id": user}}}}]}),
            "Invalid type: users. data.type must be user_invitations".to_owned(),
        ),
    ] {
        let (status, body) = s
            .call(Method::POST, "/api/v2/user_invitations", Some(bad.clone()))
            .await;
        assert_eq!(
            (status, body),
            (StatusCode::BAD_REQUEST, errors(&message)),
            "{bad}"
        );
    }
    for bad in [
        json!({"data": {}}),
        json!({"data": [{"type": "user_invitations"}]}),
        json!([]),
    ] {
        let (status, body) = s
            .call(Method::POST, "/api/v2/user_invitations", Some(bad.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["errors"].is_array(), "{body}");
    }
    let (status, body) = send(
        s.req(Method::POST, "/api/v2/user_invitations")
            .header("content-type", "application/json")
            .body("{\"data\": ["),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    for path in [
        format!("/api/v2/user_invitations/{unknown}"),
        "/api/v2/user_invitations/not-a-uuid".to_owned(),
    ] {
        let (status, body) = s.call(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }

    // A refused user in the list writes nothing for the others.
    let fresh = new_user(&s, &unique_email("fresh")).await;
    let sa = json!({"data": {"type": "users", "attributes": {"email": unique_email("sa"), "service_account": true}}});
    let (_, sa) = s
        .call(Method::POST, "/api/v2/service_accounts", Some(sa))
        .await;
    let sa_id = sa["data"]["id"].as_str().expect("service account");
    let mut both = invitation_body(&fresh);
    both["data"]
        .as_array_mut()
        .expect("list")
        .push(invitation_body(sa_id)["data"][0].clone());
    let (status, body) = s
        .call(Method::POST, "/api/v2/user_invitations", Some(both))
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            errors("Service accounts cannot be invited")
        )
    );
    assert_eq!(
        invite(&s, &fresh).await["attributes"]["invite_type"],
        "openid_invite"
    );

    // admin_only_invites: a key scoped to user_access_invite alone may invite only while off.
    let scoped = json!({"data": {"type": "application_keys", "attributes": {"name": "inviter", "scopes": ["user_access_invite"]}}});
    let (_, scoped) = s
        .call(
            Method::POST,
            "/api/v2/current_user/application_keys",
            Some(scoped),
        )
        .await;
    let app = scoped["data"]["attributes"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    s.await_key_pair(&s.creds.api_key, &app).await;
    let by_scoped = || {
        s.http
            .post(s.url("/api/v2/user_invitations"))
            .header("DD-API-KEY", &s.creds.api_key)
            .header("DD-APPLICATION-KEY", &app)
            .json(&invitation_body(&fresh))
    };
    assert_eq!(send(by_scoped()).await.0, StatusCode::CREATED);
    let on = json!({"data": {"type": "org_configs", "attributes": {"value": true}}});
    let (status, _) = s
        .call(
            Method::PATCH,
            "/api/v2/org_configs/admin_only_invites",
            Some(on),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(send(by_scoped()).await.0, StatusCode::FORBIDDEN);

    // Cancelling answers 200; an unknown user is 404.
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v2/users/{user}/invitations"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = s
        .call(
            Method::DELETE,
            &format!("/api/v2/users/{unknown}/invitations"),
            None,
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            errors(&format!("{unknown} not found"))
        )
    );

    let (_, audit) = s
        .call(
            Method::GET,
            &format!("/api/v2/audit/events?filter[key]={user}"),
            None,
        )
        .await;
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["attributes"]["action"].as_str())
        .collect();
    assert!(actions.contains(&"user.invite"), "{audit}");
    assert!(actions.contains(&"user.invitations_cancel"), "{audit}");
}

async fn console_invite(s: &Server, console: &Console, user_id: &str) -> String {
    let (status, body) = send(
        s.console_req(console, Method::POST, "/api/console/invitations")
            .json(&json!({"user_id": user_id})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let link = body["link"].as_str().expect("link");
    link.strip_prefix("/#/invite/")
        .expect("console route")
        .to_owned()
}

async fn accept(s: &Server, secret: &str, password: &str) -> (StatusCode, Value, Option<String>) {
    let resp = s
        .http
        .post(s.url("/api/console/invitation"))
        .json(&json!({"secret": secret, "password": password}))
        .send()
        .await
        .expect("accept");
    let status = resp.status();
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, resp.json().await.unwrap_or(Value::Null), cookie)
}

#[tokio::test]
async fn an_invitation_link_sets_a_password_once_and_signs_in() {
    let s = Server::start().await;
    let console = s.sign_in().await;
    let email = unique_email("joiner");
    let user = new_user(&s, &email).await;
    let replaced = console_invite(&s, &console, &user).await;
    let secret = console_invite(&s, &console, &user).await;

    let (status, found) = send(
        s.http
            .post(s.url("/api/console/invitation/lookup"))
            .json(&json!({"secret": secret})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["email"], email);

    let (status, body, _) = accept(&s, &replaced, "a long enough password").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a replaced link is dead: {body}"
    );
    let (status, body, _) = accept(&s, &secret, "short").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body, cookie) = accept(&s, &secret, "a long enough password").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["user"]["email"], email);
    assert!(cookie.is_some_and(|c| c.contains("HttpOnly")));
    let (status, body, _) = accept(&s, &secret, "another long password").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a link works once: {body}");

    let (_, got) = s
        .call(Method::GET, &format!("/api/v2/users/{user}"), None)
        .await;
    assert_eq!(got["data"]["attributes"]["status"], "Active", "{got}");
    s.sign_in_as(&email, "a long enough password").await;
    // With a password set, a new link cannot replace it.
    let later = console_invite(&s, &console, &user).await;
    let (status, _, _) = accept(&s, &later, "a takeover password").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Cancelled links are dead; the CLI prints a working one.
    let other_email = unique_email("cli");
    let other = new_user(&s, &other_email).await;
    let cancelled = console_invite(&s, &console, &other).await;
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v2/users/{other}/invitations"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = accept(&s, &cancelled, "a long enough password").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let out = s.admin(&[
        "invite",
        &other_email,
        "--base-url",
        "https://keys.example.com/",
    ]);
    let link = out
        .lines()
        .find_map(|l| l.strip_prefix("https://keys.example.com/#/invite/"))
        .expect("printed link");
    let (status, body, _) = accept(&s, link, "a long enough password").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (_, audit) = s
        .call(
            Method::GET,
            &format!("/api/v2/audit/events?filter[key]={user}"),
            None,
        )
        .await;
    assert!(
        audit.to_string().contains("user.invitation_accept"),
        "{audit}"
    );
}

fn users_api(s: &Server) -> UsersAPI {
    UsersAPI::with_config(s.dd_config())
}

fn invitation_request(user_id: &str) -> UserInvitationsRequest {
    UserInvitationsRequest::new(vec![UserInvitationData::new(
        UserInvitationRelationships::new(RelationshipToUser::new(RelationshipToUserData::new(
            user_id.to_owned(),
            UsersType::USERS,
        ))),
        UserInvitationsType::USER_INVITATIONS,
    )])
}

/// Terraform's `datadog_user` create: POST the user; on 409 find it by a filtered list and
/// PATCH it; then send the invitation (`send_user_invitation` defaults to true) and keep
/// `data[0].id`. Here through the official client, as the provider's Go client does it.
#[tokio::test]
async fn terraforms_datadog_user_sequence_runs_end_to_end() {
    let s = Server::start().await;
    let api = users_api(&s);
    let email = unique_email("tf");
    let create = || {
        UserCreateRequest::new(UserCreateData::new(
            UserCreateAttributes::new(email.clone()).name("Terraform".to_owned()),
            UsersType::USERS,
        ))
    };
    let created = api.create_user(create()).await.expect("create user");
    let id = created.data.and_then(|d| d.id).expect("user id");
    // The user disabled: still a duplicate.
    api.disable_user(id.clone()).await.expect("disable");
    let conflict = api
        .create_user(create())
        .await
        .expect_err("duplicate email");
    match conflict {
        datadog_api_client::datadog::Error::ResponseError(e) => {
            assert_eq!(e.status, StatusCode::CONFLICT, "{}", e.content)
        }
        other => panic!("{other:?}"),
    }
    let found = api
        .list_users(ListUsersOptionalParams::default().filter(email.clone()))
        .await
        .expect("filtered list");
    let found = found.data.expect("users");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id.as_deref(), Some(id.as_str()));
    let update = UserUpdateRequest::new(UserUpdateData::new(
        UserUpdateAttributes::new()
            .name("Terraform".to_owned())
            .disabled(false),
        id.clone(),
        UsersType::USERS,
    ));
    api.update_user(id.clone(), update)
        .await
        .expect("re-enable");

    let sent = api
        .send_invitations(invitation_request(&id))
        .await
        .expect("send invitations");
    let data = sent.data.expect("data");
    assert_eq!(data.len(), 1);
    let attrs = data[0].attributes.clone().expect("attributes");
    assert_eq!(attrs.invite_type.as_deref(), Some("openid_invite"));
    let invitation_id = data[0].id.clone().expect("invitation id");

    let got = api
        .get_invitation(invitation_id.clone())
        .await
        .expect("get invitation");
    let got = got.data.expect("data");
    assert_eq!(got.attributes.and_then(|a| a.uuid), Some(invitation_id));
    api.delete_user_invitations(uuid::Uuid::parse_str(&id).expect("uuid"))
        .await
        .expect("cancel invitations");
}
