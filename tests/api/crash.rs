//! Nothing acknowledged is lost and nothing half-written appears when keyplane is killed
//! (SIGKILL) at random moments while clients create and delete keys (issue #8).
//!
//! Only acknowledged outcomes are asserted: a 2xx the client received. A request in flight
//! at a kill may have been applied or not; such keys are checked only for consistency.

use crate::helpers::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

const WORKERS: usize = 8;
/// Kills while the clients run; one more ends the run with requests in flight.
const KILLS_UNDER_LOAD: usize = 4;
/// Keys each client keeps per kind, so lists stay small and the app-key limit (1000 per
/// owner) is never what refuses a create.
const MAX_ALIVE: usize = 30;
const NAME_PREFIX: &str = "crash-";
/// No key limit, rate limit or failure-burst record (the final checks present every
/// deleted key) gets in the way: the crash is under test.
const LOAD_ARGS: &[&str] = &[
    "--max-api-keys-per-org",
    "100000",
    "--rate-limit",
    "0",
    "--auth-failure-burst",
    "0",
];

/// Where keyplane keeps its data. The test body is the same for every backend; only starting
/// the server and reading its store directly differ.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `None` when PostgreSQL is unreachable outside CI (the helper says so; under `CI=true`
    /// it fails instead).
    async fn start(self) -> Option<Server> {
        match self {
            Backend::Sqlite => Some(Server::start_with(LOAD_ARGS).await),
            Backend::Postgres => Server::start_postgres_with(LOAD_ARGS).await,
        }
    }

    /// Reads the store directly once the server has stopped. On PostgreSQL every write is
    /// one transaction and there is no file to check: the acknowledged-write and listed-key
    /// checks over HTTP are the whole proof there.
    async fn check_store(self, server: &Server, ledger: &Ledger) -> Vec<String> {
        match self {
            Backend::Sqlite => sqlite_store_check(server, ledger).await,
            Backend::Postgres => Vec::new(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill_sqlite() {
    crash_run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill_postgres() {
    crash_run(Backend::Postgres).await;
}

/// A first start killed at any moment leaves nothing or a whole installation, so the next
/// start always ends with working credentials in `initial-credentials`.
#[tokio::test]
async fn a_first_start_killed_at_any_moment_leaves_a_working_installation() {
    const TRIALS: usize = 5;
    let mut rng = StdRng::from_entropy();
    let (mut before_saving, mut saved_not_committed, mut committed) = (0, 0, 0);
    // How long an uninterrupted first start takes on this machine, now: the kills spread
    // over that (most of it is the admin's password hash).
    let timer = Instant::now();
    drop(Server::start().await);
    let first_start_ms = timer.elapsed().as_millis().max(50) as u64;
    for _ in 0..TRIALS {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_keyplane"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn keyplane");
        let kill_at = rng.gen_range(0..first_start_ms * 11 / 10);
        tokio::time::sleep(Duration::from_millis(kill_at)).await;
        let _ = first.kill();
        let _ = first.wait();
        let saved = dir.path().join("initial-credentials").exists();

        let s = Server::start_in(dir, &[]).await;
        // Logged before the listening line that `start_in` waited for.
        let bootstrapped_again = s
            .logs()
            .contains("first start: initial credentials written");
        match (saved, bootstrapped_again) {
            (false, _) => before_saving += 1,
            (true, true) => saved_not_committed += 1,
            (true, false) => committed += 1,
        }
        let (status, body) = s.call(Method::GET, "/api/v2/validate_keys", None).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "the saved key pair does not work: {body}"
        );
        let (status, body) = s.call(Method::GET, "/api/v2/api_keys", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["meta"]["page"]["total_filtered_count"], 1, "{body}");
        let orgs = s.admin(&["list-organizations"]);
        assert_eq!(orgs.lines().count(), 1, "{orgs}");
        s.sign_in().await;
    }
    report(&format!(
        "first start ({first_start_ms} ms) killed {TRIALS} times: {before_saving} before the credentials were saved, \
         {saved_not_committed} after saving them but before the commit, {committed} after the commit"
    ));
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    ApiKey,
    AppKey,
    ClientToken,
}

const KINDS: [Kind; 3] = [Kind::ApiKey, Kind::AppKey, Kind::ClientToken];

impl Kind {
    fn collection(self) -> &'static str {
        match self {
            Kind::ApiKey => "/api/v2/api_keys",
            // Current-user reads return the key itself, which the checks compare.
            Kind::AppKey => "/api/v2/current_user/application_keys",
            Kind::ClientToken => "/api/v2/client_tokens",
        }
    }

    /// The organization-wide list (application keys of every owner).
    fn list(self) -> &'static str {
        match self {
            Kind::AppKey => "/api/v2/application_keys",
            other => other.collection(),
        }
    }

    fn body(self, name: &str) -> Value {
        let kind = match self {
            Kind::ApiKey => "api_keys",
            Kind::AppKey => "application_keys",
            Kind::ClientToken => "client_tokens",
        };
        json!({"data": {"type": kind, "attributes": {"name": name}}})
    }

    fn table(self) -> &'static str {
        match self {
            Kind::ApiKey => "api_keys",
            Kind::AppKey => "application_keys",
            Kind::ClientToken => "client_tokens",
        }
    }
}

