//! Review of 2026-12, findings 14–16: offline key minting names and asks for its
//! organization; data files are the owner's alone; /metrics on its own listener or behind a
//! token.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use std::os::unix::fs::PermissionsExt;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

// ---- 14: --email recovery and --org ----

#[tokio::test]
async fn recovery_keys_refuse_an_email_of_several_orgs_without_org_and_name_the_org() {
    let s = Server::start().await;
    let email = s.creds.email.clone();
    // The review's plant: another organization holds an admin with the same email.
    let out = s.admin(&[
        "create-organization",
        "--name",
        "Planted",
        "--admin-email",
        &email,
    ]);
    let planted_id = out
        .lines()
        .find_map(|l| l.split_once('(').and_then(|(_, r)| r.split_once(')')))
        .map(|(id, _)| id.to_owned())
        .expect("org id in output");
    let orgs = s.admin(&["list-organizations"]);
    let first_id = orgs
        .lines()
        .find(|l| l.contains("keyplane"))
        .and_then(|l| l.split('\t').next())
        .expect("first org")
        .to_owned();

    for command in ["create-api-key", "create-application-key"] {
        let out = s.admin_output(&[command, "--email", &email, "--name", "recovery"]);
        assert!(!out.status.success(), "{command} picked an org");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("several organizations"), "{stderr}");
        assert!(stderr.contains("--org"), "{stderr}");
        assert!(
            stderr.contains(&planted_id) && stderr.contains(&first_id),
            "{stderr}"
        );
    }

    let out = s.admin(&[
        "create-api-key",
        "--email",
        &email,
        "--org",
        &first_id,
        "--name",
        "recovery",
    ]);
    assert!(
        out.contains(&format!("in organization {first_id} (keyplane)")),
        "{out}"
    );
    let api = env_value(&out, "DD_API_KEY");
    let out = s.admin(&[
        "create-application-key",
        "--email",
        &email,
        "--org",
        &first_id,
        "--name",
        "recovery",
    ]);
    assert!(
        out.contains(&format!("in organization {first_id} (keyplane)")),
        "{out}"
    );
    let app = env_value(&out, "DD_APP_KEY");
    // The pair works together, so both landed in the organization asked for.
    s.await_key_pair(&api, &app).await;
    let out = s.admin_output(&[
        "create-api-key",
        "--org",
        "00000000-0000-0000-0000-000000000000",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no organization"));
}

// ---- 15: file modes ----

#[tokio::test]
async fn data_files_are_the_owners_alone_and_a_shared_master_key_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    // An operator's pre-created, world-readable data dir.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut s = Server::start_in(dir, &[]).await;
    let data = s.data_dir();
    assert_eq!(mode(&data), 0o700, "data dir tightened");
    for name in [
        "keyplane.db",
        "keyplane.db-wal",
        "keyplane.db-shm",
        "initial-credentials",
        "master.key",
    ] {
        assert_eq!(mode(&data.join(name)), 0o600, "{name}");
    }
    // A database left 0644 by an older version is tightened at the next start.
    s.stop().await;
    std::fs::set_permissions(
        data.join("keyplane.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    s.restart().await;
    assert_eq!(mode(&data.join("keyplane.db")), 0o600);
    s.stop().await;

    // A group- or world-readable master key file is refused at start, naming the fix.
    let key = data.join("master.key");
    for shared in [0o640, 0o604] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(shared)).expect("chmod");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyplane"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .arg("--master-key-file")
            .arg(&key)
            .output()
            .expect("serve");
        assert!(!out.status.success(), "{shared:o}: started");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("readable by its group or others") && stderr.contains("chmod 600"),
            "{stderr}"
        );
    }
}

// ---- 16: /metrics ----

/// The address `--metrics-listen` chose, from the log.
async fn metrics_addr(s: &Server) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if let Some(addr) = s.logs().lines().find_map(|l| {
            l.split_once("metrics listening on http://")
                .and_then(|(_, r)| r.split_once("/metrics"))
                .map(|(addr, _)| addr.to_owned())
        }) {
            return addr;
        }
        assert!(std::time::Instant::now() < deadline, "{}", s.logs());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn metrics_stay_public_on_the_main_listener_by_default() {
    let s = Server::start().await;
    let resp = s.http.get(s.url("/metrics")).send().await.expect("metrics");
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn metrics_move_to_their_own_listener() {
    let s = Server::start_with(&["--metrics-listen", "127.0.0.1:0"]).await;
    let (status, body) = send(s.http.get(s.url("/metrics"))).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, errors("Not found")));
    let addr = metrics_addr(&s).await;
    let resp = s
        .http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.expect("text");
    assert!(text.contains("keyplane_"), "{text}");
    // The metrics listener serves nothing else.
    let resp = s
        .http
        .get(format!("http://{addr}/api/v2/api_keys"))
        .send()
        .await
        .expect("api");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // The API is unaffected.
    assert_eq!(
        s.call(Method::GET, "/api/v2/api_keys", None).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn metrics_behind_a_bearer_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("metrics-token");
    let token = "0123456789abcdef-metrics";
    std::fs::write(&token_file, format!("{token}\n")).expect("token");
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let path = token_file.to_str().expect("path");
    let s = Server::start_with(&["--metrics-token-file", path]).await;
    for wrong in [None, Some("Bearer nope"), Some("0123456789abcdef-metrics")] {
        let mut req = s.http.get(s.url("/metrics"));
        if let Some(value) = wrong {
            req = req.header("authorization", value);
        }
        let resp = req.send().await.expect("metrics");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{wrong:?}");
    }
    let resp = s
        .http
        .get(s.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .expect("metrics");
    assert_eq!(resp.status(), StatusCode::OK);
    // A token others can read is refused at start.
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyplane"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(s.data_dir())
        .args(["--metrics-token-file", path])
        .output()
        .expect("serve");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
}
