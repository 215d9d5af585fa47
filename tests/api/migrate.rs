//! `keyplane migrate`: an embedded installation copied into PostgreSQL, row for row, and
//! every key still valid on a PostgreSQL node with the same master key.

use crate::helpers::*;
use keyplane::store::copy::{
    all_access_tokens, all_api_keys, all_application_keys, all_client_tokens, all_users,
};
use keyplane::store::Store;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_keyplane");

/// An organization's credentials and every key and token made in it.
struct Made {
    api_key: String,
    app_key: String,
    api_keys: Vec<String>,
    app_keys: Vec<String>,
    client_tokens: Vec<String>,
    access_tokens: Vec<String>,
}

fn secret_of(body: &serde_json::Value) -> String {
    body["data"]["attributes"]["key"]
        .as_str()
        .expect("key")
        .into()
}

/// A token body: one scope, thirty days.
fn token_body(kind: &str, name: String) -> serde_json::Value {
    let expires = time::OffsetDateTime::now_utc() + time::Duration::days(30);
    let expires = expires
        .format(&time::format_description::well_known::Rfc3339)
        .expect("date");
    json!({"data": {"type": kind, "attributes": {
        "name": name, "scopes": ["api_keys_read"], "expires_at": expires}}})
}

async fn call_as(
    s: &Server,
    api: &str,
    app: &str,
    method: Method,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let req = s
        .http
        .request(method, s.url(path))
        .header("DD-API-KEY", api)
        .header("DD-APPLICATION-KEY", app);
    let req = if body.is_null() { req } else { req.json(&body) };
    let (status, body) = send(req).await;
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// Users (one disabled with its keys, one holding a custom role, one service account), API
/// keys, application keys, client tokens and access tokens in the organization of the given
/// credentials.
async fn populate(s: &Server, api: &str, app: &str, tag: &str) -> Made {
    let mut made = Made {
        api_key: api.to_owned(),
        app_key: app.to_owned(),
        api_keys: vec![api.to_owned()],
        app_keys: vec![app.to_owned()],
        client_tokens: Vec::new(),
        access_tokens: Vec::new(),
    };
    let permissions = call_as(s, api, app, Method::GET, "/api/v2/permissions", json!(null)).await;
    let permission = permissions["data"][4]["id"].as_str().expect("permission");
    let role = call_as(
        s,
        api,
        app,
        Method::POST,
        "/api/v2/roles",
        json!({"data": {"type": "roles", "attributes": {"name": format!("{tag} role")},
            "relationships": {"permissions": {"data": [{"type": "permissions", "id": permission}]}}}}),
    )
    .await;
    let role = role["data"]["id"].as_str().expect("role id").to_owned();
    for i in 0..3 {
        let body = call_as(
            s,
            api,
            app,
            Method::POST,
            "/api/v2/api_keys",
            json!({"data": {"type": "api_keys", "attributes": {
                "name": format!("{tag} api {i}"), "category": format!("cat{i}")}}}),
        )
        .await;
        made.api_keys.push(secret_of(&body));
        let body = call_as(
            s,
            api,
            app,
            Method::POST,
            "/api/v2/current_user/application_keys",
            json!({"data": {"type": "application_keys", "attributes": {
                "name": format!("{tag} app {i}"), "scopes": ["api_keys_read"]}}}),
        )
        .await;
        made.app_keys.push(secret_of(&body));
    }
    for i in 0..2 {
        let body = call_as(
            s,
            api,
            app,
            Method::POST,
            "/api/v2/client_tokens",
            json!({"data": {"type": "client_tokens", "attributes": {
                "name": format!("{tag} token {i}")}}}),
        )
        .await;
        made.client_tokens.push(secret_of(&body));
    }
    for (email, disable) in [("stays", false), ("leaves", true)] {
        let email = format!("{email}.{tag}@example.com");
        let body = call_as(
            s,
            api,
            app,
            Method::POST,
            "/api/v2/users",
            json!({"data": {"type": "users", "attributes": {"email": email, "name": tag}}}),
        )
        .await;
        let id = body["data"]["id"].as_str().expect("id").to_owned();
        call_as(
            s,
            api,
            app,
            Method::POST,
            &format!("/api/v2/roles/{role}/users"),
            json!({"data": {"type": "users", "id": id}}),
        )
        .await;
        let name = format!("key of {email}");
        let out = s.admin(&["create-application-key", "--email", &email, "--name", &name]);
        let key = env_value(&out, "DD_APP_KEY");
        if disable {
            s.await_key_pair(api, &key).await;
            call_as(
                s,
                api,
                app,
                Method::PATCH,
                &format!("/api/v2/users/{id}"),
                json!({"data": {"type": "users", "id": id, "attributes": {"disabled": true}}}),
            )
            .await;
        } else {
            made.app_keys.push(key);
        }
    }
    let body = call_as(
        s,
        api,
        app,
        Method::POST,
        "/api/v2/service_accounts",
        json!({"data": {"type": "users", "attributes": {
            "email": format!("robot.{tag}@example.com"), "service_account": true}}}),
    )
    .await;
    let robot = body["data"]["id"].as_str().expect("id").to_owned();
    let body = call_as(
        s,
        api,
        app,
        Method::POST,
        &format!("/api/v2/service_accounts/{robot}/application_keys"),
        json!({"data": {"type": "application_keys", "attributes": {"name": format!("{tag} robot")}}}),
    )
    .await;
    made.app_keys.push(secret_of(&body));
    for (path, kind) in [
        (
            "/api/v2/personal_access_tokens".to_owned(),
            "personal_access_tokens",
        ),
        (
            format!("/api/v2/service_accounts/{robot}/access_tokens"),
            "service_access_tokens",
        ),
    ] {
        let body = token_body(kind, format!("{tag} {kind}"));
        let body = call_as(s, api, app, Method::POST, &path, body).await;
        made.access_tokens.push(secret_of(&body));
    }
    made
}

fn migrate(from: &std::path::Path, to: &str) -> std::process::Output {
    Command::new(BIN)
        .arg("migrate")
        .arg("--from")
        .arg(from)
        .args(["--to", to])
        .output()
        .expect("run keyplane migrate")
}

/// Every row of every organization in a form that compares whole rows, secrets included.
async fn snapshot(store: &dyn Store) -> Vec<String> {
    let mut rows = Vec::new();
    for org in store.list_orgs().await.expect("orgs") {
        rows.push(format!("{org:?}"));
        for r in store.list_roles(org.id).await.expect("roles") {
            rows.push(format!("{r:?}"));
        }
        for u in all_users(store, org.id).await.expect("users") {
            rows.push(format!("{u:?}"));
        }
        for k in all_api_keys(store, org.id).await.expect("api keys") {
            rows.push(format!("{k:?} digest={}", hex(&k.digest.0)));
        }
        for k in all_application_keys(store, org.id).await.expect("app keys") {
            rows.push(format!("{k:?} digest={}", hex(&k.digest.0)));
        }
        for t in all_client_tokens(store, org.id).await.expect("tokens") {
            rows.push(format!("{t:?} digest={}", hex(&t.digest.0)));
        }
        for t in all_access_tokens(store, org.id)
            .await
            .expect("access tokens")
        {
            rows.push(format!("{t:?} digest={}", hex(&t.digest.0)));
        }
        for leak in store.org_leaks(org.id).await.expect("leaks") {
            rows.push(format!("{leak:?}"));
        }
    }
    rows
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_installation_moves_to_postgres_with_every_key() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let mut s = Server::start_sqlite_with(&["--max-api-keys-per-org", "10"]).await;
    let mut orgs = vec![populate(&s, &s.creds.api_key, &s.creds.app_key, "first").await];
    for name in ["second", "third"] {
        let out = s.admin(&[
            "create-organization",
            "--name",
            name,
            "--admin-email",
            &format!("admin@{name}.example.com"),
        ]);
        let (api, app) = (env_value(&out, "DD_API_KEY"), env_value(&out, "DD_APP_KEY"));
        s.await_key_pair(&api, &app).await;
        orgs.push(populate(&s, &api, &app, name).await);
    }
    s.admin(&["set-one-time-read", "true"]);
    // Usage, written at shutdown, travels too.
    let req = s.http.get(s.url("/api/v1/validate"));
    assert_eq!(
        send(req.header("DD-API-KEY", &orgs[1].api_keys[1])).await.0,
        StatusCode::OK
    );
    // Leak records travel too (acted on just after the 202, hence the pause).
    let report = serde_json::json!({"data": {"type": "leaked_credentials", "attributes": {
        "candidates": [&orgs[1].api_keys[1], &orgs[2].app_keys[0]], "source": "a paste"}}});
    let req = s
        .http
        .post(s.url("/api/v2/credentials/leaked"))
        .json(&report);
    assert_eq!(send(req).await.0, StatusCode::ACCEPTED);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(s.stop().await);

    let refused = migrate(&s.data_dir().join("nowhere"), &db.url);
    assert!(!refused.status.success());
    let out = migrate(&s.data_dir(), &db.url);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let master_key = s.data_dir().join("master.key");
    assert!(
        stdout.contains(&format!("--master-key-file {}", master_key.display())),
        "{stdout}"
    );
    assert!(stdout.contains("3 organization(s)"), "{stdout}");
    assert!(stdout.contains("6 client token(s)"), "{stdout}");
    assert!(stdout.contains("3 custom role(s)"), "{stdout}");
    assert!(stdout.contains("6 access token(s)"), "{stdout}");

    let sqlite_url = format!("sqlite://{}", s.data_dir().join("keyplane.db").display());
    let from = keyplane::store::connect(&sqlite_url).await.expect("sqlite");
    let to = keyplane::store::connect(&db.url).await.expect("postgres");
    let (before, after) = (snapshot(&*from).await, snapshot(&*to).await);
    assert!(before.len() > 40, "{}", before.len());
    let leaks = before.iter().filter(|r| r.starts_with("LeakedKey")).count();
    assert_eq!(leaks, 2, "{before:?}");
    assert_eq!(before, after, "every row arrives as it was");
    assert!(to.change_seq().await.expect("seq") > 0);
    let (chain_from, chain_to) = (
        from.audit_records(0, 10_000).await.expect("audit"),
        to.audit_records(0, 10_000).await.expect("audit"),
    );
    assert!(chain_from.len() > 10, "{}", chain_from.len());
    // The same records at the same positions; the target links them all by MAC (the source
    // too, here: it was created keyed), so the chains match record for record.
    let events = |chain: &[keyplane::domain::audit::AuditRecord]| {
        chain
            .iter()
            .map(|r| (r.seq, r.event.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(events(&chain_from), events(&chain_to));
    assert_eq!(format!("{chain_from:?}"), format!("{chain_to:?}"));
    let (head_from, head_to) = (
        from.audit_head().await.expect("head"),
        to.audit_head().await.expect("head"),
    );
    assert_eq!(head_from, head_to);
    assert!(
        head_to.and_then(|h| h.mac).is_some(),
        "the target's head is signed"
    );
    drop((from, to));
    let verify = Command::new(BIN)
        .args(["audit", "--data-dir"])
        .arg(s.data_dir())
        .args(["--database-url", &db.url, "verify"])
        .output()
        .expect("keyplane audit verify");
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );

    // A second run finds data and refuses, changing nothing.
    let again = migrate(&s.data_dir(), &db.url);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("refusing to migrate"), "{stderr}");
    assert!(
        stderr.contains("already holds 3 organization(s)"),
        "{stderr}"
    );

    // A node on PostgreSQL with the same master key accepts every key and shows the secrets.
    let node = Server::start_on_database(&db.url, &master_key, s.creds.clone(), &[]).await;
    for made in &orgs {
        for key in &made.api_keys {
            let req = node
                .http
                .get(node.url("/api/v1/validate"))
                .header("DD-API-KEY", key);
            assert_eq!(send(req).await.0, StatusCode::OK);
        }
        for token in &made.client_tokens {
            let req = node
                .http
                .get(node.url("/api/v1/validate_client_token"))
                .header("DD-CLIENT-TOKEN", token);
            assert_eq!(send(req).await.0, StatusCode::OK, "a client token");
        }
        for app in &made.app_keys {
            let req = node
                .http
                .get(node.url("/api/v2/validate_keys"))
                .header("DD-API-KEY", &made.api_key)
                .header("DD-APPLICATION-KEY", app);
            assert_eq!(send(req).await.0, StatusCode::OK, "an application key");
        }
        // A token alone, as Terraform's bearer_token mode sends it.
        for token in &made.access_tokens {
            let req = node
                .http
                .get(node.url("/api/v2/validate_keys"))
                .bearer_auth(token);
            assert_eq!(send(req).await.0, StatusCode::OK, "an access token");
        }
        let req = node
            .http
            .get(node.url("/api/v2/api_keys?page[size]=100"))
            .header("DD-API-KEY", &made.api_key)
            .header("DD-APPLICATION-KEY", &made.app_key);
        let (_, listed) = send(req).await;
        for item in listed["data"].as_array().expect("keys") {
            let id = item["id"].as_str().expect("id");
            let req = node
                .http
                .get(node.url(&format!("/api/v2/api_keys/{id}")))
                .header("DD-API-KEY", &made.api_key)
                .header("DD-APPLICATION-KEY", &made.app_key);
            let (status, got) = send(req).await;
            assert_eq!(status, StatusCode::OK);
            let secret = got["data"]["attributes"]["key"].as_str().expect("unsealed");
            assert!(made.api_keys.iter().any(|k| k == secret));
        }
    }
    let (_, users) = node.call(Method::GET, "/api/v2/users", None).await;
    assert_eq!(users["meta"]["page"]["total_count"], 4);
    drop(node);
    drop(db);
}

/// A trail that does not verify is not laundered into a fresh, valid chain on the target.
#[tokio::test]
async fn a_tampered_audit_trail_is_not_migrated() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let mut s = Server::start_sqlite_with(&[]).await;
    for i in 0..3 {
        s.create_api_key(&format!("k{i}")).await;
    }
    assert!(s.stop().await);
    let url = format!("sqlite://{}", s.data_dir().join("keyplane.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("open db");
    for statement in [
        "DROP TRIGGER audit_events_append_only_update",
        "UPDATE audit_events SET source = '10.9.9.9' WHERE seq = 2",
    ] {
        sqlx::query(statement)
            .execute(&pool)
            .await
            .expect(statement);
    }
    pool.close().await;
    let out = migrate(&s.data_dir(), &db.url);
    assert!(!out.status.success(), "migrated a tampered trail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("audit trail does not verify") && stderr.contains("record 2 was edited"),
        "{stderr}"
    );
    // Refused before anything was written: the target is still empty.
    let to = keyplane::store::connect(&db.url).await.expect("postgres");
    assert_eq!(to.org_count().await.expect("count"), 0);
    drop(to);
    drop(db);
}
