//! When the database is gone (issue 14 item 4): writes answer 503 naming the cause within a
//! couple of seconds, never a 500 after a long wait; validation answers from memory within
//! `--max-staleness`; nothing acknowledged is lost; recovery is automatic. PostgreSQL: a
//! cluster of the test's own, stopped and restarted under load on two nodes. SQLite: a data
//! dir on a small tmpfs, filled until the disk refuses writes.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a write answers while the database is gone.
const UNAVAILABLE: &str = "The database is unavailable; try again shortly";
/// The longest a write may take during the outage ("within a second or two").
const WRITE_BOUND: Duration = Duration::from_millis(2500);
/// Flags for nodes under load: no key-count or rate limit in the way.
const LOAD_FLAGS: [&str; 6] = [
    "--max-staleness",
    "10",
    "--max-api-keys-per-org",
    "1000000",
    "--rate-limit",
    "100000000",
];

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skips (outside CI) or fails (under `CI=true`) a test that cannot set up its fault.
fn unavailable_fault(what: &str) {
    assert!(!in_ci(), "required under CI=true: {what}");
    report(&format!(
        "\n!!! SKIPPING a database outage test: {what} (under CI=true this is a failure)\n"
    ));
}

/// One request's outcome, timed from the test's start.
#[derive(Clone, Debug)]
struct Outcome {
    started: Duration,
    took: Duration,
    status: StatusCode,
    body: Value,
}

type Log = Arc<Mutex<Vec<Outcome>>>;

async fn timed(t0: Instant, req: reqwest::RequestBuilder) -> Outcome {
    let started = t0.elapsed();
    let at = Instant::now();
    let (status, body) = match req.timeout(Duration::from_secs(30)).send().await {
        Ok(resp) => {
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        }
        Err(err) => panic!("request failed outright: {err}"),
    };
    Outcome {
        started,
        took: at.elapsed(),
        status,
        body,
    }
}

/// A node's `/healthz` status.
async fn health(server: &Server) -> (StatusCode, Value) {
    send(server.http.get(server.url("/healthz"))).await
}

