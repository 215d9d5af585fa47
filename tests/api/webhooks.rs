//! Webhooks: key events posted to `--webhook-url` and to an organization's `webhook_url`,
//! signed (Stripe's scheme, checked here with our own HMAC), retried after 5xx, never
//! carrying a secret.

use crate::helpers::*;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "whsec-test-0123456789abcdef";

/// What a receiver got: each request's headers and body, in order of arrival.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    /// Statuses to answer, first to last; 200 once they are used up.
    script: Arc<Mutex<Vec<u16>>>,
    url: String,
}

impl Receiver {
    async fn start(script: &[u16]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let mut receiver = Receiver {
            script: Arc::new(Mutex::new(script.iter().rev().copied().collect())),
            ..Receiver::default()
        };
        receiver.url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let state = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move {
                    state.got.lock().expect("lock").push((headers, body));
                    let status = state.script.lock().expect("lock").pop().unwrap_or(200);
                    AxumStatus::from_u16(status).unwrap_or(AxumStatus::OK)
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    fn requests(&self) -> Vec<(HeaderMap, Bytes)> {
        self.got.lock().expect("lock").clone()
    }

    /// The verified bodies received, once `count` requests have come (or after `wait`).
    async fn events(&self, count: usize, wait: Duration) -> Vec<Value> {
        let deadline = Instant::now() + wait;
        while self.requests().len() < count && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.requests()
            .iter()
            .map(|(headers, body)| verified(headers, body))
            .collect()
    }
}

/// Checks the signature and headers of one delivery as a receiver would; the body.
fn verified(headers: &HeaderMap, body: &[u8]) -> Value {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name}"))
            .to_owned()
    };
    let signature = header("x-keyplane-signature");
    let (t, v1) = signature
        .split_once(',')
        .and_then(|(t, v1)| Some((t.strip_prefix("t=")?, v1.strip_prefix("v1=")?)))
        .unwrap_or_else(|| panic!("malformed signature {signature}"));
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("hmac");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&hex::decode(v1).expect("hex"))
        .unwrap_or_else(|_| panic!("bad signature {signature}"));
    let sent: i64 = t.parse().expect("unix time");
    assert!((chrono::Utc::now().timestamp() - sent).abs() < 60, "{sent}");
    let event: Value = serde_json::from_slice(body).expect("JSON body");
    assert_eq!(
        header("x-keyplane-event"),
        event["type"].as_str().expect("type")
    );
    assert_eq!(
        header("x-keyplane-delivery"),
        event["id"].as_str().expect("id")
    );
    assert_eq!(header("content-type"), "application/json");
    event
}

fn secret_file(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("webhook-secret");
    std::fs::write(&path, format!("{SECRET}\n")).expect("write secret");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path.display().to_string()
}

async fn server(url: Option<&str>, dir: &tempfile::TempDir) -> Server {
    let secret = secret_file(dir);
    let mut args = vec!["--webhook-secret-file", secret.as_str()];
    if let Some(url) = url {
        args.extend(["--webhook-url", url]);
    }
    Server::start_with(&args).await
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["type"].as_str()).collect()
}

