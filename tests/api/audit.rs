//! The audit trail: what is recorded (actor, organization, time, source, key id, never a
//! secret), how it is listed and filtered, and `keyplane audit verify` catching edits.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;

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
    let s = Server::start_with(&["--auth-failure-burst", "2"]).await;
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

// ---- Review of 2026-12, finding 8: the chain is keyed and the head is signed. ----

/// `head: SEQ:HASH` as `keyplane audit verify` prints it.
fn head_anchor(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("head: "))
        .unwrap_or_else(|| panic!("no head in {stdout}"))
        .to_owned()
}

fn verify_fails_with(s: &Server, args: &[&str], expected: &str) {
    let mut all = vec!["audit", "verify"];
    all.extend_from_slice(args);
    let out = s.admin_command_output(&all);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "verify {args:?} passed: {stderr}"
    );
    assert!(stderr.contains(expected), "verify {args:?}: {stderr}");
}

async fn sqlite(s: &Server) -> sqlx::SqlitePool {
    let db = s.data_dir().join("keyplane.db");
    sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open db")
}

/// Copies the stopped server's database aside (self-contained, WAL folded in).
async fn save_db(s: &Server, name: &str) -> std::path::PathBuf {
    let path = s.data_dir().join(name);
    let pool = sqlite(s).await;
    sqlx::query(&format!("VACUUM INTO '{}'", path.display()))
        .execute(&pool)
        .await
        .expect("copy db");
    pool.close().await;
    path
}

fn restore_db(s: &Server, from: &std::path::Path) {
    for stale in ["keyplane.db", "keyplane.db-wal", "keyplane.db-shm"] {
        let _ = std::fs::remove_file(s.data_dir().join(stale));
    }
    std::fs::copy(from, s.data_dir().join("keyplane.db")).expect("restore");
}