/// Polls `/healthz` until 200; how long that took, or `None` past `bound`.
async fn healthy_within(server: &Server, bound: Duration) -> Option<Duration> {
    let at = Instant::now();
    while at.elapsed() < bound {
        if health(server).await.0 == StatusCode::OK {
            return Some(at.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// Validates `api_key` through v1 on `server`.
fn validate(server: &Server, api_key: &str) -> reqwest::RequestBuilder {
    server
        .http
        .get(server.url("/api/v1/validate"))
        .header("DD-API-KEY", api_key)
}

/// Spawns the load on one node until `until`: one task validating an existing key, one
/// creating API keys. Returns the two logs (validations, writes).
fn load(server: &Server, api_key: String, t0: Instant, until: Duration) -> (Log, Log) {
    let validations: Log = Arc::default();
    let writes: Log = Arc::default();
    let (base, creds) = (server.base.clone(), server.creds.clone());
    let http = reqwest::Client::new();
    {
        let (log, http, base) = (validations.clone(), http.clone(), base.clone());
        tokio::spawn(async move {
            while t0.elapsed() < until {
                let req = http
                    .get(format!("{base}/api/v1/validate"))
                    .header("DD-API-KEY", &api_key);
                let out = timed(t0, req).await;
                log.lock().unwrap().push(out);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
    }
    {
        let log = writes.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while t0.elapsed() < until {
                n += 1;
                let name = format!("outage-{}-{n}", uuid::Uuid::new_v4().simple());
                let req = http
                    .post(format!("{base}/api/v2/api_keys"))
                    .header("DD-API-KEY", &creds.api_key)
                    .header("DD-APPLICATION-KEY", &creds.app_key)
                    .json(&api_key_body(&name));
                let out = timed(t0, req).await;
                log.lock().unwrap().push(out);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }
    (validations, writes)
}

/// Checks what every outage test requires of the logs: only 200/201 and the documented
/// 503 (whose body names the cause), writes answered within `WRITE_BOUND`, and validation
/// always 200. Returns the ids of the acknowledged keys.
fn check_logs(node: &str, validations: &[Outcome], writes: &[Outcome]) -> Vec<String> {
    assert!(
        !validations.is_empty() && !writes.is_empty(),
        "{node}: no load ran"
    );
    for v in validations {
        assert_eq!(
            v.status,
            StatusCode::OK,
            "{node}: validation within the staleness bound must answer from memory: {v:?}"
        );
    }
    let mut acknowledged = Vec::new();
    for w in writes {
        match w.status {
            StatusCode::CREATED => acknowledged.push(
                w.body["data"]["id"]
                    .as_str()
                    .expect("a created key's id")
                    .to_owned(),
            ),
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(w.body, errors(UNAVAILABLE), "{node}: 503 names the cause")
            }
            _ => panic!("{node}: a write answered other than 201 or the documented 503: {w:?}"),
        }
        assert!(
            w.took < WRITE_BOUND,
            "{node}: a write took {:?} (bound {WRITE_BOUND:?}): {w:?}",
            w.took
        );
    }
    acknowledged
}

/// Every acknowledged key is there, read on `server`.
async fn assert_all_readable(server: &Server, ids: &[String]) {
    for id in ids {
        let (status, body) = server
            .call(Method::GET, &format!("/api/v2/api_keys/{id}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "acknowledged key {id} lost: {body}");
    }
}

/// A PostgreSQL cluster of the test's own, on a port of its own (never the shared 5432
/// server), stopped and its directory removed on drop.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl Cluster {
    /// The newest PostgreSQL's binaries that have `initdb` and `pg_ctl`.
    fn binaries() -> Option<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
            .collect();
        found.sort_by_key(|p| {
            p.parent()
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0)
        });
        found.pop()
    }

    fn as_postgres(&self, tool: &str, args: &[&str]) -> std::process::Output {
        let tool = self.bin.join(tool);
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(tool)
            .args(args)
            .output()
            .expect("runuser")
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Creates and starts the cluster; `None` (skipped) outside CI without the tools.
    fn start() -> Option<Self> {
        let Some(bin) = Self::binaries() else {
            unavailable_fault("no initdb/pg_ctl under /usr/lib/postgresql/*/bin");
            return None;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let owned = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(dir.path())
            .status();
        if !owned.is_ok_and(|s| s.success()) {
            unavailable_fault("cannot hand a directory to the postgres user");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let cluster = Cluster { bin, dir, port };
        let data = cluster.data().display().to_string();
        let init = cluster.as_postgres("initdb", &["-D", &data, "-A", "trust", "-N"]);
        assert!(init.status.success(), "initdb: {init:?}");
        cluster.pg_ctl_start();
        Some(cluster)
    }

    fn pg_ctl_start(&self) {
        let data = self.data().display().to_string();
        let log = self.dir.path().join("log").display().to_string();
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        let out = self.as_postgres(
            "pg_ctl",
            &["-D", &data, "-o", &opts, "-l", &log, "-w", "start"],
        );
        assert!(out.status.success(), "pg_ctl start: {out:?}");
    }

    fn pg_ctl_stop(&self, mode: &str) -> bool {
        let data = self.data().display().to_string();
        self.as_postgres("pg_ctl", &["-D", &data, "-m", mode, "-w", "stop"])
            .status
            .success()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.pg_ctl_stop("immediate");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_and_restarted_under_load_on_two_nodes() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let url = cluster.url();
    let mut flags = vec!["--database-url", url.as_str()];
    flags.extend_from_slice(&LOAD_FLAGS);
    let a = Server::start_full(&flags, &[]).await;
    let b = Server::start_on_database(
        &url,
        &a.data_dir().join("master.key"),
        a.creds.clone(),
        &LOAD_FLAGS,
    )
    .await;
    for node in [&a, &b] {
        let (status, body) = health(node).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["max_staleness_seconds"], 10, "{body}");
    }
    // Existing keys the validators use, and one to revoke after recovery.
    let (_, key_a) = a.create_api_key("validated on a").await;
    let (_, key_b) = a.create_api_key("validated on b").await;
    let (revoked_id, revoked) = a.create_api_key("revoked after recovery").await;
    for (node, key) in [(&a, &key_a), (&b, &key_b), (&b, &revoked)] {
        let at = Instant::now();
        while send(validate(node, key)).await.0 != StatusCode::OK {
            assert!(at.elapsed() < Duration::from_secs(5), "key never valid");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    let t0 = Instant::now();
    let until = Duration::from_secs(9);
    let (va, wa) = load(&a, key_a.clone(), t0, until);
    let (vb, wb) = load(&b, key_b.clone(), t0, until);

    tokio::time::sleep(Duration::from_secs(1)).await;
    let stopped_at = t0.elapsed();
    assert!(cluster.pg_ctl_stop("fast"), "pg_ctl stop");
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The nodes answer 503 on /healthz while the database is down.
    for node in [&a, &b] {
        let (status, body) = health(node).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    }
    cluster.pg_ctl_start();
    let up_at = t0.elapsed();
    for (name, node) in [("a", &a), ("b", &b)] {
        let back = healthy_within(node, Duration::from_secs(5)).await;
        report(&format!(
            "db_outage: node {name} healthy {back:?} after the database"
        ));
        assert!(
            back.is_some_and(|d| d < Duration::from_secs(2)),
            "node {name} not back within 2 s of the database: {back:?}\n{}",
            node.logs()
        );
    }
    // A revocation right after recovery reaches the other node within the usual bound.
    let (status, body) = a
        .call(
            Method::DELETE,
            &format!("/api/v2/api_keys/{revoked_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let revoked_at = Instant::now();
    loop {
        let (status, _) = send(validate(&b, &revoked)).await;
        if status == StatusCode::FORBIDDEN {
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(1),
            "a revocation after recovery took over 1 s to reach the other node"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let propagation = revoked_at.elapsed();

    // Let the load run on past recovery, then look at what it saw.
    while t0.elapsed() < until + Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut acknowledged = Vec::new();
    for (name, validations, writes) in [("a", &va, &wa), ("b", &vb, &wb)] {
        let (validations, writes) = (
            validations.lock().unwrap().clone(),
            writes.lock().unwrap().clone(),
        );
        let during = |o: &&Outcome| o.started > stopped_at && o.started + o.took < up_at;
        let refused = writes
            .iter()
            .filter(during)
            .filter(|w| w.status == StatusCode::SERVICE_UNAVAILABLE)
            .count();
        assert!(refused > 0, "node {name}: no write saw the outage");
        assert!(
            writes
                .iter()
                .any(|w| w.started > up_at && w.status == StatusCode::CREATED),
            "node {name}: no write succeeded after recovery"
        );
        assert!(
            validations.iter().filter(during).count() > 10,
            "node {name}: too few validations during the outage"
        );
        let slowest = writes.iter().map(|w| w.took).max().unwrap_or_default();
        report(&format!(
            "db_outage: node {name}: {} validations, {} writes ({refused} answered 503 during the outage), slowest write {slowest:?}",
            validations.len(),
            writes.len()
        ));
        acknowledged.extend(check_logs(name, &validations, &writes));
    }
    report(&format!(
        "db_outage: revocation reached the other node in {propagation:?}"
    ));
    assert_all_readable(&a, &acknowledged).await;
    assert_all_readable(&b, &acknowledged).await;
    drop((a, b));
    drop(cluster);
}

/// A tmpfs mounted for the test, unmounted and removed on drop.
struct SmallDisk {
    mount: PathBuf,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<Self> {
        let mount = tempfile::tempdir().expect("tempdir").keep();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&mount)
            .status();
        if !status.is_ok_and(|s| s.success()) {
            let _ = std::fs::remove_dir(&mount);
            unavailable_fault("cannot mount a tmpfs (needs root)");
            return None;
        }
        Some(Self { mount })
    }

    /// Fills the disk with `filler` until it refuses another byte.
    fn fill(&self, filler: &Path) {
        use std::io::Write;
        let mut file = std::fs::File::create(filler).expect("filler");
        let chunk = vec![0xA5u8; 64 * 1024];
        for _ in 0..10_000 {
            if file
                .write_all(&chunk)
                .and_then(|_| file.sync_all())
                .is_err()
            {
                break;
            }
        }
        for _ in 0..1_000 {
            if file
                .write_all(&chunk[..512])
                .and_then(|_| file.sync_all())
                .is_err()
            {
                break;
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
        let _ = std::fs::remove_dir(&self.mount);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_on_a_full_disk_refuses_writes_with_503_and_recovers() {
    let Some(disk) = SmallDisk::mount("16m") else {
        return;
    };
    let dir = tempfile::tempdir_in(&disk.mount).expect("data dir on the tmpfs");
    let s = Server::start_in(dir, &LOAD_FLAGS).await;
    assert_eq!(health(&s).await.1["max_staleness_seconds"], 10);
    let (_, key) = s.create_api_key("validated").await;
    let mut acknowledged = Vec::new();
    let filler = disk.mount.join("filler");
    disk.fill(&filler);

    // Writes until the disk refuses one: the WAL may still have room for a few.
    let t0 = Instant::now();
    let mut writes = Vec::new();
    let mut validations = Vec::new();
    let mut refused = 0;
    for n in 0..2_000 {
        let req = s
            .req(Method::POST, "/api/v2/api_keys")
            .json(&api_key_body(&format!("full disk {n}")));
        let out = timed(t0, req).await;
        if out.status == StatusCode::SERVICE_UNAVAILABLE {
            refused += 1;
        }
        writes.push(out);
        validations.push(timed(t0, validate(&s, &key)).await);
        if refused >= 5 {
            break;
        }
    }
    assert!(
        refused >= 5,
        "the full disk never refused a write: {:?}",
        writes.iter().rev().take(3).collect::<Vec<_>>()
    );
    // Validation keeps answering from memory while the disk is full, past the 5 s default.
    let until = t0.elapsed() + Duration::from_secs(6);
    while t0.elapsed() < until {
        validations.push(timed(t0, validate(&s, &key)).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    acknowledged.extend(check_logs("sqlite", &validations, &writes));

    // Space again: writes work again without a restart.
    std::fs::remove_file(&filler).expect("free the disk");
    let back = Instant::now();
    loop {
        let (status, body) = s
            .call(
                Method::POST,
                "/api/v2/api_keys",
                Some(api_key_body("after the disk")),
            )
            .await;
        if status == StatusCode::CREATED {
            acknowledged.push(body["data"]["id"].as_str().expect("id").to_owned());
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "writes never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(health(&s).await.0, StatusCode::OK);
    report(&format!(
        "db_outage: sqlite full disk: {} writes ({refused} refused), {} validations, writes back in {:?}",
        writes.len(),
        validations.len(),
        back.elapsed()
    ));
    assert_all_readable(&s, &acknowledged).await;
    drop(s);
    drop(disk);
}
