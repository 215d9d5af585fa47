//! `keyplane import`: keys of every kind come along from a second keyplane through its API,
//! and from JSON and CSV files, with their values kept: a server started on the imported
//! installation accepts every one of them. Reruns add nothing; dry runs write nothing; bad
//! rows are reported by line and skipped; a value of another organization is refused.

use crate::helpers::*;
use datadog_api_client::datadogV1::api_authentication::AuthenticationAPI;
use datadog_api_client::datadogV2::api_key_management::{
    GetAPIKeyOptionalParams, KeyManagementAPI, ListAPIKeysOptionalParams,
};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_keyplane");
const EXPIRES_AT: &str = "2099-01-31T12:00:00Z";

/// The keys a source organization holds, by kind.
#[derive(Default)]
struct Keys {
    api: Vec<String>,
    app: Vec<String>,
    tokens: Vec<String>,
}

fn import(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("import")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("DD_API_KEY")
        .env_remove("DD_APP_KEY")
        .env_remove("KEYPLANE_DATABASE_URL")
        .env_remove("KEYPLANE_MASTER_KEY_FILE")
        .output()
        .expect("run keyplane import")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn succeeded(out: &Output) -> String {
    assert!(
        out.status.success(),
        "import failed:\n{}\n{}",
        stdout(out),
        stderr(out)
    );
    stdout(out)
}

fn from_url(target: &Path, source: &Server, extra: &[&str]) -> Output {
    let mut args = vec![
        "--from-url",
        source.base.as_str(),
        "--api-key",
        source.creds.api_key.as_str(),
        "--app-key",
        source.creds.app_key.as_str(),
    ];
    args.extend_from_slice(extra);
    import(target, &args)
}

fn hex(chars: usize) -> String {
    let mut out = String::new();
    while out.len() < chars {
        out.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    out.truncate(chars);
    out
}

/// A source server with two more API keys, an application key of the admin's own and one
/// of a service account's, and two client tokens.
async fn source() -> (Server, Keys) {
    let s = Server::start().await;
    let mut keys = Keys {
        api: vec![s.creds.api_key.clone()],
        app: vec![s.creds.app_key.clone()],
        tokens: Vec::new(),
    };
    keys.api.push(s.create_api_key("agents").await.1);
    // keyplane's expiry comes along too.
    let body = json!({"data": {"type": "api_keys", "attributes": {
        "name": "ci", "expires_at": EXPIRES_AT}}});
    let (status, made) = s.call(Method::POST, "/api/v2/api_keys", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    keys.api.push(
        made["data"]["attributes"]["key"]
            .as_str()
            .expect("key")
            .into(),
    );
    let body = json!({"data": {"type": "application_keys", "attributes": {
        "name": "deploys", "scopes": ["api_keys_read"]}}});
    let (status, made) = s
        .call(
            Method::POST,
            "/api/v2/current_user/application_keys",
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    keys.app.push(
        made["data"]["attributes"]["key"]
            .as_str()
            .expect("key")
            .into(),
    );
    let body = json!({"data": {"type": "users", "attributes": {
        "email": "robot@example.com", "service_account": true}}});
    let (status, sa) = s
        .call(Method::POST, "/api/v2/service_accounts", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sa}");
    let sa = sa["data"]["id"].as_str().expect("id");
    let body = json!({"data": {"type": "application_keys", "attributes": {"name": "robot"}}});
    let (status, made) = s
        .call(
            Method::POST,
            &format!("/api/v2/service_accounts/{sa}/application_keys"),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    for name in ["rum", "logs"] {
        keys.tokens.push(s.create_client_token(name).await.1);
    }
    (s, keys)
}

/// A server on the installation `import` wrote in `dir`, using `creds` (which it holds).
async fn serve_imported(dir: &Path, creds: Creds) -> Server {
    let url = format!("sqlite://{}", dir.join("keyplane.db").display());
    Server::start_on_database(&url, &dir.join("master.key"), creds, &[]).await
}

/// Every key is accepted where its kind is checked, and an unknown one of each is not.
async fn assert_valid(s: &Server, keys: &Keys) {
    let api_status = |key: String| {
        let req = s
            .http
            .get(s.url("/api/v1/validate"))
            .header("DD-API-KEY", key);
        async move { send(req).await.0 }
    };
    for key in &keys.api {
        assert_eq!(api_status(key.clone()).await, StatusCode::OK, "API key");
    }
    assert_eq!(api_status(hex(32)).await, StatusCode::FORBIDDEN);
    let pair_status = |app: String| {
        let req = s
            .http
            .get(s.url("/api/v2/validate_keys"))
            .header("DD-API-KEY", &keys.api[0])
            .header("DD-APPLICATION-KEY", app);
        async move { send(req).await.0 }
    };
    for key in &keys.app {
        assert_eq!(pair_status(key.clone()).await, StatusCode::OK, "app key");
    }
    assert_eq!(pair_status(hex(40)).await, StatusCode::FORBIDDEN);
    let token_status = |token: String| {
        let req = s
            .http
            .get(s.url("/api/v1/validate_client_token"))
            .header("DD-CLIENT-TOKEN", token);
        async move { send(req).await.0 }
    };
    for token in &keys.tokens {
        assert_eq!(token_status(token.clone()).await, StatusCode::OK, "token");
    }
    assert_eq!(
        token_status(format!("pub{}", hex(32))).await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn keys_from_a_live_api_keep_working_and_come_along_once() {
    let (source, keys) = source().await;
    let dry = tempfile::tempdir().expect("tempdir");
    let planned = succeeded(&from_url(dry.path(), &source, &["--dry-run"]));
    assert!(
        planned.contains("Dry run: nothing was written."),
        "{planned}"
    );
    assert!(
        planned.contains("API keys: 3 to create, 0 already present, 0 refused"),
        "{planned}"
    );
    // What the dry run planned is all still to do.
    let after_dry = succeeded(&from_url(dry.path(), &source, &[]));
    assert!(
        after_dry.contains("API keys: 3 created, 0 already present"),
        "{after_dry}"
    );

    let target = tempfile::tempdir().expect("tempdir");
    let first = succeeded(&from_url(target.path(), &source, &[]));
    for line in [
        "Organization \"keyplane\"",
        "users: 2 created, 0 already present, 0 refused",
        "API keys: 3 created, 0 already present, 0 refused",
        "application keys: 2 created, 0 already present, 0 refused",
        "client tokens: 2 created, 0 already present, 0 refused",
        "not revealed by the source: 1 key(s)",
        "application_key robot",
        "keyplane admin invite EMAIL",
    ] {
        assert!(first.contains(line), "{line} not in\n{first}");
    }
    let again = succeeded(&from_url(target.path(), &source, &[]));
    for line in [
        "users: 0 created, 2 already present, 0 refused",
        "API keys: 0 created, 3 already present, 0 refused",
        "application keys: 0 created, 2 already present, 0 refused",
        "client tokens: 0 created, 2 already present, 0 refused",
    ] {
        assert!(again.contains(line), "{line} not in\n{again}");
    }
    // The same value for another organization is refused, and the exit status says so.
    let file = target.path().join("elsewhere.json");
    let row = json!([{"organization": "Elsewhere", "name": "stolen",
        "key": keys.api[1], "kind": "api_key"},
        {"organization": "Elsewhere", "name": "stolen too", "key": keys.app[1],
        "kind": "application_key", "owner_email": "thief@elsewhere.test"}]);
    std::fs::write(&file, row.to_string()).expect("write");
    let refused = import(target.path(), &["--file", file.to_str().expect("path")]);
    assert!(!refused.status.success(), "{}", stdout(&refused));
    assert!(
        stderr(&refused).contains("line 1: refused: the value belongs to another organization"),
        "{}",
        stderr(&refused)
    );
    // Nothing is left behind for refused rows: no owner, no organization.
    for line in [
        "API keys: 0 created, 0 already present, 1 refused",
        "application keys: 0 created, 0 already present, 1 refused",
        "users: 0 created, 0 already present, 0 refused",
        "Organization \"Elsewhere\": not created",
    ] {
        assert!(
            stdout(&refused).contains(line),
            "{line} not in\n{}",
            stdout(&refused)
        );
    }

    let imported = serve_imported(target.path(), source.creds.clone()).await;
    assert_valid(&imported, &keys).await;
    // Through the official client too: every API key validates, and the admin's imported
    // key pair reads every API key back with the very value the source had.
    for key in &keys.api {
        let config = dd_config_with(&imported.base, key, &keys.app[0]);
        let valid = AuthenticationAPI::with_config(config)
            .validate()
            .await
            .expect("validate");
        assert_eq!(valid.valid, Some(true));
    }
    let api = KeyManagementAPI::with_config(imported.dd_config());
    let listed = api
        .list_api_keys(ListAPIKeysOptionalParams::default())
        .await
        .expect("list");
    let mut values = Vec::new();
    for key in listed.data.unwrap_or_default() {
        let id = key.id.expect("id");
        let full = api
            .get_api_key(id, GetAPIKeyOptionalParams::default())
            .await
            .expect("get");
        values.push(
            full.data
                .and_then(|d| d.attributes)
                .and_then(|a| a.key)
                .expect("key"),
        );
    }
    values.sort();
    let mut expected = keys.api.clone();
    expected.sort();
    assert_eq!(values, expected);
    // Each imported key is in the audit trail, as made by the CLI, without its secret.
    let (status, audit) = imported
        .call(
            Method::GET,
            "/api/v2/audit/events?filter[action]=api_key.create&page[size]=100",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let by_cli = audit["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|e| e["attributes"]["via"] == "cli")
        .count();
    assert_eq!(by_cli, 3, "{audit}");
    assert!(keys
        .api
        .iter()
        .all(|k| !audit.to_string().contains(k.as_str())));
    // The keys kept their names, categories and scopes, and are listed as usual.
    let (status, listed) = imported.call(Method::GET, "/api/v2/api_keys", None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let mut names: Vec<&str> = listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|k| k["attributes"]["name"].as_str().expect("name"))
        .collect();
    names.sort();
    assert_eq!(names, ["Initial API key", "agents", "ci"]);
    let ci = listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|k| k["attributes"]["name"] == "ci")
        .expect("ci");
    let expires = ci["attributes"]["expires_at"].as_str().expect("expires_at");
    assert!(expires.starts_with("2099-01-31T12:00:00"), "{ci}");
    let (status, own) = imported
        .call(Method::GET, "/api/v2/current_user/application_keys", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{own}");
    let deploys = own["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|k| k["attributes"]["name"] == "deploys")
        .expect("deploys imported");
    assert_eq!(deploys["attributes"]["scopes"], json!(["api_keys_read"]));
}

#[tokio::test]
async fn json_and_csv_files_import_and_bad_rows_are_skipped() {
    let target = tempfile::tempdir().expect("tempdir");
    let file_keys = Keys {
        api: vec![hex(32), hex(32)],
        app: vec![hex(40), format!("ddapp_{}", &hex(40)[..34])],
        tokens: vec![format!("pub{}", hex(32)), format!("pub{}", hex(32))],
    };
    let json_file = target.path().join("keys.json");
    let json_text = format!(
        "[\n\
         {{\"organization\": \"Acme\", \"name\": \"prod agents\", \"key\": \"{}\", \"kind\": \"api_key\", \"category\": \"agents\"}},\n\
         {{\"organization\": \"Acme\", \"name\": \"terraform\", \"key\": \"{}\", \"kind\": \"application_key\",\n  \"owner_email\": \"ops@acme.test\", \"owner_role\": \"admin\", \"scopes\": [\"api_keys_read\"]}},\n\
         {{\"organization\": \"Acme\", \"name\": \"short\", \"key\": \"abc123\", \"kind\": \"api_key\"}},\n\
         {{\"organization\": \"Acme\", \"name\": \"rum\", \"key\": \"{}\", \"kind\": \"client_token\"}}\n\
         ]\n",
        file_keys.api[0], file_keys.app[0], file_keys.tokens[0]
    );
    std::fs::write(&json_file, json_text).expect("write");
    let out = import(
        target.path(),
        &["--file", json_file.to_str().expect("path")],
    );
    // The bad row makes the status non-zero; the others are written all the same.
    assert!(!out.status.success(), "{}", stdout(&out));
    let (report, summary) = (stderr(&out), stdout(&out));
    assert!(
        report.contains("line 5: refused: the value is not a valid api_key"),
        "{report}"
    );
    for line in [
        "Organization \"Acme\"",
        "users: 1 created, 0 already present, 0 refused",
        "API keys: 1 created, 0 already present, 1 refused",
        "application keys: 1 created, 0 already present, 0 refused",
        "client tokens: 1 created, 0 already present, 0 refused",
    ] {
        assert!(summary.contains(line), "{line} not in\n{summary}");
    }

    let csv_file = target.path().join("keys.csv");
    let csv_text = format!(
        "organization,name,key,kind,category,owner_email,scopes\n\
         Acme,\"staging, eu\",{},api_key,agents,,\n\
         Acme,deploy bot,{},application_key,,ops@acme.test,\n\
         Acme,no kind,{},,,,\n\
         Acme,logs,{},client_token,,,\n\
         Acme,orphan,{},application_key,,,\n",
        file_keys.api[1],
        file_keys.app[1],
        hex(32),
        file_keys.tokens[1],
        hex(40)
    );
    std::fs::write(&csv_file, csv_text).expect("write");
    let out = import(target.path(), &["--file", csv_file.to_str().expect("path")]);
    assert!(!out.status.success(), "{}", stdout(&out));
    let (report, summary) = (stderr(&out), stdout(&out));
    assert!(
        report.contains("line 4: skipped: the kind is missing"),
        "{report}"
    );
    assert!(
        report.contains("line 6: refused: an application key needs its owner"),
        "{report}"
    );
    for line in [
        "users: 0 created, 1 already present, 0 refused",
        "API keys: 1 created, 0 already present, 0 refused",
        "application keys: 1 created, 0 already present, 1 refused",
        "client tokens: 1 created, 0 already present, 0 refused",
        "invalid rows: 1 skipped",
    ] {
        assert!(summary.contains(line), "{line} not in\n{summary}");
    }
    // Nothing of the bad rows was written: a rerun of the good rows finds them all present.
    let again = import(
        target.path(),
        &["--file", json_file.to_str().expect("path")],
    );
    assert!(stdout(&again).contains("API keys: 0 created, 1 already present, 1 refused"));

    // The owner the file named holds the application keys, with the role the file gave.
    let creds = Creds {
        api_key: file_keys.api[0].clone(),
        app_key: file_keys.app[0].clone(),
        email: "ops@acme.test".into(),
        password: String::new(),
    };
    let imported = serve_imported(target.path(), creds).await;
    assert_valid(&imported, &file_keys).await;
    // The terraform key is scoped to api_keys_read: enough to list the imported keys.
    let (status, listed) = imported.call(Method::GET, "/api/v2/api_keys", None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let prod = listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|k| k["attributes"]["name"] == "prod agents")
        .expect("prod agents imported");
    assert_eq!(prod["attributes"]["category"], "agents");
}

#[tokio::test]
async fn a_file_imports_into_postgresql_too() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let master_key = dir.path().join("master.key");
    std::fs::write(&master_key, format!("{}\n", hex(64))).expect("write");
    std::fs::set_permissions(
        &master_key,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod");
    let keys = Keys {
        api: vec![hex(32)],
        app: vec![hex(40)],
        tokens: vec![format!("pub{}", hex(32))],
    };
    let file = dir.path().join("keys.csv");
    let text = format!(
        "organization,name,key,kind,owner_email,owner_role\n\
         Pg,agents,{},api_key,,\n\
         Pg,admin,{},application_key,root@pg.test,admin\n\
         Pg,rum,{},client_token,,\n",
        keys.api[0], keys.app[0], keys.tokens[0]
    );
    std::fs::write(&file, text).expect("write");
    let key_file = master_key.to_str().expect("path");
    let args = [
        "--database-url",
        db.url.as_str(),
        "--master-key-file",
        key_file,
        "--file",
        file.to_str().expect("path"),
    ];
    let first = succeeded(&import(dir.path(), &args));
    assert!(
        first.contains("API keys: 1 created, 0 already present, 0 refused"),
        "{first}"
    );
    let again = succeeded(&import(dir.path(), &args));
    assert!(
        again.contains("application keys: 0 created, 1 already present"),
        "{again}"
    );
    let creds = Creds {
        api_key: keys.api[0].clone(),
        app_key: keys.app[0].clone(),
        email: "root@pg.test".into(),
        password: String::new(),
    };
    let s = Server::start_on_database(&db.url, &master_key, creds, &[]).await;
    assert_valid(&s, &keys).await;
}

/// Into a running server's installation: the keys work there without a restart, because
/// each write goes into the change log the server follows.
#[tokio::test]
async fn a_running_server_accepts_imported_keys_at_once() {
    let s = Server::start_sqlite_with(&[]).await;
    let (api, token) = (hex(32), format!("pub{}", hex(32)));
    let file = s.data_dir().join("more.json");
    let rows = json!({"keys": [
        {"name": "fleet", "key": api, "kind": "api_key"},
        {"name": "browser", "key": token, "kind": "client_token"},
        {"name": "Initial API key", "key": hex(32), "kind": "api_key"},
    ]});
    std::fs::write(&file, rows.to_string()).expect("write");
    let output = import(&s.data_dir(), &["--file", file.to_str().expect("path")]);
    let out = succeeded(&output);
    // keyplane's names are unique where Datadog's need not be: a taken one gets a number.
    assert!(
        stderr(&output).contains("its name was taken; imported as Initial API key (2)"),
        "{}",
        stderr(&output)
    );
    // Rows naming no organization go to the one named like a first start's.
    assert!(out.contains("Organization \"keyplane\""), "{out}");
    assert!(out.contains("): existing"), "{out}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let req = s
            .http
            .get(s.url("/api/v1/validate"))
            .header("DD-API-KEY", &api);
        let token_req = s
            .http
            .get(s.url("/api/v1/validate_client_token"))
            .header("DD-CLIENT-TOKEN", &token);
        let (api_ok, token_ok) = (send(req).await.0, send(token_req).await.0);
        if api_ok == StatusCode::OK && token_ok == StatusCode::OK {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "imported keys not accepted by the running server: {api_ok} {token_ok}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The imported key is the organization's, listed with the others.
    let (status, listed) = s.call(Method::GET, "/api/v2/api_keys", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(listed.to_string().contains("\"fleet\""), "{listed}");

    // --org-id puts every row into that organization, whatever the rows name.
    let orgs = s.admin_output(&["list-organizations"]);
    let org_id = String::from_utf8_lossy(&orgs.stdout)
        .split('\t')
        .next()
        .expect("an organization")
        .to_owned();
    let row = json!([{"organization": "Not this one", "name": "pinned", "key": hex(32),
        "kind": "api_key"}]);
    std::fs::write(&file, row.to_string()).expect("write");
    let out = succeeded(&import(
        &s.data_dir(),
        &["--file", file.to_str().expect("path"), "--org-id", &org_id],
    ));
    assert!(
        out.contains(&format!("Organization \"keyplane\" ({org_id}): existing")),
        "{out}"
    );
    assert!(!out.contains("Not this one"), "{out}");
    let orgs = s.admin_output(&["list-organizations"]);
    assert_eq!(String::from_utf8_lossy(&orgs.stdout).lines().count(), 1);

    // A key past its expiry, or with an expiry that is no date, is refused by its line.
    let rows = json!([
        {"name": "old", "key": hex(32), "kind": "api_key", "expires_at": "2001-01-01T00:00:00Z"},
        {"name": "odd", "key": hex(32), "kind": "api_key", "expires_at": "soon"},
    ]);
    std::fs::write(&file, rows.to_string()).expect("write");
    let out = import(&s.data_dir(), &["--file", file.to_str().expect("path")]);
    assert!(!out.status.success());
    let report = stderr(&out);
    assert!(
        report.contains("line 1: refused: the key expired at 2001-01-01"),
        "{report}"
    );
    assert!(
        report.contains("line 1: refused: expires_at must be"),
        "{report}"
    );
}