async fn exec(pool: &sqlx::SqlitePool, statements: &[&str]) {
    for statement in statements {
        sqlx::query(statement)
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

const DROP_TRIGGERS: [&str; 2] = [
    "DROP TRIGGER audit_events_append_only_update",
    "DROP TRIGGER audit_events_append_only_delete",
];

/// The review's `rechain.py`: recompute every link from `from_seq` on with plain SHA-256
/// over the length-prefixed fields (keyplane's own unkeyed rule, no secret needed), after
/// `edit` changed the records; optionally copy the new last link into the head.
async fn rechain_unkeyed(pool: &sqlx::SqlitePool, from_seq: i64, rewrite_head: bool) {
    use keyplane::domain::audit::{chain_hash, Action, AuditEvent};
    use sqlx::Row;
    let rows = sqlx::query("SELECT * FROM audit_events ORDER BY seq")
        .fetch_all(pool)
        .await
        .expect("records");
    let uuid = |row: &sqlx::sqlite::SqliteRow, col: &str| {
        row.get::<Option<String>, _>(col)
            .map(|t| uuid::Uuid::parse_str(&t).expect("uuid"))
    };
    let mut prev = [0u8; 32];
    for row in &rows {
        let seq: i64 = row.get("seq");
        if seq < from_seq {
            prev = row.get::<Vec<u8>, _>("hash").try_into().expect("32 bytes");
            continue;
        }
        let event = AuditEvent {
            at: row.get("at"),
            org_id: uuid(row, "org_id"),
            actor_id: uuid(row, "actor_id"),
            action: Action::parse(row.get("action")).expect("action"),
            target_id: uuid(row, "target_id"),
            source: row.get("source"),
            via: None,
            credential_id: None,
        };
        let hash = chain_hash(&prev, seq, &event);
        sqlx::query("UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?")
            .bind(prev.as_slice())
            .bind(hash.as_slice())
            .bind(seq)
            .execute(pool)
            .await
            .expect("rechain");
        prev = hash;
    }
    if rewrite_head {
        sqlx::query("UPDATE audit_head SET hash = ?")
            .bind(prev.as_slice())
            .execute(pool)
            .await
            .expect("head");
    }
}

#[tokio::test]
async fn verify_catches_rechained_records_and_a_cut_tail_with_a_rewritten_head() {
    let mut s = Server::start_sqlite_with(&["--max-api-keys-per-org", "20"]).await;
    for i in 0..3 {
        s.create_api_key(&format!("k{i}")).await;
    }
    s.stop().await;
    let early = save_db(&s, "early.db").await;
    s.restart().await;
    for i in 3..5 {
        s.create_api_key(&format!("k{i}")).await;
    }
    s.stop().await;
    let out = verify(&s);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("intact: 5 records"), "{stdout}");
    let anchor = head_anchor(&out);
    assert!(anchor.starts_with("5:"), "{anchor}");
    let pristine = save_db(&s, "pristine.db").await;

    // 1. The review's re-chainer: edit record 3, re-chain 3..5 with plain SHA-256 and copy
    // the new last hash into the head. Needs no secret; the old verify said "intact".
    let pool = sqlite(&s).await;
    exec(&pool, &DROP_TRIGGERS).await;
    exec(
        &pool,
        &["UPDATE audit_events SET actor_id = NULL, source = 'cli' WHERE seq = 3"],
    )
    .await;
    rechain_unkeyed(&pool, 3, true).await;
    pool.close().await;
    verify_fails_with(&s, &[], "the head's MAC does not verify");
    // The same, leaving the head alone: the first re-chained record is named.
    restore_db(&s, &pristine);
    let pool = sqlite(&s).await;
    exec(&pool, &DROP_TRIGGERS).await;
    exec(
        &pool,
        &["UPDATE audit_events SET source = 'cli' WHERE seq = 3"],
    )
    .await;
    rechain_unkeyed(&pool, 3, false).await;
    pool.close().await;
    verify_fails_with(&s, &[], "record 3 was edited");

    // 2. The review's cut: delete the tail and copy the new last record's seq and hash
    // into the head (no hashing needed). The old verify said "intact: 2 records".
    restore_db(&s, &pristine);
    let pool = sqlite(&s).await;
    exec(&pool, &DROP_TRIGGERS).await;
    exec(
        &pool,
        &[
            "DELETE FROM audit_events WHERE seq > 2",
            "UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit_events WHERE seq = 2)",
        ],
    )
    .await;
    pool.close().await;
    verify_fails_with(&s, &[], "the head's MAC does not verify");
    // keyplane does not sign onto the forged head: the write stands, its record is refused,
    // and the cut stays visible.
    s.restart().await;
    s.create_api_key("after the cut").await;
    s.stop().await;
    assert!(s.logs().contains("audit append failed"), "{}", s.logs());
    verify_fails_with(&s, &[], "the head's MAC does not verify");

    // 3. Pretending the trail predates the keyed chain (every link unkeyed, the boundary
    // moved past the end, the head's MAC removed): keyplane takes that for an upgrade and
    // keys the chain from there on; only a head kept elsewhere shows the rewrite.
    restore_db(&s, &pristine);
    let pool = sqlite(&s).await;
    exec(&pool, &DROP_TRIGGERS).await;
    exec(
        &pool,
        &[
            "UPDATE audit_events SET via = NULL, credential_id = NULL",
            "UPDATE audit_events SET source = 'x' WHERE seq = 4",
        ],
    )
    .await;
    rechain_unkeyed(&pool, 1, true).await;
    exec(
        &pool,
        &["UPDATE audit_head SET keyed_from = seq + 1, mac = NULL"],
    )
    .await;
    pool.close().await;
    verify_fails_with(
        &s,
        &["--expect", &anchor],
        "record 5 is not the expected one",
    );

    // 4. A rollback to an older, genuine trail and head passes on its own; the kept head
    // catches it.
    restore_db(&s, &early);
    let out = verify(&s);
    assert!(out.status.success(), "{out:?}");
    verify_fails_with(
        &s,
        &["--expect", &anchor],
        "record 5 is not the expected one",
    );

    // The untouched trail passes with its anchor; a malformed anchor is refused.
    restore_db(&s, &pristine);
    let out = s.admin_command_output(&["audit", "verify", "--expect", &anchor]);
    assert!(out.status.success(), "{out:?}");
    verify_fails_with(&s, &["--expect", "5:zz"], "--expect must be SEQ:HASH");

    // Another master key cannot verify (or extend) the chain.
    let other = s.data_dir().join("other.key");
    std::fs::write(&other, format!("{}\n", "ab".repeat(32))).expect("key");
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyplane"))
        .args(["audit", "--data-dir"])
        .arg(s.data_dir())
        .arg("--master-key-file")
        .arg(&other)
        .arg("verify")
        .output()
        .expect("verify");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("MAC does not verify"));
}