#[derive(Debug, Clone)]
struct Created {
    kind: Kind,
    name: String,
    secret: String,
}

/// What the clients were told, merged from every client at the end.
#[derive(Default)]
struct Ledger {
    /// Acknowledged creates by id.
    created: HashMap<String, Created>,
    /// Acknowledged deletes.
    deleted: HashSet<String>,
    /// Deletes in flight at a kill: the key may or may not exist afterwards.
    unknown_deletes: HashSet<String>,
    /// Names of creates in flight at a kill (no id was returned).
    unknown_creates: HashSet<String>,
    /// Requests refused at connect (server down): never sent, so nothing to assert.
    not_sent: u64,
    /// Responses that no correct server gives here (5xx, 404 for a live key...).
    unexpected: Vec<String>,
}

impl Ledger {
    fn merge(&mut self, other: Ledger) {
        self.created.extend(other.created);
        self.deleted.extend(other.deleted);
        self.unknown_deletes.extend(other.unknown_deletes);
        self.unknown_creates.extend(other.unknown_creates);
        self.not_sent += other.not_sent;
        self.unexpected.extend(other.unexpected);
    }

    fn acked_creates(&self, kind: Kind) -> usize {
        self.created.values().filter(|c| c.kind == kind).count()
    }
}

struct Client {
    http: reqwest::Client,
    base: Arc<RwLock<String>>,
    creds: Creds,
}

enum Outcome {
    Answered(StatusCode, Value),
    /// The connection was refused: the request never reached a server.
    NotSent,
    /// The connection broke after the request may have been sent.
    InFlight,
}

impl Client {
    fn new(base: Arc<RwLock<String>>, creds: Creds) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("http client");
        Self { http, base, creds }
    }

    fn url(&self, path: &str) -> String {
        let base = self.base.read().map(|b| b.clone()).unwrap_or_default();
        format!("{base}{path}")
    }

    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Outcome {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("DD-API-KEY", &self.creds.api_key)
            .header("DD-APPLICATION-KEY", &self.creds.app_key);
        if let Some(body) = body {
            req = req.json(body);
        }
        match req.send().await {
            Ok(resp) => {
                let status = resp.status();
                match resp.bytes().await {
                    Ok(bytes) => Outcome::Answered(
                        status,
                        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                    ),
                    // Headers arrived but the body did not: the write may have committed.
                    Err(_) => Outcome::InFlight,
                }
            }
            Err(e) if e.is_connect() => Outcome::NotSent,
            Err(_) => Outcome::InFlight,
        }
    }
}

