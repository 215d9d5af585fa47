//! The audit trail: what is recorded (actor, organization, time, source, key id, never a
//! secret), how it is listed and filtered, and `keyplane audit verify` catching edits.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn events(s: &Server, query: &str) -> Vec<Value> {
    let (status, body) = s
        .call(Method::GET, &format!("/api/v2/audit/events{query}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_array().expect("data").clone()
}

fn actions(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            e["attributes"]["action"]
                .as_str()
                .expect("action")
                .to_owned()
        })
        .collect()
}

fn verify(s: &Server) -> std::process::Output {
    s.admin_command_output(&["audit", "verify"])
}

#[tokio::test]
async fn key_lifecycles_sign_ins_and_user_changes_are_recorded_without_secrets() {
    let s = Server::start().await;
    let (id, key) = s.create_api_key("audited").await;
    let rename =
        json!({"data": {"id": id, "type": "api_keys", "attributes": {"name": "audited-2"}}});
    s.call(
        Method::PATCH,
        &format!("/api/v2/api_keys/{id}"),
        Some(rename),
    )
    .await;
    let (status, _) = s
        .call(Method::DELETE, &format!("/api/v2/api_keys/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let token = json!({"data": {"type": "client_tokens", "attributes": {"name": "rum"}}});
    let (_, token) = s
        .call(Method::POST, "/api/v2/client_tokens", Some(token))
        .await;
    let user = json!({"data": {"type": "users", "attributes": {"email": "gone@example.com"}}});
    let (_, user) = s.call(Method::POST, "/api/v2/users", Some(user)).await;
    let user_id = user["data"]["id"].as_str().expect("user id").to_owned();
    s.call(Method::DELETE, &format!("/api/v2/users/{user_id}"), None)
        .await;
    let console = s.sign_in().await;
    let admin_id = console.body["user"]["id"]
        .as_str()
        .expect("admin id")
        .to_owned();

    let all = events(&s, "").await;
    assert_eq!(
        actions(&all),
        [
            "session.sign_in",
            "user.disable",
            "user.create",
            "client_token.create",
            "api_key.revoke",
            "api_key.update",
            "api_key.create",
        ]
    );
    for event in &all {
        let a = &event["attributes"];
        assert_eq!(a["actor_id"], admin_id.as_str(), "{event}");
        assert_eq!(a["source"], "127.0.0.1", "{event}");
        assert!(a["timestamp"].is_string());
        assert_eq!(a["hash"].as_str().map(str::len), Some(64));
    }
    assert_eq!(all[4]["attributes"]["target_id"], id.as_str());
    assert_eq!(all[1]["attributes"]["target_id"], user_id.as_str());
    // Each record chains to the one before it.
    for pair in all.windows(2) {
        assert_eq!(
            pair[0]["attributes"]["prev_hash"],
            pair[1]["attributes"]["hash"]
        );
    }
    let text = Value::Array(all.clone()).to_string();
    let token_value = token["data"]["attributes"]["key"].as_str().expect("token");
    for secret in [
        key.as_str(),
        token_value,
        &s.creds.api_key,
        &s.creds.app_key,
        &s.creds.password,
    ] {
        assert!(!text.contains(secret), "a secret reached the audit trail");
    }
}

#[tokio::test]
async fn the_trail_filters_by_key_actor_action_and_time() {
    let s = Server::start().await;
    let (first, _) = s.create_api_key("one").await;
    let (second, _) = s.create_api_key("two").await;
    s.call(Method::DELETE, &format!("/api/v2/api_keys/{first}"), None)
        .await;
    let by_key = events(&s, &format!("?filter[key]={first}")).await;
    assert_eq!(actions(&by_key), ["api_key.revoke", "api_key.create"]);
    let created = events(&s, "?filter[action]=api_key.create").await;
    assert_eq!(created.len(), 2);
    assert_eq!(created[0]["attributes"]["target_id"], second.as_str());
    let actor = created[0]["attributes"]["actor_id"]
        .as_str()
        .expect("actor")
        .to_owned();
    assert_eq!(
        events(&s, &format!("?filter[actor]={actor}")).await.len(),
        3
    );
    assert_eq!(
        events(&s, &format!("?filter[actor]={}", uuid::Uuid::new_v4()))
            .await
            .len(),
        0
    );
    let later = "2999-01-01T00:00:00Z";
    assert_eq!(events(&s, &format!("?filter[from]={later}")).await.len(), 0);
    assert_eq!(events(&s, &format!("?filter[to]={later}")).await.len(), 3);
    let (_, page) = s
        .call(
            Method::GET,
            "/api/v2/audit/events?page[size]=1&page[number]=1",
            None,
        )
        .await;
    assert_eq!(page["meta"]["page"]["total_filtered_count"], 3);
    assert_eq!(
        actions(page["data"].as_array().expect("data")),
        ["api_key.create"]
    );
    for bad in [
        "filter[action]=api_key.explode",
        "filter[from]=yesterday",
        "filter[key]=nope",
    ] {
        let (status, body) = s
            .call(Method::GET, &format!("/api/v2/audit/events?{bad}"), None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}

#[tokio::test]
async fn bursts_of_unknown_keys_and_operator_actions_are_recorded() {
    let s = Server::start_with(&["--auth-failures-before-delay", "2"]).await;
    for _ in 0..3 {
        let req = s
            .http
            .get(s.url("/api/v1/validate"))
            .header("DD-API-KEY", "0123456789abcdef0123456789abcdef");
        assert_eq!(send(req).await.0, StatusCode::FORBIDDEN);
    }
    let out = s.admin(&["create-api-key", "--name", "from the cli"]);
    let key = env_value(&out, "DD_API_KEY");
    // Bursts belong to no organization, so the API (scoped to one) does not list them;
    // the chain holds them, and verify walks every record.
    let cli = events(&s, "").await;
    assert_eq!(actions(&cli), ["api_key.create"]);
    assert_eq!(cli[0]["attributes"]["source"], "cli");
    assert!(cli[0]["attributes"]["actor_id"].is_null());
    assert!(!Value::Array(cli).to_string().contains(&key));
    let out = verify(&s);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("intact: 2 records"), "{stdout}");
}

#[tokio::test]
async fn verify_detects_edited_removed_and_cut_records() {
    let mut s = Server::start().await;
    for i in 0..4 {
        s.create_api_key(&format!("k{i}")).await;
    }
    s.stop().await;
    let out = verify(&s);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact: 4 records"));

    let db = s.data_dir().join("keyplane.db");
    // A self-contained copy: the stopped server's last commits (even the schema) may still be
    // in its WAL rather than in the main file.
    let copy = |name: &str| {
        let path = s.data_dir().join(name);
        let db = db.clone();
        async move {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
                .await
                .expect("open db");
            sqlx::query(&format!("VACUUM INTO '{}'", path.display()))
                .execute(&pool)
                .await
                .expect("copy db");
            pool.close().await;
            path
        }
    };
    // The copy replaces the main file; a WAL left beside it would be replayed onto it.
    let restore = |from: &std::path::Path| {
        for stale in ["keyplane.db-wal", "keyplane.db-shm"] {
            let _ = std::fs::remove_file(s.data_dir().join(stale));
        }
        std::fs::copy(from, &db).expect("restore");
    };
    // Someone with the database file edits it directly (past keyplane's append-only triggers).
    let tamper = |path: std::path::PathBuf, sql: &'static str| async move {
        let url = format!("sqlite://{}", path.display());
        let pool = sqlx::SqlitePool::connect(&url).await.expect("open db");
        for statement in [
            "DROP TRIGGER audit_events_append_only_update",
            "DROP TRIGGER audit_events_append_only_delete",
            sql,
        ] {
            sqlx::query(statement)
                .execute(&pool)
                .await
                .expect(statement);
        }
        pool.close().await;
    };
    let pristine = copy("pristine.db").await;
    for (sql, expected) in [
        (
            "UPDATE audit_events SET source = '10.9.9.9' WHERE seq = 2",
            "record 2 was edited",
        ),
        (
            "DELETE FROM audit_events WHERE seq = 2",
            "record 3 does not follow",
        ),
        ("DELETE FROM audit_events WHERE seq = 4", "records were cut"),
    ] {
        restore(&pristine);
        tamper(db.clone(), sql).await;
        let out = verify(&s);
        assert!(!out.status.success(), "{sql}: verify passed");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{sql}: {stderr}");
    }
    // keyplane itself cannot rewrite history.
    restore(&pristine);
    let url = format!("sqlite://{}", db.display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("open db");
    let refused = sqlx::query("UPDATE audit_events SET source = 'x' WHERE seq = 1")
        .execute(&pool)
        .await;
    assert!(refused.is_err(), "the trail accepted an update");
}