#[tokio::test]
async fn records_written_before_the_keyed_chain_keep_verifying_after_the_upgrade() {
    let mut s = Server::start_sqlite_with(&[]).await;
    for i in 0..3 {
        s.create_api_key(&format!("k{i}")).await;
    }
    s.stop().await;
    // Turn the database back into one from before migration 0005: unkeyed SHA-256 links,
    // no credential columns, no head MAC, and 0005 not applied yet.
    let pool = sqlite(&s).await;
    exec(&pool, &DROP_TRIGGERS).await;
    rechain_unkeyed(&pool, 1, true).await;
    exec(
        &pool,
        &[
            "ALTER TABLE audit_events DROP COLUMN via",
            "ALTER TABLE audit_events DROP COLUMN credential_id",
            "ALTER TABLE audit_head DROP COLUMN keyed_from",
            "ALTER TABLE audit_head DROP COLUMN mac",
            "DELETE FROM _sqlx_migrations WHERE version = 5",
            "CREATE TRIGGER audit_events_append_only_update BEFORE UPDATE ON audit_events BEGIN \
             SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
            "CREATE TRIGGER audit_events_append_only_delete BEFORE DELETE ON audit_events BEGIN \
             SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
        ],
    )
    .await;
    pool.close().await;
    let pre_upgrade = save_db(&s, "pre-upgrade.db").await;

    // The first start after the upgrade keys the chain from record 4 on.
    s.restart().await;
    s.create_api_key("keyed").await;
    s.stop().await;
    assert!(
        s.logs().contains("keying the chain from record 4"),
        "{}",
        s.logs()
    );
    let out = verify(&s);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("intact: 5 records"), "{stdout}");
    assert!(
        stdout.contains("records 1..3 predate the keyed chain"),
        "{stdout}"
    );
    s.restart().await;
    let all = events(&s, "").await;
    assert_eq!(actions(&all)[0], "api_key.create");
    assert_eq!(all[0]["attributes"]["via"], "key");
    assert!(all[3]["attributes"]["via"].is_null(), "{}", all[3]);
    s.stop().await;
    // The marker has no organization; `keyplane audit bursts` lists it.
    let out = s.admin_command_output(&["audit", "bursts"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("audit.chain_keyed"));

    // The old part is still checked under its rule: an edit there is found...
    let pristine = save_db(&s, "pristine.db").await;
    let pool = sqlite(&s).await;
    exec(&pool, &DROP_TRIGGERS).await;
    exec(
        &pool,
        &["UPDATE audit_events SET source = '10.0.0.9' WHERE seq = 2"],
    )
    .await;
    pool.close().await;
    verify_fails_with(&s, &[], "record 2 was edited");
    // ...and so is moving the boundary (to pass keyed records off as unkeyed ones).
    restore_db(&s, &pristine);
    let pool = sqlite(&s).await;
    exec(&pool, &["UPDATE audit_head SET keyed_from = 6"]).await;
    pool.close().await;
    verify_fails_with(&s, &[], "the head's MAC does not verify");

    // `keyplane audit verify` may be the first command after the upgrade: it keys the chain.
    restore_db(&s, &pre_upgrade);
    let out = verify(&s);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact: 4 records"));
}

// ---- Review of 2026-12, finding 10: which credential acted; operator commands. ----

