//! `keyplane secret-helper` driven exactly as the Datadog Agent drives its
//! `secret_backend_command`: JSON on stdin, JSON on stdout, against keyplane over HTTPS. A
//! rotated key reaches the helper through its previous secret; a revoked key gets nothing.

use crate::tls::{https_client, Ca, TlsServer};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_keyplane");

/// One run of the helper, as the Agent runs it: the request on stdin, the answer parsed.
fn helper(url: &str, state: &Path, ca: &Path, input: &str) -> (bool, Value, String) {
    let mut child = Command::new(BIN)
        .args(["secret-helper", "--url", url, "--state-dir"])
        .arg(state)
        .arg("--ca-file")
        .arg(ca)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the helper");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("helper output");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let parsed = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        parsed,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn request(handles: &[&str]) -> String {
    json!({"version": "1.0", "secrets": handles}).to_string()
}

fn write_key(path: &Path, key: &str, mode: u32) {
    std::fs::write(path, format!("{key}\n")).expect("write key");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[tokio::test]
async fn the_helper_follows_a_rotation_and_stops_at_a_revocation() {
    let ca = Ca::new();
    let server = TlsServer::start(&ca.leaf(7), &[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("ca");
    let state = dir.path().join("secrets");
    std::fs::create_dir(&state).expect("state dir");
    let client = https_client(&ca);
    let admin = |req: reqwest::RequestBuilder| {
        req.header("DD-API-KEY", &server.creds.api_key)
            .header("DD-APPLICATION-KEY", &server.creds.app_key)
    };
    let created: Value = admin(client.post(server.url("localhost", "/api/v2/api_keys")))
        .json(&json!({"data": {"type": "api_keys", "attributes": {"name": "agents"}}}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    let first = created["data"]["attributes"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let file = state.join("api_key");
    write_key(&file, &first, 0o600);
    let url = server.url("localhost", "");

    let (ok, answer, stderr) = helper(
        &url,
        &state,
        &ca_file,
        &request(&["api_key", "missing", "../etc"]),
    );
    assert!(ok, "{stderr}");
    assert_eq!(
        answer["api_key"],
        json!({"value": first, "error": null}),
        "{answer}"
    );
    assert!(answer["missing"]["value"].is_null());
    assert!(answer["missing"]["error"]
        .as_str()
        .expect("error")
        .contains("missing"));
    assert!(answer["../etc"]["error"]
        .as_str()
        .expect("error")
        .contains("not a file name"));

    // Rotated: the stored (now previous) secret fetches the new one, which is stored.
    let rotated: Value =
        admin(client.post(server.url("localhost", &format!("/api/v2/api_keys/{id}/rotate"))))
            .json(
                &json!({"data": {"type": "api_keys", "attributes": {"grace_period_seconds": 600}}}),
            )
            .send()
            .await
            .expect("rotate")
            .json()
            .await
            .expect("json");
    let second = rotated["data"]["attributes"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    assert_ne!(first, second);
    let (ok, answer, stderr) = helper(&url, &state, &ca_file, &request(&["api_key"]));
    assert!(ok, "{stderr}");
    assert_eq!(answer["api_key"]["value"], second.as_str(), "{answer}");
    assert_eq!(
        std::fs::read_to_string(&file).expect("stored").trim(),
        second
    );
    let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // The previous secret reads its key's current secret and nothing else.
    let own = client
        .get(server.url("localhost", "/api/v2/api_keys/self"))
        .header("DD-API-KEY", &first)
        .send()
        .await
        .expect("self");
    assert_eq!(own.status(), StatusCode::OK);
    let other = client
        .get(server.url("localhost", "/api/v2/api_keys"))
        .header("DD-API-KEY", &first)
        .send()
        .await
        .expect("list");
    assert_eq!(other.status(), StatusCode::FORBIDDEN);

    // A file others may read is refused, as the Agent refuses such a command.
    write_key(&file, &second, 0o644);
    let (ok, answer, _) = helper(&url, &state, &ca_file, &request(&["api_key"]));
    assert!(ok);
    assert!(
        answer["api_key"]["error"]
            .as_str()
            .expect("error")
            .contains("chmod 0600"),
        "{answer}"
    );
    write_key(&file, &second, 0o600);

    // Revoked: nothing to return, and the Agent hears why.
    let deleted = admin(client.delete(server.url("localhost", &format!("/api/v2/api_keys/{id}"))))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let (ok, answer, _) = helper(&url, &state, &ca_file, &request(&["api_key"]));
    assert!(ok);
    assert!(answer["api_key"]["value"].is_null(), "{answer}");
    assert!(
        answer["api_key"]["error"]
            .as_str()
            .expect("error")
            .contains("refused"),
        "{answer}"
    );

    // Not the Agent's protocol: a non-zero exit, as the Agent expects of a failed command.
    let (ok, _, stderr) = helper(&url, &state, &ca_file, "not json");
    assert!(!ok, "{stderr}");
    let (ok, _, _) = helper(
        &url,
        &state,
        &ca_file,
        &json!({"version": "2.0", "secrets": []}).to_string(),
    );
    assert!(!ok);
}
