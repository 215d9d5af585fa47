//! HAProxy checks API keys in its own memory, from the map keyplane keeps in sync over the
//! runtime API: a real `keyplane serve --haproxy-socket … --haproxy-map …`, the Debian
//! package's `/usr/sbin/haproxy` running deploy/haproxy/haproxy.cfg, and a backend in the
//! test that records what reaches it. Under `CI=true` a missing HAProxy fails the test;
//! elsewhere the test says so and skips.

use crate::helpers::{report, Server};
use crate::intake_tools::{free_port, installed, org_id};
use reqwest::{Method, StatusCode};
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CONFIG: &str = include_str!("../../deploy/haproxy/haproxy.cfg");
const FORBIDDEN: &str = r#"{"errors":["Forbidden"]}"#;

/// What HAProxy's `sha2(256),hex,lower` makes of a key: the map's key.
fn digest(key: &str) -> String {
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}

/// The headers of every request that reached the backend, names lowercased.
type Seen = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// A tiny HTTP/1.1 backend answering 200 `ok` to every (bodyless) request.
async fn backend() -> (u16, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind backend");
    let port = listener.local_addr().expect("addr").port();
    let seen: Seen = Arc::default();
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                        buf.drain(..end + 4);
                        let headers = head
                            .lines()
                            .skip(1)
                            .filter_map(|l| l.split_once(':'))
                            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
                            .collect();
                        if let Ok(mut seen) = record.lock() {
                            seen.push(headers);
                        }
                        let answer = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok";
                        if conn.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                    match conn.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    (port, seen)
}

/// deploy/haproxy/haproxy.cfg with this test's addresses and paths, and HAProxy running it.
struct Haproxy {
    binary: PathBuf,
    config: PathBuf,
    socket: PathBuf,
    map: PathBuf,
    port: u16,
    child: Option<Child>,
    log: PathBuf,
}