#[tokio::test]
async fn records_name_the_application_key_or_session_that_acted_and_operator_commands() {
    let s = Server::start().await;
    let body = json!({"data": {"type": "application_keys", "attributes": {"name": "acting"}}});
    let (status, made) = s
        .call(
            Method::POST,
            "/api/v2/current_user/application_keys",
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let app_id = made["data"]["id"].as_str().expect("id").to_owned();
    let app_key = made["data"]["attributes"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let token = json!({"data": {"type": "client_tokens", "attributes": {"name": "by key"}}});
    let req = s
        .http
        .post(s.url("/api/v2/client_tokens"))
        .header("DD-API-KEY", &s.creds.api_key)
        .header("DD-APPLICATION-KEY", &app_key)
        .json(&token);
    assert_eq!(send(req).await.0, StatusCode::CREATED);
    let console = s.sign_in().await;
    let token = json!({"data": {"type": "client_tokens", "attributes": {"name": "by console"}}});
    let req = s
        .console_req(&console, Method::POST, "/api/v2/client_tokens")
        .json(&token);
    assert_eq!(send(req).await.0, StatusCode::CREATED);
    s.admin(&["create-api-key", "--name", "by cli"]);
    s.admin(&["set-one-time-read", "true"]);

    let all = events(&s, "").await;
    let attrs: Vec<&Value> = all.iter().map(|e| &e["attributes"]).collect();
    assert_eq!(
        actions(&all),
        [
            "org.one_time_read.enable",
            "api_key.create",
            "client_token.create",
            "session.sign_in",
            "client_token.create",
            "application_key.create",
        ]
    );
    for cli in &attrs[..2] {
        assert_eq!(cli["via"], "cli", "{cli}");
        assert!(cli["app_key_id"].is_null() && cli["session_id"].is_null());
    }
    let (by_console, sign_in) = (attrs[2], attrs[3]);
    assert_eq!(by_console["via"], "session");
    assert!(by_console["app_key_id"].is_null());
    let session = by_console["session_id"].as_str().expect("session id");
    assert_eq!(sign_in["session_id"], session, "one session, one id");
    // The id names the session without being (or containing) its token.
    let cookie_token = console.cookie.split_once('=').expect("cookie").1;
    assert!(!Value::Array(all.clone()).to_string().contains(cookie_token));
    assert_eq!(attrs[4]["via"], "key");
    assert_eq!(
        attrs[4]["app_key_id"],
        app_id.as_str(),
        "the scoped-in key, not the owner only"
    );
    assert_eq!(attrs[5]["via"], "key");
    assert!(attrs[5]["app_key_id"].is_string());
    assert_ne!(attrs[5]["app_key_id"], app_id.as_str());

    // create-organization is recorded in the new organization.
    let out = s.admin(&[
        "create-organization",
        "--name",
        "Other",
        "--admin-email",
        "b@x.io",
    ]);
    let (api, app) = (env_value(&out, "DD_API_KEY"), env_value(&out, "DD_APP_KEY"));
    s.await_key_pair(&api, &app).await;
    let req = s
        .http
        .get(s.url("/api/v2/audit/events"))
        .header("DD-API-KEY", &api)
        .header("DD-APPLICATION-KEY", &app);
    let (status, other) = send(req).await;
    assert_eq!(status, StatusCode::OK, "{other}");
    let other = other["data"].as_array().expect("data").clone();
    assert_eq!(actions(&other), ["org.create"]);
    assert_eq!(other[0]["attributes"]["via"], "cli");
}

#[tokio::test]
async fn bursts_of_unknown_keys_are_listed_by_the_audit_cli() {
    let s = Server::start_with(&["--auth-failure-burst", "2"]).await;
    for _ in 0..3 {
        let req = s
            .http
            .get(s.url("/api/v1/validate"))
            .header("DD-API-KEY", "0123456789abcdef0123456789abcdef");
        assert_eq!(send(req).await.0, StatusCode::FORBIDDEN);
    }
    let out = s.admin_command_output(&["audit", "bursts"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("auth.failure_burst"))
        .unwrap_or_else(|| panic!("no burst in {stdout}"));
    assert!(line.ends_with("127.0.0.1"), "{line}");
}

#[tokio::test]
async fn re_enabling_a_user_is_recorded_as_user_enable() {
    let s = Server::start().await;
    let user = json!({"data": {"type": "users", "attributes": {"email": "back@example.com"}}});
    let (_, user) = s.call(Method::POST, "/api/v2/users", Some(user)).await;
    let id = user["data"]["id"].as_str().expect("user id").to_owned();
    let (status, _) = s
        .call(Method::DELETE, &format!("/api/v2/users/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let enable = json!({"data": {"type": "users", "id": id, "attributes": {"disabled": false}}});
    let (status, body) = s
        .call(Method::PATCH, &format!("/api/v2/users/{id}"), Some(enable))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        actions(&events(&s, "").await),
        ["user.enable", "user.disable", "user.create"]
    );
}
