//! Issue 14, item 2: new organizations start in One-Time Read mode, as Datadog's created
//! since August 2025; `--one-time-read false` starts them without it; existing
//! organizations keep their setting.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

const CU: &str = "/api/v2/current_user/application_keys";

async fn assert_one_time_read(s: &Server, api: &str, app: &str) {
    let call = |method: Method, path: &str| {
        s.http
            .request(method, s.url(path))
            .header("DD-API-KEY", api)
            .header("DD-APPLICATION-KEY", app)
    };
    let body = json!({"data": {"type": "application_keys", "attributes": {"name": "once"}}});
    let (status, created) = send(call(Method::POST, CU).json(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(
        created["data"]["attributes"]["key"].is_string(),
        "shown once: {created}"
    );
    let id = created["data"]["id"].as_str().expect("id");
    let (status, got) = send(call(Method::GET, &format!("{CU}/{id}"))).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert!(got["data"]["attributes"].get("key").is_none(), "{got}");
    let (status, v1) = send(call(Method::GET, "/api/v1/application_key")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v1}");
    let (status, v1) = send(call(Method::GET, &format!("/api/v1/application_key/{app}"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v1}");
}

#[tokio::test]
async fn a_fresh_servers_organization_is_in_one_time_read_mode() {
    let mut s = Server::start_full(&[], &[(ONE_TIME_READ_ENV, KEYPLANE_DEFAULT)]).await;
    // The first start's credentials still work, and are shown (they are created, not read).
    // Stdout is read by its own thread: wait for the line rather than race it.
    let stdout = s.stdout_with(&s.creds.app_key).await;
    assert!(stdout.contains(&s.creds.app_key), "{stdout}");
    let (status, keys) = s.call(Method::GET, "/api/v2/api_keys", None).await;
    assert_eq!(status, StatusCode::OK, "{keys}");
    let (api, app) = (s.creds.api_key.clone(), s.creds.app_key.clone());
    assert_one_time_read(&s, &api, &app).await;
    let orgs = s.admin(&["list-organizations"]);
    assert!(orgs.contains("(one-time read)"), "{orgs}");

    // An existing organization keeps its setting whatever the flag says at the next start.
    s.admin(&["set-one-time-read", "false"]);
    s.stop().await;
    s.restart().await;
    let (status, _) = s.call(Method::GET, "/api/v1/application_key", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_flag_starts_new_organizations_without_it() {
    let s = Server::start_with(&["--one-time-read", "false"]).await;
    let (status, _) = s.call(Method::GET, "/api/v1/application_key", None).await;
    assert_eq!(status, StatusCode::OK);
    let orgs = s.admin(&["list-organizations"]);
    assert!(!orgs.contains("(one-time read)"), "{orgs}");
}

#[tokio::test]
async fn create_organization_turns_it_on_unless_told_otherwise() {
    let s = Server::start().await;
    // Without the test helpers' environment: keyplane's own default.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyplane"))
        .args(["admin", "--data-dir"])
        .arg(s.data_dir())
        .args(
            s.db.as_ref()
                .map(|db| vec!["--database-url".to_owned(), db.url.clone()])
                .unwrap_or_default(),
        )
        .args([
            "create-organization",
            "--name",
            "New",
            "--admin-email",
            "n@x.io",
        ])
        .env_remove(ONE_TIME_READ_ENV)
        .output()
        .expect("create-organization");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("one-time read on"), "{stdout}");
    let (api, app) = (
        env_value(&stdout, "DD_API_KEY"),
        env_value(&stdout, "DD_APP_KEY"),
    );
    s.await_key_pair(&api, &app).await;
    assert_one_time_read(&s, &api, &app).await;

    let out = s.admin(&[
        "create-organization",
        "--name",
        "Legacy",
        "--admin-email",
        "l@x.io",
        "--one-time-read",
        "false",
    ]);
    assert!(out.contains("one-time read off"), "{out}");
    let (api, app) = (env_value(&out, "DD_API_KEY"), env_value(&out, "DD_APP_KEY"));
    s.await_key_pair(&api, &app).await;
    let req = s
        .http
        .get(s.url("/api/v1/application_key"))
        .header("DD-API-KEY", &api)
        .header("DD-APPLICATION-KEY", &app);
    assert_eq!(send(req).await.0, StatusCode::OK);
    // The first organization (started without it by the test helpers) kept its setting.
    let (status, _) = s.call(Method::GET, "/api/v1/application_key", None).await;
    assert_eq!(status, StatusCode::OK);
}
