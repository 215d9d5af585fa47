//! The organization keeps an admin who can act (security review 2026-12, findings 7 and 13):
//! the rule holds when two admins disable each other at the same moment, on SQLite and on
//! PostgreSQL, and a Pending admin who has never signed in and holds no password or key does
//! not count. And a key minted while its owner is being disabled does not survive it (9).

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ADMIN_ROLE: &str = "6b2c5a2e-7d0c-11ee-9f0a-0242ac120001";

async fn call_with(
    s: &Server,
    keys: (&str, &str),
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = s
        .http
        .request(method, s.url(path))
        .header("DD-API-KEY", keys.0)
        .header("DD-APPLICATION-KEY", keys.1);
    if let Some(body) = body {
        req = req.json(&body);
    }
    send(req).await
}

async fn invite_admin(s: &Server, keys: (&str, &str), email: &str) -> String {
    let body = json!({"data": {"type": "users", "attributes": {"email": email},
        "relationships": {"roles": {"data": [{"id": ADMIN_ROLE, "type": "roles"}]}}}});
    let (status, got) = call_with(s, keys, Method::POST, "/api/v2/users", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    got["data"]["id"].as_str().expect("id").to_owned()
}

async fn user_id(s: &Server, keys: (&str, &str), email: &str) -> String {
    let path = format!("/api/v2/users?filter={email}");
    let (_, got) = call_with(s, keys, Method::GET, &path, None).await;
    got["data"][0]["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn a_pending_admin_without_credentials_does_not_count() {
    let s = Server::start().await;
    let admin = (s.creds.api_key.as_str(), s.creds.app_key.as_str());
    let me = user_id(&s, admin, &s.creds.email).await;
    invite_admin(&s, admin, "ghost@example.com").await;
    let path = format!("/api/v2/users/{me}");
    let (status, got) = s.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{got}");
    assert_eq!(
        got,
        errors("The organization's last enabled admin cannot be disabled")
    );
    // Once the invited admin holds a key it can act, and the first admin may go.
    let out = s.admin(&[
        "create-application-key",
        "--email",
        "ghost@example.com",
        "--name",
        "g",
    ]);
    let ghost_key = env_value(&out, "DD_APP_KEY");
    s.await_key_pair(&s.creds.api_key, &ghost_key).await;
    let (status, got) = s.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{got}");
}

/// Eight organizations, each with two admins who disable each other at once: in every one
/// exactly one disable succeeds and one admin stays.
async fn admins_disabling_each_other_leave_one(s: &Server) {
    for round in 0..8 {
        let first = format!("a{round}@race.example");
        let out = s.admin(&[
            "create-organization",
            "--name",
            &format!("race {round}"),
            "--admin-email",
            &first,
        ]);
        let api = env_value(&out, "DD_API_KEY");
        let a_key = env_value(&out, "DD_APP_KEY");
        s.await_key_pair(&api, &a_key).await;
        let a = (api.as_str(), a_key.as_str());
        let second = format!("b{round}@race.example");
        let b_id = invite_admin(s, a, &second).await;
        let out = s.admin(&["create-application-key", "--email", &second, "--name", "b"]);
        let b_key = env_value(&out, "DD_APP_KEY");
        s.await_key_pair(&api, &b_key).await;
        let b = (api.as_str(), b_key.as_str());
        let a_id = user_id(s, a, &first).await;
        let a_disables_b = format!("/api/v2/users/{b_id}");
        let b_disables_a = format!("/api/v2/users/{a_id}");
        let (by_a, by_b) = tokio::join!(
            call_with(s, a, Method::DELETE, &a_disables_b, None),
            call_with(s, b, Method::DELETE, &b_disables_a, None),
        );
        let mut statuses = [by_a.0, by_b.0];
        statuses.sort();
        // The loser is refused by the rule (400) or, its own key deleted by the winner's
        // disable a moment earlier, by authentication (403); never both 204.
        assert_eq!(
            statuses[0],
            StatusCode::NO_CONTENT,
            "round {round}: {by_a:?} {by_b:?}"
        );
        assert_ne!(
            statuses[1],
            StatusCode::NO_CONTENT,
            "round {round}: both admins disabled"
        );
        let survivor = if by_a.0 == StatusCode::NO_CONTENT {
            a
        } else {
            b
        };
        let (status, users) = call_with(s, survivor, Method::GET, "/api/v2/users", None).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "round {round}: the survivor cannot act"
        );
        let disabled = users["data"]
            .as_array()
            .expect("users")
            .iter()
            .filter(|u| u["attributes"]["disabled"] == true)
            .count();
        assert_eq!(disabled, 1, "round {round}: {users}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_disabling_each_other_leave_one_on_sqlite() {
    let s = Server::start_sqlite_with(&[]).await;
    admins_disabling_each_other_leave_one(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_disabling_each_other_leave_one_on_postgres() {
    let Some(s) = Server::start_postgres().await else {
        return;
    };
    admins_disabling_each_other_leave_one(&s).await;
}

/// Security review 2026-12, finding 9: a key the user creates while an admin disables it
/// never survives the disable (and so never comes back when the user is re-enabled).
async fn keys_minted_during_a_disable_do_not_survive(s: &Server) {
    let admin = (s.creds.api_key.as_str(), s.creds.app_key.as_str());
    let body = json!({"data": {"type": "users", "attributes": {"email": "minter@example.com"},
        "relationships": {"roles": {"data": [{"id": ADMIN_ROLE, "type": "roles"}]}}}});
    let (status, got) = s.call(Method::POST, "/api/v2/users", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    let minter_id = got["data"]["id"].as_str().expect("id").to_owned();
    let out = s.admin(&[
        "create-application-key",
        "--email",
        "minter@example.com",
        "--name",
        "m",
    ]);
    let minter_key = env_value(&out, "DD_APP_KEY");
    s.await_key_pair(&s.creds.api_key, &minter_key).await;
    let minter = (s.creds.api_key.as_str(), minter_key.as_str());
    let mint = |worker: usize| async move {
        let mut created = 0;
        for i in 0..40 {
            let body = json!({"data": {"type": "application_keys",
                "attributes": {"name": format!("w{worker} k{i}")}}});
            let path = "/api/v2/current_user/application_keys";
            let (status, _) = call_with(s, minter, Method::POST, path, Some(body)).await;
            match status {
                StatusCode::CREATED => created += 1,
                StatusCode::FORBIDDEN => break,
                other => panic!("mint: {other}"),
            }
        }
        created
    };
    let disable = async {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let path = format!("/api/v2/users/{minter_id}");
        call_with(s, admin, Method::DELETE, &path, None).await
    };
    let (a, b, c, d, disabled) = tokio::join!(mint(0), mint(1), mint(2), mint(3), disable);
    assert_eq!(disabled.0, StatusCode::NO_CONTENT, "{disabled:?}");
    assert!(a + b + c + d > 0, "no key was minted before the disable");
    let path = format!("/api/v2/application_keys?filter[owned_by]={minter_id}");
    let (_, left) = s.call(Method::GET, &path, None).await;
    assert_eq!(left["meta"]["page"]["total_filtered_count"], 0, "{left}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_minted_during_a_disable_do_not_survive_on_sqlite() {
    let s = Server::start_sqlite_with(&[]).await;
    keys_minted_during_a_disable_do_not_survive(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_minted_during_a_disable_do_not_survive_on_postgres() {
    let Some(s) = Server::start_postgres().await else {
        return;
    };
    keys_minted_during_a_disable_do_not_survive(&s).await;
}