impl Haproxy {
    /// Renders the configuration in `dir`; nothing runs yet.
    fn configure(binary: &Path, dir: &Path, backend_port: u16, keyplane_port: u16) -> Self {
        let port = free_port();
        let socket = dir.join("admin.sock");
        let map = dir.join("keyplane.map");
        let rendered = CONFIG
            .replace("@LISTEN_ADDR@", &format!("127.0.0.1:{port}"))
            .replace("@BACKEND_ADDR@", &format!("127.0.0.1:{backend_port}"))
            .replace("@KEYPLANE_ADDR@", &format!("127.0.0.1:{keyplane_port}"))
            .replace("@ADMIN_SOCKET@", &socket.display().to_string())
            .replace("@MAP_FILE@", &map.display().to_string());
        assert!(!rendered.contains('@'), "a placeholder left:\n{rendered}");
        let config = dir.join("haproxy.cfg");
        std::fs::write(&config, rendered).expect("write haproxy.cfg");
        std::fs::write(&map, "").expect("write empty map");
        Haproxy {
            binary: binary.to_owned(),
            config,
            socket,
            map,
            port,
            child: None,
            log: dir.join("haproxy.log"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Starts HAProxy in the foreground (`-db`) from the map file as it is now, and waits
    /// until it listens and its admin socket answers.
    async fn start(&mut self) {
        let log = std::fs::File::create(&self.log).expect("haproxy log");
        let child = Command::new(&self.binary)
            .arg("-f")
            .arg(&self.config)
            .arg("-db")
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn haproxy");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let listening = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok();
            let admin = tokio::net::UnixStream::connect(&self.socket).await.is_ok();
            if listening && admin {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("haproxy exited with {status}:\n{}", self.logs());
            }
            assert!(
                Instant::now() < deadline,
                "haproxy did not start:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills HAProxy (SIGKILL): the map it held is gone with it.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.socket);
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An intake request through HAProxy with the key in the `DD-API-KEY` header.
async fn with_header(http: &reqwest::Client, hx: &Haproxy, key: &str) -> StatusCode {
    http.post(hx.url("/api/v2/series"))
        .header("DD-API-KEY", key)
        .send()
        .await
        .expect("request through haproxy")
        .status()
}

/// Sends through HAProxy until it answers `want`; returns how long that took.
async fn until(
    http: &reqwest::Client,
    hx: &Haproxy,
    s: &Server,
    key: &str,
    want: StatusCode,
    within: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        if with_header(http, hx, key).await == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "HAProxy did not answer {want} within {within:?}\nkeyplane:\n{}\nhaproxy:\n{}",
            s.logs(),
            hx.logs()
        );
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

async fn delete_key(s: &Server, id: &str) {
    let resp = s
        .req(Method::DELETE, &format!("/api/v2/api_keys/{id}"))
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
}

const UNREACHABLE: &str = "HAProxy runtime API unreachable";

#[tokio::test]
async fn haproxy_map_follows_api_keys_created_and_revoked() {
    let Some(haproxy) = installed("haproxy", "haproxy") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (backend_port, seen) = backend().await;
    let socket = dir.path().join("admin.sock");
    let map = dir.path().join("keyplane.map");
    let s = Server::start_with(&[
        "--max-api-keys-per-org",
        "1000",
        "--haproxy-socket",
        socket.to_str().expect("path"),
        "--haproxy-map",
        map.to_str().expect("path"),
    ])
    .await;
    let mut hx = Haproxy::configure(&haproxy, dir.path(), backend_port, s.port);
    let http = reqwest::Client::new();
    let org = org_id(&s, "keyplane");

    // keyplane starts before HAProxy: it says so once, however long HAProxy stays away.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    hx.start().await;
    // HAProxy started from an empty map: keyplane's resync brings the admin's key in.
    until(
        &http,
        &hx,
        &s,
        &s.creds.api_key,
        StatusCode::OK,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        s.logs().matches(UNREACHABLE).count(),
        1,
        "the outage is logged once:\n{}",
        s.logs()
    );
    assert!(s.logs().contains("HAProxy map sync working again"));

    // A key keyplane does not know, and no key at all: Datadog's 403.
    for resp in [
        http.post(hx.url("/api/v2/series"))
            .header("DD-API-KEY", "0123456789abcdef0123456789abcdef")
            .send()
            .await
            .expect("request"),
        http.post(hx.url("/api/v2/series"))
            .send()
            .await
            .expect("request"),
    ] {
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            resp.headers()["content-type"].to_str().ok(),
            Some("application/json")
        );
        assert_eq!(resp.text().await.expect("body"), FORBIDDEN);
    }

    // A key created now passes at once, in the header and in the query; the backend sees
    // the key's tenant (whatever the client claims) and never the key.
    let (id, key) = s.create_api_key("through haproxy").await;
    assert_eq!(
        with_header(&http, &hx, "f".repeat(32).as_str()).await,
        StatusCode::FORBIDDEN
    );
    let created = until(&http, &hx, &s, &key, StatusCode::OK, Duration::from_secs(1)).await;
    seen.lock().expect("seen").clear();
    let resp = http
        .post(hx.url("/api/v2/series"))
        .header("Dd-Api-Key", &key)
        .header("X-Scope-OrgID", "someone-else")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    for param in ["api_key", "dd-api-key"] {
        let resp = http
            .post(hx.url(&format!("/api/v2/logs?{param}={key}")))
            .header("X-Scope-OrgID", "someone-else")
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::OK, "?{param}=");
    }
    {
        let seen = seen.lock().expect("seen");
        assert_eq!(seen.len(), 3);
        for headers in seen.iter() {
            let tenants: Vec<_> = headers
                .iter()
                .filter(|(n, _)| n == "x-scope-orgid")
                .map(|(_, v)| v.as_str())
                .collect();
            assert_eq!(tenants, [org.as_str()], "{headers:?}");
            assert!(
                headers.iter().all(|(n, _)| n != "dd-api-key"),
                "the key reached the backend: {headers:?}"
            );
        }
    }

    // A live API key on a browser request is refused (browsers get client tokens), and
    // nothing reaches the backend.
    for (name, value) in [
        ("Origin", "https://app.example"),
        ("Sec-Fetch-Mode", "cors"),
        ("DD-EVP-ORIGIN", "browser"),
    ] {
        let resp = http
            .post(hx.url("/api/v2/logs"))
            .header("DD-API-KEY", &key)
            .header(name, value)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{name}");
        assert_eq!(resp.text().await.expect("body"), FORBIDDEN);
    }
    for query in [
        format!("dd-api-key={key}&dd-evp-origin=browser"),
        format!("ddforward=%2Fapi%2Fv2%2Frum%3Fdd-api-key%3D{key}&dd-api-key={key}"),
    ] {
        let resp = http
            .post(hx.url(&format!("/api/v2/rum?{query}")))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{query}");
    }
    assert_eq!(seen.lock().expect("seen").len(), 3);

    // The Agent's key check goes to keyplane itself.
    let validate = http
        .get(hx.url(&format!("/api/v1/validate?api_key={key}")))
        .send()
        .await
        .expect("validate");
    assert_eq!(validate.status(), StatusCode::OK);
    assert_eq!(
        validate.json::<serde_json::Value>().await.expect("json"),
        serde_json::json!({"valid": true})
    );

    // A key written by another process (here `keyplane admin`) comes in through the change log.
    let out = s.admin(&[
        "create-api-key",
        "--name",
        "from elsewhere",
        "--max-api-keys-per-org",
        "1000",
    ]);
    let elsewhere = crate::helpers::env_value(&out, "DD_API_KEY");
    until(
        &http,
        &hx,
        &s,
        &elsewhere,
        StatusCode::OK,
        Duration::from_secs(3),
    )
    .await;

    // Revocation: from the DELETE's answer until HAProxy refuses the key.
    delete_key(&s, &id).await;
    until(
        &http,
        &hx,
        &s,
        &key,
        StatusCode::FORBIDDEN,
        Duration::from_millis(100),
    )
    .await;
    let validate = http
        .get(hx.url(&format!("/api/v1/validate?api_key={key}")))
        .send()
        .await
        .expect("validate");
    assert_eq!(validate.status(), StatusCode::FORBIDDEN);
    let mut revoked = Vec::new();
    let mut admitted = vec![created];
    let mut keys = vec![key.clone(), elsewhere.clone()];
    for i in 0..50 {
        let (id, key) = s.create_api_key(&format!("revoked {i}")).await;
        admitted.push(until(&http, &hx, &s, &key, StatusCode::OK, Duration::from_secs(1)).await);
        delete_key(&s, &id).await;
        revoked.push(
            until(
                &http,
                &hx,
                &s,
                &key,
                StatusCode::FORBIDDEN,
                Duration::from_secs(1),
            )
            .await,
        );
        keys.push(key);
    }
    revoked.sort();
    admitted.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (p50, p99, max) = (
        percentile(&revoked, 0.5),
        percentile(&revoked, 0.99),
        revoked[revoked.len() - 1],
    );
    report(&format!(
        "haproxy map: {} revocations, DELETE answered -> HAProxy 403: p50 {:.2} ms, p99 {:.2} ms, \
         max {:.2} ms; create answered -> HAProxy 200: p50 {:.2} ms, p99 {:.2} ms",
        revoked.len(),
        ms(p50),
        ms(p99),
        ms(max),
        ms(percentile(&admitted, 0.5)),
        ms(percentile(&admitted, 0.99)),
    ));
    assert!(p99 < Duration::from_millis(100), "p99 {p99:?}");

    // HAProxy restarts from a stale map file (one holding a key revoked meanwhile) while
    // keys are created and revoked: keyplane notices the new process and resyncs.
    let (stale_id, stale) = s.create_api_key("revoked while haproxy is down").await;
    until(
        &http,
        &hx,
        &s,
        &stale,
        StatusCode::OK,
        Duration::from_secs(1),
    )
    .await;
    hx.kill();
    delete_key(&s, &stale_id).await;
    let (_, meanwhile) = s.create_api_key("created while haproxy is down").await;
    std::fs::write(
        &hx.map,
        format!(
            "{} {org}\n{} {org}\n",
            digest(&stale),
            digest(&s.creds.api_key)
        ),
    )
    .expect("stale map");
    let restarted = Instant::now();
    hx.start().await;
    until(
        &http,
        &hx,
        &s,
        &meanwhile,
        StatusCode::OK,
        Duration::from_secs(10),
    )
    .await;
    until(
        &http,
        &hx,
        &s,
        &stale,
        StatusCode::FORBIDDEN,
        Duration::from_secs(1),
    )
    .await;
    report(&format!(
        "haproxy map: resynced {:.0} ms after HAProxy restarted",
        ms(restarted.elapsed())
    ));
    for live in [&s.creds.api_key, &elsewhere] {
        assert_eq!(with_header(&http, &hx, live).await, StatusCode::OK);
    }
    assert!(
        s.logs().matches("HAProxy map resynced").count() >= 2,
        "{}",
        s.logs()
    );

    // Keys never reach the log (digests only, at debug level).
    keys.extend([stale, meanwhile]);
    let logs = s.logs();
    for key in &keys {
        assert!(!logs.contains(key.as_str()), "a key in the log");
    }
    assert!(
        logs.contains(&digest(&keys[2])),
        "digests are logged at debug level"
    );
}

#[tokio::test]
async fn haproxy_starts_from_keyplane_haproxy_map() {
    let Some(haproxy) = installed("haproxy", "haproxy") else {
        return;
    };
    // No sync at all: what HAProxy knows comes from `keyplane haproxy-map` only.
    let s = Server::start_with(&["--max-api-keys-per-org", "10"]).await;
    let (gone_id, gone) = s.create_api_key("deleted before the map is written").await;
    let (_, kept) = s.create_api_key("in the map").await;
    delete_key(&s, &gone_id).await;
    let mut command = Command::new(env!("CARGO_BIN_EXE_keyplane"));
    command
        .arg("haproxy-map")
        .arg("--data-dir")
        .arg(s.data_dir());
    if let Some(db) = &s.db {
        command.args(["--database-url", db.url.as_str()]);
    }
    let out = command.output().expect("run keyplane haproxy-map");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let org = org_id(&s, "keyplane");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for key in [&s.creds.api_key, &kept] {
        let line = format!("{} {org}", digest(key));
        assert!(lines.contains(&line.as_str()), "{line} not in {text}");
        assert!(!text.contains(key.as_str()), "a key in the map");
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let (backend_port, seen) = backend().await;
    let mut hx = Haproxy::configure(&haproxy, dir.path(), backend_port, s.port);
    std::fs::write(&hx.map, &text).expect("write map");
    hx.start().await;
    let http = reqwest::Client::new();
    for key in [&s.creds.api_key, &kept] {
        assert_eq!(with_header(&http, &hx, key).await, StatusCode::OK);
    }
    assert_eq!(with_header(&http, &hx, &gone).await, StatusCode::FORBIDDEN);
    let seen = seen.lock().expect("seen");
    assert_eq!(seen.len(), 2);
    assert!(seen
        .iter()
        .all(|h| h.contains(&("x-scope-orgid".to_owned(), org.clone()))));
}

/// An expiring key leaves HAProxy's map at its instant: an expiry writes nothing, so the
/// sync loop deletes it by the clock; a key already expired is never added.
#[tokio::test]
async fn haproxy_map_drops_keys_when_they_expire() {
    let Some(haproxy) = installed("haproxy", "haproxy") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (backend_port, _seen) = backend().await;
    let socket = dir.path().join("admin.sock");
    let map = dir.path().join("keyplane.map");
    let s = Server::start_with(&[
        "--haproxy-socket",
        socket.to_str().expect("path"),
        "--haproxy-map",
        map.to_str().expect("path"),
    ])
    .await;
    let mut hx = Haproxy::configure(&haproxy, dir.path(), backend_port, s.port);
    hx.start().await;
    let http = reqwest::Client::new();
    let admin_key = s.creds.api_key.clone();
    until(
        &http,
        &hx,
        &s,
        &admin_key,
        StatusCode::OK,
        Duration::from_secs(10),
    )
    .await;

    let at = keyplane::domain::time::now() + 2_500_000;
    let body = serde_json::json!({"data": {"type": "api_keys", "attributes": {
        "name": "expiring", "expires_at": keyplane::domain::time::format(at)}}});
    let (status, doc) = s.call(Method::POST, "/api/v2/api_keys", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    let key = doc["data"]["attributes"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    until(&http, &hx, &s, &key, StatusCode::OK, Duration::from_secs(2)).await;
    let left = at - keyplane::domain::time::now();
    tokio::time::sleep(Duration::from_micros(u64::try_from(left).unwrap_or(0))).await;
    let gone = until(
        &http,
        &hx,
        &s,
        &key,
        StatusCode::FORBIDDEN,
        Duration::from_secs(2),
    )
    .await;
    assert!(
        gone < Duration::from_millis(500),
        "refused {gone:?} after expiry"
    );
    assert_eq!(with_header(&http, &hx, &admin_key).await, StatusCode::OK);
}
