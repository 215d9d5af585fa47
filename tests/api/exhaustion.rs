//! Resource exhaustion (security review 2026-12, findings 2–6, 10, 17): what a stranger
//! without credentials can make the server hold (memory, argon2 work, connections), and
//! that sign-in guesses past the limit are refused at once.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A line of the server process's /proc status, in KiB (`VmRSS`, `VmHWM`).
fn proc_kib(s: &Server, field: &str) -> u64 {
    let pid = s.pid().expect("server pid");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{field} in {status}"))
}

/// A client whose connections come from 127.0.0.`n` (any loopback address reaches the
/// server), so each counts as its own source.
fn client_from(n: u32) -> reqwest::Client {
    let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 1, 0)) + n);
    reqwest::Client::builder()
        .local_address(IpAddr::V4(ip))
        .build()
        .expect("client")
}

fn sign_in(
    s: &Server,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> impl std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static {
    client
        .post(s.url("/api/console/session"))
        .json(&json!({"email": email, "password": password}))
        .send()
}

/// Reads one HTTP/1.1 response (headers and a `Content-Length` body); its status.
fn read_response(socket: &mut TcpStream) -> u16 {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        socket.read_exact(&mut byte).expect("response head");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    socket.read_exact(&mut body).expect("response body");
    head.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status")
}

/// How long until the server closes `socket` (a read returns 0 or fails); `None` if it is
/// still open after `wait`.
fn closed_within(mut socket: TcpStream, wait: Duration) -> Option<Duration> {
    let started = Instant::now();
    socket.set_read_timeout(Some(wait)).expect("timeout");
    let mut buf = [0u8; 4096];
    loop {
        match socket.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None
            }
            Err(_) => return Some(started.elapsed()),
        }
    }
}

// ---- 2: caller-chosen methods ----