#[tokio::test]
async fn an_api_keys_life_is_posted_signed_and_without_secrets() {
    let hook = Receiver::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let s = server(Some(&hook.url), &dir).await;
    let (id, key) = s.create_api_key("webhooked").await;
    let (status, rotated) = s
        .call(
            Method::POST,
            &format!("/api/v2/api_keys/{id}/rotate"),
            Some(json!({"data": {"type": "api_keys", "attributes": {"grace_period_seconds": 60}}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_key = rotated["data"]["attributes"]["key"].as_str().expect("key");
    // Reported leaked (the organization flags by default), then revoked.
    let report = json!({"data": {"type": "leaked_credentials",
        "attributes": {"candidates": [new_key], "source": "https://example.com/paste"}}});
    let resp = s
        .http
        .post(s.url("/api/v2/credentials/leaked"))
        .json(&report)
        .send()
        .await
        .expect("report");
    assert!(resp.status().is_success(), "{}", resp.status());
    let events = hook.events(3, Duration::from_secs(10)).await;
    // Each delivery goes on its own: receivers order by occurred_at, not by arrival.
    let mut first = types(&events);
    first.sort_unstable();
    assert_eq!(
        first,
        ["api_key.created", "api_key.leaked", "api_key.rotated"]
    );
    let (status, _) = s
        .call(Method::DELETE, &format!("/api/v2/api_keys/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let events = hook.events(4, Duration::from_secs(10)).await;
    assert_eq!(types(&events).len(), 4);
    assert_eq!(types(&events)[3], "api_key.revoked");
    for event in &events {
        assert_eq!(event["data"]["key_id"], id.as_str(), "{event}");
        assert_eq!(event["data"]["kind"], "api_key");
        assert!(event["occurred_at"]
            .as_str()
            .is_some_and(|t| t.contains('T')));
        assert!(event["org_id"].as_str().is_some());
    }
    let created = events.iter().find(|e| e["type"] == "api_key.created");
    assert_eq!(
        created.map(|e| &e["data"]["name"]),
        Some(&json!("webhooked"))
    );
    // Ids are the delivery's: distinct.
    assert_ne!(events[0]["id"], events[1]["id"]);
    for (_, body) in hook.requests() {
        let text = String::from_utf8_lossy(&body);
        for secret in [key.as_str(), new_key, &key[key.len() - 8..], SECRET] {
            assert!(!text.contains(secret), "{text}");
        }
    }
}

#[tokio::test]
async fn a_failing_receiver_gets_the_event_on_the_third_attempt() {
    let hook = Receiver::start(&[500, 500]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let s = server(Some(&hook.url), &dir).await;
    let started = Instant::now();
    let (id, _) = s.create_api_key("retried").await;
    let events = hook.events(3, Duration::from_secs(15)).await;
    assert_eq!(types(&events), ["api_key.created"; 3]);
    // The same delivery each time: one id, resent after 1 s and 2 s.
    assert_eq!(events[0]["id"], events[2]["id"]);
    assert_eq!(events[2]["data"]["key_id"], id.as_str());
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // Nothing after the 200.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(hook.requests().len(), 3);
    let metrics = s
        .http
        .get(s.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("keyplane_webhook_deliveries_total{outcome=\"retried\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("keyplane_webhook_deliveries_total{outcome=\"delivered\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_refusing_receiver_is_not_retried() {
    let hook = Receiver::start(&[410]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let s = server(Some(&hook.url), &dir).await;
    s.create_api_key("gone").await;
    let events = hook.events(1, Duration::from_secs(10)).await;
    assert_eq!(types(&events), ["api_key.created"]);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(hook.requests().len(), 1);
}

#[tokio::test]
async fn an_organizations_webhook_url_gets_only_its_own_events() {
    let (ours, theirs) = (Receiver::start(&[]).await, Receiver::start(&[]).await);
    let dir = tempfile::tempdir().expect("tempdir");
    let s = server(None, &dir).await;
    let text = s.admin(&[
        "create-organization",
        "--name",
        "Other",
        "--admin-email",
        "ops@other.example",
    ]);
    let (other_api, other_app) = (
        env_value(&text, "DD_API_KEY"),
        env_value(&text, "DD_APP_KEY"),
    );
    s.await_key_pair(&other_api, &other_app).await;
    let as_other = |method: Method, path: &str| {
        s.http
            .request(method, s.url(path))
            .header("DD-API-KEY", &other_api)
            .header("DD-APPLICATION-KEY", &other_app)
    };
    let set = |url: &str| json!({"data": {"type": "org_configs", "attributes": {"value": url}}});
    let (status, body) = s
        .call(
            Method::PATCH,
            "/api/v2/org_configs/webhook_url",
            Some(set(&ours.url)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["attributes"]["value"], ours.url.as_str());
    let (status, _) =
        send(as_other(Method::PATCH, "/api/v2/org_configs/webhook_url").json(&set(&theirs.url)))
            .await;
    assert_eq!(status, StatusCode::OK);
    // Not a URL: refused as any bad org config value.
    let (status, _) = s
        .call(
            Method::PATCH,
            "/api/v2/org_configs/webhook_url",
            Some(set("ftp://example.com/")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (their_key, _) =
        send(as_other(Method::POST, "/api/v2/api_keys").json(&api_key_body("theirs"))).await;
    assert_eq!(their_key, StatusCode::CREATED);
    let (our_id, _) = s.create_api_key("ours").await;
    let mine = ours.events(1, Duration::from_secs(10)).await;
    let other = theirs.events(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ours.requests().len(), 1);
    assert_eq!(theirs.requests().len(), 1);
    assert_eq!(mine[0]["data"]["key_id"], our_id.as_str());
    assert_eq!(mine[0]["data"]["name"], "ours");
    assert_eq!(other[0]["data"]["name"], "theirs");
    assert_ne!(mine[0]["org_id"], other[0]["org_id"]);
}

#[tokio::test]
async fn a_webhook_url_without_a_secret_is_refused_at_start() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyplane"))
        .args(["serve", "--webhook-url", "http://127.0.0.1:9/hook"])
        .env(
            "KEYPLANE_DATA_DIR",
            tempfile::tempdir().expect("dir").path(),
        )
        .output()
        .expect("run keyplane");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--webhook-url needs --webhook-secret-file"),
        "{stderr}"
    );
}

#[tokio::test]
async fn expiring_keys_are_announced_once_soon_and_once_expired() {
    use keyplane::domain::time;
    let hook = Receiver::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let s = server(Some(&hook.url), &dir).await;
    // Past the next sweep (every 10 s) for the expiring-soon notice, then expired.
    let soon = time::format(time::now() + 12_000_000);
    let later = time::format(time::now() + 30 * 86_400 * 1_000_000);
    let server = &s;
    let create = |path: &'static str, kind: &'static str, name: &'static str, at: &str| {
        let doc = json!({"data": {"type": kind, "attributes": {"name": name, "expires_at": at}}});
        async move {
            let (status, body) = server.call(Method::POST, path, Some(doc)).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            body["data"]["id"].as_str().expect("id").to_owned()
        }
    };
    let api = create("/api/v2/api_keys", "api_keys", "brief", &soon).await;
    let token = create("/api/v2/client_tokens", "client_tokens", "brief", &soon).await;
    let far = create("/api/v2/api_keys", "api_keys", "lasting", &later).await;
    // Created (3), expiring soon (2), expired (2); the sweep runs every 10 s.
    let events = hook.events(7, Duration::from_secs(40)).await;
    let of = |id: &str| {
        let mut found: Vec<String> = (events.iter())
            .filter(|e| e["data"]["key_id"] == id)
            .filter_map(|e| e["type"].as_str().map(str::to_owned))
            .collect();
        found.sort_unstable();
        found
    };
    assert_eq!(
        of(&api),
        [
            "api_key.created",
            "api_key.expired",
            "api_key.expiring_soon"
        ]
    );
    assert_eq!(
        of(&token),
        [
            "client_token.created",
            "client_token.expired",
            "client_token.expiring_soon"
        ]
    );
    assert_eq!(of(&far), ["api_key.created"]);
    let named = events.iter().find(|e| e["type"] == "client_token.expired");
    assert_eq!(named.map(|e| &e["data"]["name"]), Some(&json!("brief")));
    // Once each: the next sweep announces nothing again; the audit trail shows the notices.
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(hook.requests().len(), 7);
    let (status, audit) = s
        .call(
            Method::GET,
            &format!("/api/v2/audit/events?filter[key]={api}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let text = audit.to_string();
    assert!(text.contains("credential.expiring_soon"), "{text}");
    assert!(text.contains("credential.expired"), "{text}");
}