/// One client: creates keys of every kind and deletes some of those it created, recording
/// every answer.
async fn client_loop(n: usize, client: Client, stop: Arc<AtomicBool>, seed: u64) -> Ledger {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(n as u64));
    let mut ledger = Ledger::default();
    let mut alive: HashMap<Kind, Vec<String>> = HashMap::new();
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let kind = KINDS[rng.gen_range(0..KINDS.len())];
        let mine = alive.entry(kind).or_default();
        let delete = !mine.is_empty() && (mine.len() >= MAX_ALIVE || rng.gen_bool(0.4));
        if delete {
            let id = mine.swap_remove(rng.gen_range(0..mine.len()));
            let path = format!("{}/{id}", kind.collection());
            match client.call(Method::DELETE, &path, None).await {
                Outcome::Answered(StatusCode::NO_CONTENT, _) => {
                    ledger.deleted.insert(id);
                }
                Outcome::Answered(status, body) => {
                    ledger.unexpected.push(format!(
                        "DELETE {path} of an acknowledged key: {status} {body}"
                    ));
                }
                Outcome::NotSent => {
                    mine.push(id);
                    ledger.not_sent += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Outcome::InFlight => {
                    ledger.unknown_deletes.insert(id);
                }
            }
        } else {
            seq += 1;
            let name = format!("{NAME_PREFIX}w{n}-{seq}");
            let body = kind.body(&name);
            match client
                .call(Method::POST, kind.collection(), Some(&body))
                .await
            {
                Outcome::Answered(StatusCode::CREATED, body) => {
                    let id = body["data"]["id"].as_str().unwrap_or_default().to_owned();
                    let secret = body["data"]["attributes"]["key"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    if id.is_empty() || secret.is_empty() {
                        ledger
                            .unexpected
                            .push(format!("201 without id or key: {body}"));
                        continue;
                    }
                    mine.push(id.clone());
                    ledger.created.insert(id, Created { kind, name, secret });
                }
                Outcome::Answered(status, body) => {
                    ledger.unexpected.push(format!(
                        "POST {} {name}: {status} {body}",
                        kind.collection()
                    ));
                }
                Outcome::NotSent => {
                    ledger.not_sent += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Outcome::InFlight => {
                    ledger.unknown_creates.insert(name);
                }
            }
        }
    }
    ledger
}

/// The whole story on one backend: load, random kills, restart, then every check.
pub async fn crash_run(backend: Backend) {
    let started = Instant::now();
    let Some(mut server) = backend.start().await else {
        return;
    };
    let seed: u64 = rand::thread_rng().gen();
    let mut rng = StdRng::seed_from_u64(seed);
    let base = Arc::new(RwLock::new(server.base.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = JoinSet::new();
    for n in 0..WORKERS {
        let client = Client::new(base.clone(), server.creds.clone());
        clients.spawn(client_loop(n, client, stop.clone(), seed));
    }

    let mut kills = 0;
    for _ in 0..KILLS_UNDER_LOAD {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(300..1500))).await;
        server.crash();
        kills += 1;
        server.restart().await;
        set_base(&base, &server.base);
    }
    // The last kill ends the run, so requests are in flight at the moment that counts.
    tokio::time::sleep(Duration::from_millis(rng.gen_range(300..1500))).await;
    server.crash();
    kills += 1;
    stop.store(true, Ordering::Relaxed);
    let mut ledger = Ledger::default();
    while let Some(done) = clients.join_next().await {
        ledger.merge(done.expect("client task"));
    }
    server.restart().await;

    let mut failures = std::mem::take(&mut ledger.unexpected);
    failures.extend(check_acknowledged(&server, &ledger).await);
    failures.extend(check_every_listed_key(&server, &ledger).await);
    assert!(server.stop().await, "keyplane did not stop cleanly");
    failures.extend(backend.check_store(&server, &ledger).await);

    report(&format!(
        "crash ({backend:?}, seed {seed}): {kills} kills; acknowledged creates {} \
         (API keys {}, application keys {}, client tokens {}); acknowledged deletes {}; \
         in flight at a kill (unknown outcome): {} creates, {} deletes; \
         refused while down (not sent): {}; {:.1} s",
        ledger.created.len(),
        ledger.acked_creates(Kind::ApiKey),
        ledger.acked_creates(Kind::AppKey),
        ledger.acked_creates(Kind::ClientToken),
        ledger.deleted.len(),
        ledger.unknown_creates.len(),
        ledger.unknown_deletes.len(),
        ledger.not_sent,
        started.elapsed().as_secs_f64(),
    ));
    assert!(kills >= 3);
    assert!(
        ledger.created.len() >= 50 && !ledger.deleted.is_empty(),
        "too little load to say anything"
    );
    let logs = server.logs();
    assert!(!logs.contains("panicked"), "keyplane panicked:\n{logs}");
    assert!(
        failures.is_empty(),
        "{} failures after the crashes, the first:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn set_base(base: &RwLock<String>, now: &str) {
    if let Ok(mut b) = base.write() {
        *b = now.to_owned();
    }
}

/// Checks that `id` of `kind` is fully there (readable with its secret, authenticating) or
/// fully gone (404, refused); `expect_present` says which, `None` accepts either.
async fn check_key(
    target: Target,
    kind: Kind,
    id: String,
    known: Option<Created>,
    expect_present: Option<bool>,
) -> Vec<String> {
    let mut failures = Vec::new();
    let (status, body) = target.read(&format!("{}/{id}", kind.collection())).await;
    let present = match status {
        StatusCode::OK => true,
        StatusCode::NOT_FOUND => false,
        other => {
            return vec![format!("{kind:?} {id}: GET answered {other} {body}")];
        }
    };
    if let Some(expected) = expect_present {
        if present != expected {
            failures.push(format!(
                "{kind:?} {id} ({}): expected {}, GET answered {status}",
                known.as_ref().map(|c| c.name.as_str()).unwrap_or("?"),
                if expected { "present" } else { "deleted" },
            ));
        }
    }
    let attrs = &body["data"]["attributes"];
    let secret = match (present, &known) {
        (true, _) => attrs["key"].as_str().unwrap_or_default().to_owned(),
        (false, Some(c)) => c.secret.clone(),
        (false, None) => return failures,
    };
    if present {
        let name = attrs["name"].as_str().unwrap_or_default();
        let last4 = attrs["last4"].as_str().unwrap_or_default();
        if secret.len() < 4 || !secret.ends_with(last4) || last4.len() != 4 || name.is_empty() {
            failures.push(format!("{kind:?} {id}: inconsistent fields {attrs}"));
        }
        if let Some(c) = &known {
            if c.secret != secret || c.name != name {
                failures.push(format!("{kind:?} {id}: not what its create answered"));
            }
        }
    }
    let auth = target.authenticates(kind, &secret).await;
    let expected_auth = if present {
        StatusCode::OK
    } else {
        StatusCode::FORBIDDEN
    };
    if auth != expected_auth {
        failures.push(format!(
            "{kind:?} {id} (present: {present}): its key authenticates with {auth}"
        ));
    }
    failures
}

/// Runs `checks` a few at a time and gathers their failures.
async fn run_checks<F>(checks: Vec<F>) -> Vec<String>
where
    F: std::future::Future<Output = Vec<String>> + Send + 'static,
{
    let mut failures = Vec::new();
    let mut set = JoinSet::new();
    for check in checks {
        if set.len() >= 8 {
            if let Some(done) = set.join_next().await {
                failures.extend(done.expect("check task"));
            }
        }
        set.spawn(check);
    }
    while let Some(done) = set.join_next().await {
        failures.extend(done.expect("check task"));
    }
    failures
}

/// Every acknowledged create is there with its secret, every acknowledged delete is gone.
async fn check_acknowledged(server: &Server, ledger: &Ledger) -> Vec<String> {
    let target = Target::of(server);
    let mut checks = Vec::new();
    for (id, created) in &ledger.created {
        let expect = if ledger.deleted.contains(id) {
            Some(false)
        } else if ledger.unknown_deletes.contains(id) {
            None
        } else {
            Some(true)
        };
        let kind = created.kind;
        checks.push(check_key(
            target.clone(),
            kind,
            id.clone(),
            Some(created.clone()),
            expect,
        ));
    }
    run_checks(checks).await
}

/// No half-written key: whatever the lists show is complete and works, and every key the
/// test made is one whose create was acknowledged or in flight.
async fn check_every_listed_key(server: &Server, ledger: &Ledger) -> Vec<String> {
    let mut failures = Vec::new();
    let target = Target::of(server);
    let mut checks = Vec::new();
    for kind in KINDS {
        let listed = match list_all(server, kind).await {
            Ok(listed) => listed,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        for (id, name) in listed {
            if ledger.deleted.contains(&id) {
                failures.push(format!(
                    "{kind:?} {id} listed after its delete was acknowledged"
                ));
            }
            let ours = name.starts_with(NAME_PREFIX);
            if ours && !ledger.created.contains_key(&id) && !ledger.unknown_creates.contains(&name)
            {
                failures.push(format!("{kind:?} {id} {name}: a key nobody was told about"));
            }
            let known = ledger.created.get(&id).cloned();
            checks.push(check_key(target.clone(), kind, id, known, Some(true)));
        }
    }
    failures.extend(run_checks(checks).await);
    failures
}

/// `(id, name)` of every key of `kind` in the organization, page by page.
async fn list_all(server: &Server, kind: Kind) -> Result<Vec<(String, String)>, String> {
    let mut all = Vec::new();
    for page in 0.. {
        let path = format!("{}?page[size]=100&page[number]={page}", kind.list());
        let (status, body) = server.call(Method::GET, &path, None).await;
        if status != StatusCode::OK {
            return Err(format!("GET {path}: {status} {body}"));
        }
        let data = body["data"].as_array().cloned().unwrap_or_default();
        let total = body["meta"]["page"]["total_filtered_count"]
            .as_u64()
            .unwrap_or(0);
        for item in &data {
            all.push((
                item["id"].as_str().unwrap_or_default().to_owned(),
                item["attributes"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ));
        }
        if data.len() < 100 {
            if total != all.len() as u64 {
                return Err(format!(
                    "{kind:?}: total_filtered_count {total}, listed {}",
                    all.len()
                ));
            }
            break;
        }
    }
    Ok(all)
}

/// What a check needs of the server, owned so that checks run as tasks.
#[derive(Clone)]
struct Target {
    http: reqwest::Client,
    base: String,
    creds: Creds,
}

impl Target {
    fn of(server: &Server) -> Self {
        Self {
            http: server.http.clone(),
            base: server.base.clone(),
            creds: server.creds.clone(),
        }
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.base))
    }

    /// A GET with the admin's keys.
    async fn read(&self, path: &str) -> (StatusCode, Value) {
        send(
            self.get(path)
                .header("DD-API-KEY", &self.creds.api_key)
                .header("DD-APPLICATION-KEY", &self.creds.app_key),
        )
        .await
    }

    /// How the server answers `secret` presented as a key of `kind`.
    async fn authenticates(&self, kind: Kind, secret: &str) -> StatusCode {
        let req = match kind {
            Kind::ApiKey => self.get("/api/v1/validate").header("DD-API-KEY", secret),
            Kind::AppKey => self
                .get("/api/v2/validate_keys")
                .header("DD-API-KEY", &self.creds.api_key)
                .header("DD-APPLICATION-KEY", secret),
            Kind::ClientToken => self
                .get("/api/v1/validate_client_token")
                .header("DD-CLIENT-TOKEN", secret),
        };
        send(req).await.0
    }
}

/// Rules of the stored SQLite data, each a query that returns the ids breaking it.
const INVARIANTS: &[(&str, &str)] = &[
    (
        "orgs.api_key_count differs from the API keys stored",
        "SELECT id FROM orgs o WHERE api_key_count <> \
         (SELECT COUNT(*) FROM api_keys a WHERE a.org_id = o.id)",
    ),
    (
        "users.app_key_count differs from the application keys stored",
        "SELECT id FROM users u WHERE app_key_count <> \
         (SELECT COUNT(*) FROM application_keys k WHERE k.owner_id = u.id)",
    ),
    (
        "users of no organization",
        "SELECT id FROM users WHERE org_id NOT IN (SELECT id FROM orgs)",
    ),
    (
        "API keys of no organization or creator",
        "SELECT id FROM api_keys WHERE org_id NOT IN (SELECT id FROM orgs) \
         OR created_by NOT IN (SELECT id FROM users)",
    ),
    (
        "application keys without an owner in their organization",
        "SELECT k.id FROM application_keys k LEFT JOIN users u ON u.id = k.owner_id \
         WHERE u.id IS NULL OR u.org_id <> k.org_id",
    ),
    (
        "client tokens of no organization or creator",
        "SELECT id FROM client_tokens WHERE org_id NOT IN (SELECT id FROM orgs) \
         OR created_by NOT IN (SELECT id FROM users)",
    ),
    (
        "half-written API keys",
        "SELECT id FROM api_keys WHERE length(digest) <> 32 OR length(sealed_key) < 29 \
         OR length(last4) <> 4 OR name = '' OR name_folded = ''",
    ),
    (
        "half-written application keys",
        "SELECT id FROM application_keys WHERE length(digest) <> 32 \
         OR length(sealed_key) < 29 OR length(last4) <> 4 OR name = '' OR name_folded = ''",
    ),
    (
        "half-written client tokens",
        "SELECT id FROM client_tokens WHERE length(digest) <> 32 OR length(sealed_key) < 29 \
         OR length(last4) <> 4 OR name = '' OR name_folded = ''",
    ),
];

fn sha256(text: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).to_vec()
}

/// Opens the stopped server's SQLite file read-only and checks the invariants and the ledger.
async fn sqlite_store_check(server: &Server, ledger: &Ledger) -> Vec<String> {
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{Connection, Row};
    let options = SqliteConnectOptions::new()
        .filename(server.data_dir().join("keyplane.db"))
        .read_only(true);
    let mut db = sqlx::SqliteConnection::connect_with(&options)
        .await
        .expect("open the database read-only");
    let mut failures = Vec::new();
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut db)
        .await
        .expect("integrity_check");
    if integrity != "ok" {
        failures.push(format!("integrity_check: {integrity}"));
    }
    let dangling = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&mut db)
        .await
        .expect("foreign_key_check");
    if !dangling.is_empty() {
        failures.push(format!("{} rows break a foreign key", dangling.len()));
    }
    for (rule, sql) in INVARIANTS {
        let ids: Vec<String> = sqlx::query_scalar(sql)
            .fetch_all(&mut db)
            .await
            .unwrap_or_else(|e| panic!("{rule}: {e}"));
        if !ids.is_empty() {
            failures.push(format!("{rule}: {ids:?}"));
        }
    }
    for kind in KINDS {
        let rows = sqlx::query(&format!("SELECT id, name, digest FROM {}", kind.table()))
            .fetch_all(&mut db)
            .await
            .expect("read keys");
        let stored: HashMap<String, (String, Vec<u8>)> = rows
            .iter()
            .map(|r| (r.get("id"), (r.get("name"), r.get("digest"))))
            .collect();
        for (id, created) in ledger.created.iter().filter(|(_, c)| c.kind == kind) {
            let row = stored.get(id);
            if ledger.deleted.contains(id) {
                if row.is_some() {
                    failures.push(format!(
                        "{kind:?} {id}: stored after an acknowledged delete"
                    ));
                }
            } else if ledger.unknown_deletes.contains(id) {
                continue;
            } else {
                match row {
                    None => failures.push(format!("{kind:?} {id}: acknowledged, not stored")),
                    Some((name, digest)) => {
                        if *name != created.name || *digest != sha256(&created.secret) {
                            failures
                                .push(format!("{kind:?} {id}: stored is not what was answered"));
                        }
                    }
                }
            }
        }
        for (id, (name, _)) in &stored {
            let ours = name.starts_with(NAME_PREFIX);
            if ours && !ledger.created.contains_key(id) && !ledger.unknown_creates.contains(name) {
                failures.push(format!("{kind:?} {id} {name}: stored, never requested"));
            }
        }
    }
    failures
}
