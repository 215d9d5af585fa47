//! `keyplane serve` and `keyplane admin`: flags, first start, restarts, signals, crashes.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn keyplane(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_keyplane"))
        .args(args)
        .env_remove("KEYPLANE_DATA_DIR")
        .output()
        .expect("run keyplane")
}

#[test]
fn help_explains_every_flag_and_its_variable() {
    let out = keyplane(&["serve", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "--listen",
        "KEYPLANE_LISTEN",
        "127.0.0.1:8080",
        "--data-dir",
        "KEYPLANE_DATA_DIR",
        "./keyplane-data",
        "--database-url",
        "KEYPLANE_DATABASE_URL",
        "--max-api-keys-per-org",
        "KEYPLANE_MAX_API_KEYS_PER_ORG",
        "default: 5",
        "--master-key-file",
        "KEYPLANE_MASTER_KEY_FILE",
    ] {
        assert!(help.contains(expected), "--help lacks {expected}:\n{help}");
    }
}

#[tokio::test]
async fn first_start_shows_the_credentials_once() {
    let mut s = Server::start().await;
    let path = s.data_dir().join("initial-credentials");
    let mode = std::fs::metadata(&path)
        .expect("credentials")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(&path).expect("read");
    let names: Vec<&str> = text.lines().filter_map(|l| l.split('=').next()).collect();
    assert_eq!(
        names,
        [
            "DD_API_KEY",
            "DD_APP_KEY",
            "KEYPLANE_ADMIN_EMAIL",
            "KEYPLANE_ADMIN_PASSWORD"
        ]
    );
    assert_eq!(s.creds.api_key.len(), 32);
    assert_eq!(s.creds.app_key.len(), 40);

    // The banner has a curl example that works as printed.
    let curl = format!("curl -s {}/api/v2/api_keys", s.base);
    let last_line = format!("-H \"DD-APPLICATION-KEY: {}\"", s.creds.app_key);
    let banner = s.stdout_with(&last_line).await;
    assert!(banner.contains(&curl), "{banner}");
    assert!(banner.contains(&format!("-H \"DD-API-KEY: {}\"", s.creds.api_key)));
    assert!(banner.contains(&last_line));
    let (status, body) = s.call(Method::GET, "/api/v2/api_keys", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"][0]["attributes"]["last4"],
        s.creds.api_key[28..]
    );

    // A later start changes nothing and shows no secret.
    let stdout_before = s.stdout().len();
    s.restart().await;
    assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
    let (status, body) = s.call(Method::GET, "/api/v2/api_keys", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["meta"]["page"]["total_filtered_count"], 1);
    let later = &s.stdout()[stdout_before..];
    for secret in [&s.creds.api_key, &s.creds.app_key, &s.creds.password] {
        assert!(
            !later.contains(secret.as_str()),
            "a restart printed a secret"
        );
    }
}

#[tokio::test]
async fn sigterm_stops_cleanly() {
    let mut s = Server::start().await;
    assert!(
        s.stop().await,
        "keyplane did not exit 0 on SIGTERM:\n{}",
        s.logs()
    );
    assert!(s.logs().contains("keyplane stopped"));
}

#[tokio::test]
async fn acknowledged_writes_survive_a_crash() {
    let mut s = Server::start().await;
    let (kept_id, kept_key) = s.create_api_key("kept").await;
    let (gone_id, gone_key) = s.create_api_key("gone").await;
    let (status, _) = s
        .call(Method::DELETE, &format!("/api/v2/api_keys/{gone_id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    s.crash();
    s.restart().await;
    let (status, body) = s
        .call(Method::GET, &format!("/api/v2/api_keys/{kept_id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["attributes"]["key"], kept_key);
    let (status, _) = s
        .call(Method::GET, &format!("/api/v2/api_keys/{gone_id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let validate = |key: &str| {
        s.http
            .get(s.url("/api/v1/validate"))
            .header("DD-API-KEY", key.to_owned())
    };
    assert_eq!(send(validate(&kept_key)).await.0, StatusCode::OK);
    assert_eq!(send(validate(&gone_key)).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn admin_mints_keys_offline_for_an_operator_who_lost_them() {
    let mut s = Server::start().await;
    s.stop().await;
    let dir = s.data_dir();
    let dir = dir.to_str().expect("utf-8 path");
    let minted = |out: std::process::Output, name: &str| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        env_value(&String::from_utf8_lossy(&out.stdout), name)
    };
    let app = minted(
        keyplane(&["admin", "--data-dir", dir, "create-application-key"]),
        "DD_APP_KEY",
    );
    let api = minted(
        keyplane(&[
            "admin",
            "--data-dir",
            dir,
            "create-api-key",
            "--email",
            &s.creds.email,
        ]),
        "DD_API_KEY",
    );
    assert_eq!((app.len(), api.len()), (40, 32));
    let unknown = keyplane(&[
        "admin",
        "--data-dir",
        dir,
        "create-application-key",
        "--email",
        "nobody@x.y",
    ]);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no enabled user with email nobody@x.y")
    );

    s.restart().await;
    let req = s
        .http
        .get(s.url("/api/v2/api_keys"))
        .header("DD-API-KEY", &api)
        .header("DD-APPLICATION-KEY", &app);
    let (status, body) = send(req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["meta"]["page"]["total_filtered_count"], 2);
}

#[tokio::test]
async fn settings_come_from_the_environment_too() {
    let s = Server::start_full(&[], &[("KEYPLANE_MAX_API_KEYS_PER_ORG", "3")]).await;
    let (_, body) = s.call(Method::GET, "/api/v2/api_keys", None).await;
    assert_eq!(body["meta"]["max_allowed"], 3);
}

#[tokio::test]
async fn a_given_master_key_file_is_used_and_must_exist() {
    let keys = tempfile::tempdir().expect("tempdir");
    let file = keys.path().join("shared.key");
    let missing = keyplane(&[
        "serve",
        "--data-dir",
        keys.path().to_str().expect("p"),
        "--master-key-file",
        file.to_str().expect("p"),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));

    std::fs::write(&file, format!("{}\n", "ab".repeat(32))).expect("write key");
    // Only its owner may read it (finding 15 of the 2026-12 review).
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let s = Server::start_with(&["--master-key-file", file.to_str().expect("p")]).await;
    assert!(!s.data_dir().join("master.key").exists());
    let (id, key) = s.create_api_key("sealed-with-shared").await;
    let (_, body) = s
        .call(Method::GET, &format!("/api/v2/api_keys/{id}"), None)
        .await;
    assert_eq!(body["data"]["attributes"]["key"], key);
}