#[tokio::test]
async fn a_thousand_invented_methods_leave_metrics_small_and_memory_flat() {
    let s = Server::start().await;
    // Warm up the paths the loop takes, so the first request's allocations do not count.
    let resp = s.http.get(s.url("/metrics")).send().await.expect("metrics");
    assert_eq!(resp.status(), StatusCode::OK);
    let before = proc_kib(&s, "VmRSS");
    let port = s.port;
    let statuses = tokio::task::spawn_blocking(move || {
        let mut socket = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let filler = "Z".repeat(20_000);
        (0..1000)
            .map(|i| {
                let request = format!("M{i:06}{filler} /nope HTTP/1.1\r\nHost: a\r\n\r\n");
                socket.write_all(request.as_bytes()).expect("send");
                read_response(&mut socket)
            })
            .collect::<Vec<u16>>()
    })
    .await
    .expect("join");
    // Refused before routing, logging or counting.
    assert!(statuses.iter().all(|s| *s == 405), "{statuses:?}");
    let metrics = s
        .http
        .get(s.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(!metrics.contains("M000"), "a method became a label");
    assert!(metrics.contains(r#"method="other""#), "{metrics}");
    assert!(
        metrics.len() < 64 * 1024,
        "/metrics is {} bytes",
        metrics.len()
    );
    assert!(!s.logs().contains("M000999"), "a method reached the log");
    let grown = proc_kib(&s, "VmRSS").saturating_sub(before);
    report(&format!(
        "1,000 invented 20 kB methods: RSS +{grown} KiB, /metrics {} bytes",
        metrics.len()
    ));
    // 20 MB of distinct methods went in; kept, they would show many times over.
    assert!(grown < 12 * 1024, "RSS grew {grown} KiB");
}

// ---- 3: bounded argon2 work ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_parallel_sign_ins_keep_memory_bounded_and_validate_fast() {
    let s = Server::start().await;
    let before = proc_kib(&s, "VmRSS");
    // Each from its own address, so only the bound on concurrent work stands in the way.
    let burst: Vec<_> = (0..200)
        .map(|i| {
            let email = format!("nobody-{i}@example.com");
            tokio::spawn(sign_in(&s, &client_from(i), &email, "xxxxxxxxxxxx"))
        })
        .collect();
    let validate = async {
        let mut took = Vec::new();
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            let started = Instant::now();
            let resp = s
                .http
                .get(s.url("/api/v1/validate"))
                .header("DD-API-KEY", &s.creds.api_key)
                .send()
                .await
                .expect("validate");
            assert_eq!(resp.status(), StatusCode::OK);
            took.push(started.elapsed());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        took
    };
    let mut took = validate.await;
    let mut statuses = std::collections::BTreeMap::new();
    for handle in burst {
        let resp = handle.await.expect("join").expect("sign-in");
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.expect("json body");
        assert!(body["errors"][0].is_string(), "{body}");
        *statuses.entry(status.as_u16()).or_insert(0) += 1;
    }
    let peak = proc_kib(&s, "VmHWM");
    took.sort();
    let p50 = took[took.len() / 2];
    let max = took[took.len() - 1];
    report(&format!(
        "200 parallel unknown sign-ins: {statuses:?}, RSS {before} KiB -> peak {peak} KiB; \
         validate n={} p50 {p50:?} max {max:?}",
        took.len()
    ));
    // Wrong credentials, or refused at once past the short queue; nothing else.
    assert!(
        statuses.keys().all(|s| [401, 503].contains(s)),
        "{statuses:?}"
    );
    assert!(
        peak.saturating_sub(before) < 600 * 1024,
        "peak RSS grew {} MiB",
        (peak - before) / 1024
    );
    assert!(p50 < Duration::from_millis(100), "validate p50 {p50:?}");
    assert!(max < Duration::from_millis(1500), "validate max {max:?}");
}

// ---- 6: the back-off is a limit ----

#[tokio::test]
async fn guesses_past_the_limit_are_refused_at_once_without_a_password_check() {
    let s = Server::start().await;
    let http = s.http.clone();
    let email = s.creds.email.clone();
    // Climb the pause: each admitted failure past the free ones doubles it, and a guess in
    // the pause is refused (and not counted).
    let mut admitted = 0;
    while admitted < 8 {
        let resp = sign_in(&s, &http, &email, "not-the-password")
            .await
            .expect("guess");
        match resp.status() {
            StatusCode::UNAUTHORIZED => admitted += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let wait: u64 = resp.headers()["retry-after"]
                    .to_str()
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .expect("retry-after");
                assert!((1..=8).contains(&wait), "{wait}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => panic!("{other}"),
        }
    }
    // Now in the full 8 s pause: 100 parallel guesses, the right password among them, from one
    // source and from others, are all refused at once.
    let clients: Vec<reqwest::Client> = (0..100)
        .map(|i| {
            if i % 2 == 0 {
                http.clone()
            } else {
                client_from(i)
            }
        })
        .collect();
    let started = Instant::now();
    let guesses: Vec<_> = (0..100)
        .map(|i| {
            let client = &clients[i as usize];
            let password = if i % 10 == 0 {
                s.creds.password.clone()
            } else {
                format!("guess-{i}-xxxxx")
            };
            tokio::spawn(sign_in(&s, client, &email, &password))
        })
        .collect();
    for handle in guesses {
        let resp = handle.await.expect("join").expect("guess");
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        for header in ["retry-after", "x-ratelimit-reset"] {
            let secs: u64 = resp.headers()[header]
                .to_str()
                .expect("ascii")
                .parse()
                .expect("secs");
            assert!((1..=8).contains(&secs), "{header}: {secs}");
        }
        let body: serde_json::Value = resp.json().await.expect("json");
        let message = body["errors"][0].as_str().expect("message");
        assert!(
            message.starts_with("Too many failed sign-ins; try again in"),
            "{message}"
        );
    }
    let took = started.elapsed();
    report(&format!("100 parallel guesses while locked: {took:?}"));
    // Not one argon2 check (each is tens of ms of CPU, and they would queue).
    assert!(took < Duration::from_secs(3), "{took:?}");
    // Once the pause is over the right password works, and forgives the account.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let resp = sign_in(&s, &http, &email, &s.creds.password)
            .await
            .expect("sign in");
        if resp.status() == StatusCode::CREATED {
            break;
        }
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(Instant::now() < deadline, "still locked");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let resp = sign_in(&s, &http, &email, "not-the-password")
        .await
        .expect("guess");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_console_shows_the_wait_when_sign_in_is_paused() {
    if !crate::browser::available() {
        return;
    }
    use crate::browser::*;
    let s = Server::start().await;
    // Past the free attempts, into an 8 s pause.
    let mut admitted = 0;
    while admitted < 8 {
        let resp = sign_in(&s, &s.http, &s.creds.email, "not-the-password")
            .await
            .expect("guess");
        if resp.status() == StatusCode::UNAUTHORIZED {
            admitted += 1;
        } else {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let (base, email, password) = (s.url("/"), s.creds.email.clone(), s.creds.password.clone());
    let browser = Browser::launch(LAPTOP).await;
    browser
        .run("sign_in_paused", |c| async move {
            c.goto(&base).await.expect("open console");
            type_into(&c, tid("signin-email"), &email).await;
            type_into(&c, tid("signin-password"), &password).await;
            click(&c, tid("signin-submit")).await;
            let error = visible(&c, tid("signin-error")).await;
            let text = error.text().await.expect("error");
            assert!(
                text.starts_with("Too many failed sign-ins; try again in "),
                "{text}"
            );
        })
        .await;
}

// ---- 5: the same work whether or not the email exists ----

#[tokio::test]
async fn unknown_emails_take_as_long_as_wrong_passwords() {
    let s = Server::start().await;
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..30 {
        // A fresh source each round and a right sign-in after the wrong one, so no limit
        // engages; the two kinds interleave, so load on the machine hits both alike.
        let client = client_from(100 + i);
        let started = Instant::now();
        let resp = sign_in(&s, &client, &s.creds.email, "not-the-password")
            .await
            .expect("known");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        known.push(started.elapsed());
        let started = Instant::now();
        let resp = sign_in(
            &s,
            &client,
            &format!("nobody-{i}@example.com"),
            "not-the-password",
        )
        .await
        .expect("unknown");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        unknown.push(started.elapsed());
        let resp = sign_in(&s, &client, &s.creds.email, &s.creds.password)
            .await
            .expect("right");
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
    let (known, unknown) = (median(known), median(unknown));
    report(&format!(
        "sign-in medians: known email {known:?}, unknown email {unknown:?}"
    ));
    let ratio = unknown.as_secs_f64() / known.as_secs_f64();
    assert!(
        (1.0 / 1.5..1.5).contains(&ratio),
        "known {known:?}, unknown {unknown:?}"
    );
}

// ---- 10: failed sign-ins and bad session cookies are counted ----

async fn burst_sources(s: &Server) -> Vec<String> {
    let db = s.data_dir().join("keyplane.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open db");
    let rows: Vec<(Option<String>,)> =
        sqlx::query_as("SELECT source FROM audit_events WHERE action = 'auth.failure_burst'")
            .fetch_all(&pool)
            .await
            .expect("bursts");
    pool.close().await;
    rows.into_iter().filter_map(|(s,)| s).collect()
}

#[tokio::test]
async fn failed_sign_ins_and_bad_session_cookies_begin_failure_bursts() {
    let s = Server::start_sqlite_with(&["--auth-failure-burst", "2"]).await;
    let cookies = client_from(1);
    for i in 0..3 {
        let resp = cookies
            .get(s.url("/api/v2/api_keys"))
            .header("cookie", format!("keyplane_session={:064x}", i + 1))
            .send()
            .await
            .expect("cookie");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    let signer = client_from(2);
    for i in 0..3 {
        let email = format!("nobody-{i}@example.com");
        let resp = sign_in(&s, &signer, &email, "xxxxxxxxxxxx")
            .await
            .expect("sign in");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    let mut sources = burst_sources(&s).await;
    sources.sort();
    assert_eq!(sources, ["127.0.1.1", "127.0.1.2"]);
}

#[tokio::test]
async fn over_long_emails_are_refused_before_any_work() {
    let s = Server::start().await;
    let started = Instant::now();
    for i in 0..20 {
        let long = format!("{i}{}@example.com", "a".repeat(60_000));
        let resp = sign_in(&s, &s.http, &long, "xxxxxxxxxxxx")
            .await
            .expect("sign in");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    let took = started.elapsed();
    report(&format!("20 sign-ins with distinct 60 kB emails: {took:?}"));
    // No argon2 (and no back-off, no stored key: no such email can exist).
    assert!(took < Duration::from_secs(3), "{took:?}");
    // The account limit never saw them: the real account still signs in.
    s.sign_in().await;
}

// ---- 4: connections ----

#[tokio::test]
async fn silent_and_half_preface_connections_are_closed_at_the_header_timeout() {
    let s = Server::start_with(&["--header-read-timeout", "2"]).await;
    let port = s.port;
    let (silent, preface, byte) = tokio::task::spawn_blocking(move || {
        let silent = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let mut preface = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        preface
            .write_all(b"PRI * HTTP/2.0\r\n")
            .expect("half preface");
        let mut byte = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        byte.write_all(b"G").expect("one byte");
        let wait = Duration::from_secs(8);
        let threads = [silent, preface, byte]
            .map(|socket| std::thread::spawn(move || closed_within(socket, wait)));
        let [a, b, c] = threads.map(|t| t.join().expect("join"));
        (a, b, c)
    })
    .await
    .expect("join");
    for (what, closed) in [
        ("silent", silent),
        ("half preface", preface),
        ("one byte", byte),
    ] {
        let closed = closed.unwrap_or_else(|| panic!("{what}: still open after 8 s"));
        // One byte of HTTP/1 then gets hyper's own header timeout: up to two in all.
        let bound = if what == "one byte" { 5_000 } else { 3_200 };
        assert!(closed < Duration::from_millis(bound), "{what}: {closed:?}");
    }
    let ping = s.http.get(s.url("/ping")).send().await.expect("ping");
    assert_eq!(ping.status(), StatusCode::OK);
}

/// An HTTP/2 (h2c) client that sends its preface and settings, then only acknowledges what
/// the server sends (settings, pings), and never opens a stream.
fn idle_h2c(port: u16, wait: Duration) -> Option<Duration> {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    socket
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .expect("preface");
    socket
        .write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0])
        .expect("settings");
    socket.set_read_timeout(Some(wait)).expect("timeout");
    let started = Instant::now();
    loop {
        let mut header = [0u8; 9];
        if socket.read_exact(&mut header).is_err() {
            let open = started.elapsed() >= wait;
            return (!open).then(|| started.elapsed());
        }
        let length =
            usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
        let mut payload = vec![0u8; length];
        if socket.read_exact(&mut payload).is_err() {
            return Some(started.elapsed());
        }
        let (kind, flags) = (header[3], header[4]);
        let reply: Option<Vec<u8>> = match (kind, flags & 1) {
            (4, 0) => Some(vec![0, 0, 0, 4, 1, 0, 0, 0, 0]),
            (6, 0) => Some([vec![0, 0, 8, 6, 1, 0, 0, 0, 0], payload].concat()),
            _ => None,
        };
        if let Some(reply) = reply {
            if socket.write_all(&reply).is_err() {
                return Some(started.elapsed());
            }
        }
    }
}

#[tokio::test]
async fn an_idle_http2_connection_that_answers_pings_is_closed() {
    let s = Server::start_with(&["--header-read-timeout", "2"]).await;
    let port = s.port;
    let closed = tokio::task::spawn_blocking(move || idle_h2c(port, Duration::from_secs(12)))
        .await
        .expect("join");
    let closed = closed.expect("h2c connection still open after 12 s");
    assert!(closed < Duration::from_secs(6), "{closed:?}");
}

/// A server started by hand with the soft and hard open-files limit at 1,024 (the usual
/// soft limit under systemd), which it cannot raise.
struct LowFdServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl LowFdServer {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new("prlimit")
            .arg("--nofile=1024:1024")
            .arg(env!("CARGO_BIN_EXE_keyplane"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--header-read-timeout",
                "2",
            ])
            .arg("--data-dir")
            .arg(dir.path())
            .env("RUST_LOG", "info")
            .env_remove("KEYPLANE_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn keyplane under prlimit");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(addr) = line.split("keyplane listening on http://").nth(1) {
                    let port = addr
                        .split_whitespace()
                        .next()
                        .and_then(|a| a.rsplit(':').next()?.parse::<u16>().ok());
                    if let (Some(tx), Some(port)) = (tx.take(), port) {
                        let _ = tx.send(port);
                    }
                }
            }
        });
        let port = rx.recv_timeout(Duration::from_secs(30)).expect("listening");
        Self {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for LowFdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn eleven_hundred_silent_sockets_do_not_lock_out_a_request() {
    let server = LowFdServer::start();
    let port = server.port;
    let sockets: Vec<TcpStream> = (0..1100)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let resp = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    let took = started.elapsed();
    report(&format!(
        "request behind 1,100 silent sockets (fd limit 1,024): {took:?}"
    ));
    let resp = resp.expect("locked out by silent sockets");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(took < Duration::from_secs(6), "{took:?}");
    drop(sockets);
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_one_ends() {
    let s = Server::start_with(&["--header-read-timeout", "2", "--max-connections", "3"]).await;
    let port = s.port;
    let held: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let resp = s.http.get(s.url("/ping")).send().await.expect("ping");
    let took = started.elapsed();
    assert_eq!(resp.status(), StatusCode::OK);
    // Served only once the silent ones were closed at the header timeout.
    assert!(took >= Duration::from_millis(1200), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    drop(held);
}

#[tokio::test]
async fn a_silent_connection_does_not_hold_up_shutdown() {
    let mut s = Server::start().await;
    let silent = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    let idle = s.http.get(s.url("/ping")).send().await.expect("ping");
    assert_eq!(idle.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    assert!(s.stop().await, "unclean stop:\n{}", s.logs());
    // The header timeout is 30 s: neither the silent nor the kept-alive one is waited for.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    drop(silent);
}
