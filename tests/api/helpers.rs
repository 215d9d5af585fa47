//! A keyplane process under test, its captured output, and typed request helpers.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_keyplane");
/// Read by `keyplane serve` and `keyplane admin create-organization`.
pub const ONE_TIME_READ_ENV: &str = "KEYPLANE_ONE_TIME_READ";
/// As the value of `ONE_TIME_READ_ENV` in a test's environment: leave it unset.
pub const KEYPLANE_DEFAULT: &str = "(keyplane's default)";

/// Credentials as written to `<data-dir>/initial-credentials`.
#[derive(Debug, Clone)]
pub struct Creds {
    pub api_key: String,
    pub app_key: String,
    pub email: String,
    pub password: String,
}

pub struct Server {
    pub dir: TempDir,
    pub base: String,
    pub port: u16,
    pub creds: Creds,
    pub http: reqwest::Client,
    child: Option<Child>,
    /// What the process printed to stdout (the one-time banner, nothing else), every run.
    stdout: Arc<Mutex<String>>,
    /// The log (stderr), every run.
    stderr: Arc<Mutex<String>>,
    extra_args: Vec<String>,
    env: Vec<(String, String)>,
    /// The PostgreSQL database the server runs on, dropped with the server.
    pub db: Option<TestDb>,
}

fn pump(stream: impl Read + Send + 'static, sink: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let reader = BufReader::new(stream);
        for line in reader.lines().map_while(Result::ok) {
            if let Ok(mut out) = sink.lock() {
                out.push_str(&line);
                out.push('\n');
            }
        }
    });
}

/// `NAME=value` from env-file text (`initial-credentials`, `keyplane admin` output).
pub fn env_value(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} not in {text}"))
        .to_owned()
}

pub fn read_creds(dir: &Path) -> Creds {
    let text = std::fs::read_to_string(dir.join("initial-credentials")).expect("credentials file");
    let get = |name: &str| env_value(&text, name);
    Creds {
        api_key: get("DD_API_KEY"),
        app_key: get("DD_APP_KEY"),
        email: get("KEYPLANE_ADMIN_EMAIL"),
        password: get("KEYPLANE_ADMIN_PASSWORD"),
    }
}

impl Server {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    pub async fn start_with(args: &[&str]) -> Self {
        Self::start_full(args, &[]).await
    }

    /// Starts with extra flags and environment variables. With
    /// `KEYPLANE_TEST_BACKEND=postgres` every such server runs on a fresh PostgreSQL database,
    /// so the whole suite can be pointed at PostgreSQL.
    pub async fn start_full(args: &[&str], env: &[(&str, &str)]) -> Self {
        let on_postgres = std::env::var("KEYPLANE_TEST_BACKEND").is_ok_and(|b| b == "postgres")
            && !args.contains(&"--database-url");
        let db = if on_postgres {
            TestDb::create().await
        } else {
            None
        };
        let mut server = Self::launch(args, env, db).await;
        server.creds = read_creds(server.dir.path());
        server
    }

    /// A server on SQLite whatever `KEYPLANE_TEST_BACKEND` says (a test of the embedded store).
    pub async fn start_sqlite_with(args: &[&str]) -> Self {
        let mut server = Self::launch(args, &[], None).await;
        server.creds = read_creds(server.dir.path());
        server
    }

    /// Spawns a server in a fresh data dir, on `db` when given; its credentials are unset.
    async fn launch(args: &[&str], env: &[(&str, &str)], db: Option<TestDb>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut extra_args: Vec<String> = match &db {
            Some(db) => vec!["--database-url".into(), db.url.clone()],
            None => Vec::new(),
        };
        extra_args.extend(args.iter().map(|s| s.to_string()));
        let mut server = Server {
            dir,
            base: String::new(),
            port: 0,
            creds: Creds {
                api_key: String::new(),
                app_key: String::new(),
                email: String::new(),
                password: String::new(),
            },
            http: reqwest::Client::new(),
            child: None,
            stdout: Arc::default(),
            stderr: Arc::default(),
            extra_args,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            db,
        };
        server.spawn().await;
        server
    }

    /// A server on a fresh PostgreSQL database (see `TestDb::create`); `None` when the test
    /// is skipped because PostgreSQL is unreachable outside CI.
    pub async fn start_postgres() -> Option<Self> {
        Self::start_postgres_with(&[]).await
    }

    pub async fn start_postgres_with(args: &[&str]) -> Option<Self> {
        let db = TestDb::create().await?;
        let mut server = Self::launch(args, &[], Some(db)).await;
        server.creds = read_creds(server.dir.path());
        Some(server)
    }

    /// A node on an existing database with a given master key file. The database is
    /// bootstrapped already, so the node prints no credentials: it is given `creds` to use.
    pub async fn start_on_database(
        url: &str,
        master_key_file: &Path,
        creds: Creds,
        args: &[&str],
    ) -> Self {
        let key = master_key_file.display().to_string();
        let mut all = vec!["--database-url", url, "--master-key-file", key.as_str()];
        all.extend_from_slice(args);
        let mut server = Self::launch(&all, &[], None).await;
        server.creds = creds;
        server
    }

    /// Another node on `first`'s PostgreSQL database, with `first`'s master key file.
    pub async fn start_node_of(first: &Server, args: &[&str]) -> Self {
        let url = &first.db.as_ref().expect("a server on PostgreSQL").url;
        let key = first.data_dir().join("master.key");
        Self::start_on_database(url, &key, first.creds.clone(), args).await
    }

    /// The process id of the running server.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    async fn spawn(&mut self) {
        let before = self.logs().len();
        let default_otr = self
            .env
            .iter()
            .any(|(k, v)| k == ONE_TIME_READ_ENV && v == KEYPLANE_DEFAULT);
        let mut command = Command::new(BIN);
        command
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(&self.extra_args)
            .env("RUST_LOG", "debug")
            // New organizations start in One-Time Read mode; most tests read application key
            // secrets after creating them, so test servers start without it. Tests about it
            // pass `--one-time-read true` (a flag beats the environment), or the environment
            // `(ONE_TIME_READ_ENV, KEYPLANE_DEFAULT)` for keyplane's own default.
            .env(ONE_TIME_READ_ENV, "false")
            .env_remove("KEYPLANE_DATABASE_URL")
            .env_remove("KEYPLANE_MAX_API_KEYS_PER_ORG")
            .env_remove("KEYPLANE_MASTER_KEY_FILE")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if default_otr {
            command.env_remove(ONE_TIME_READ_ENV);
        }
        let mut child = command.spawn().expect("spawn keyplane");
        pump(child.stdout.take().expect("stdout"), self.stdout.clone());
        pump(child.stderr.take().expect("stderr"), self.stderr.clone());
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.logs();
            if let Some(addr) = out[before..]
                .lines()
                .find_map(|l| l.split("keyplane listening on http://").nth(1))
            {
                let addr = addr.split_whitespace().next().unwrap_or_default();
                self.port = addr
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("port in listening line");
                self.base = format!("http://{addr}");
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("keyplane exited with {status} before listening:\n{out}");
            }
            assert!(Instant::now() < deadline, "keyplane did not start:\n{out}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the process with SIGTERM and waits for it; returns whether it exited cleanly.
    pub async fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills the process without warning (SIGKILL), as a crash would.
    pub fn crash(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub async fn restart(&mut self) {
        self.stop().await;
        self.spawn().await;
    }

    pub fn logs(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Stdout once it contains `needle` (it is read by its own thread, so it may lag the
    /// log), or as it is after five seconds.
    pub async fn stdout_with(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let out = self.stdout();
            if out.contains(needle) || Instant::now() > deadline {
                return out;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request carrying the admin's API and application keys.
    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("DD-API-KEY", &self.creds.api_key)
            .header("DD-APPLICATION-KEY", &self.creds.app_key)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.req(method, path);
        if let Some(body) = body {
            req = req.json(&body);
        }
        send(req).await
    }

    /// Creates an API key through v2 and returns `(id, key)`.
    pub async fn create_api_key(&self, name: &str) -> (String, String) {
        let (status, body) = self
            .call(Method::POST, "/api/v2/api_keys", Some(api_key_body(name)))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["data"]["id"].as_str().expect("id").to_owned(),
            body["data"]["attributes"]["key"]
                .as_str()
                .expect("key")
                .to_owned(),
        )
    }

    /// Creates a client token and returns `(id, token)`.
    pub async fn create_client_token(&self, name: &str) -> (String, String) {
        let body = json!({"data": {"type": "client_tokens", "attributes": {"name": name}}});
        let (status, body) = self
            .call(Method::POST, "/api/v2/client_tokens", Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["data"]["id"].as_str().expect("id").to_owned(),
            body["data"]["attributes"]["key"]
                .as_str()
                .expect("key")
                .to_owned(),
        )
    }

    /// Runs `keyplane COMMAND --data-dir DIR SUBCOMMAND…` (e.g. `audit verify`).
    pub fn admin_command_output(&self, args: &[&str]) -> std::process::Output {
        let (command, rest) = args.split_first().expect("a command");
        Command::new(BIN)
            .arg(command)
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(rest)
            .output()
            .expect("run keyplane")
    }

    fn admin_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command.env(ONE_TIME_READ_ENV, "false");
        command.args(["admin", "--data-dir"]).arg(self.dir.path());
        if let Some(db) = &self.db {
            command.args(["--database-url", db.url.as_str()]);
        }
        command.args(args);
        command
    }

    /// Runs `keyplane admin ARGS` on this server's data dir, whatever its outcome.
    pub fn admin_output(&self, args: &[&str]) -> std::process::Output {
        self.admin_command(args)
            .output()
            .expect("run keyplane admin")
    }

    /// Runs `keyplane admin ARGS` with `input` on its stdin.
    pub fn admin_stdin(&self, args: &[&str], input: &str) -> std::process::Output {
        let mut child = self
            .admin_command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run keyplane admin");
        if let Some(mut stdin) = child.stdin.take() {
            std::io::Write::write_all(&mut stdin, input.as_bytes()).expect("write stdin");
        }
        child.wait_with_output().expect("keyplane admin output")
    }

    /// Runs `keyplane admin ARGS` on this server's data dir; it must succeed. Returns stdout.
    pub fn admin(&self, args: &[&str]) -> String {
        let out = self.admin_output(args);
        assert!(
            out.status.success(),
            "keyplane admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until a key pair made outside this server (by `keyplane admin`) authenticates:
    /// the server picks such writes up within its poll interval.
    pub async fn await_key_pair(&self, api: &str, app: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let req = self
                .http
                .get(self.url("/api/v2/validate_keys"))
                .header("DD-API-KEY", api)
                .header("DD-APPLICATION-KEY", app);
            if send(req).await.0 == StatusCode::OK {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the minted key pair never became valid"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The official client's configuration, pointed at this server (server index 1).
    pub fn dd_config(&self) -> datadog_api_client::datadog::Configuration {
        dd_config_with(&self.base, &self.creds.api_key, &self.creds.app_key)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.crash();
    }
}

pub fn dd_config_with(
    base: &str,
    api_key: &str,
    app_key: &str,
) -> datadog_api_client::datadog::Configuration {
    use datadog_api_client::datadog::{APIKey, Configuration};
    let mut config = Configuration::new();
    config.server_index = 1;
    config
        .server_variables
        .insert("protocol".into(), "http".into());
    config
        .server_variables
        .insert("name".into(), base.trim_start_matches("http://").into());
    config.set_auth_key(
        "apiKeyAuth",
        APIKey {
            key: api_key.into(),
            prefix: String::new(),
        },
    );
    config.set_auth_key(
        "appKeyAuth",
        APIKey {
            key: app_key.into(),
            prefix: String::new(),
        },
    );
    config
}

pub async fn send(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("non-JSON body {status}: {text}"))
    };
    (status, body)
}

/// `text` as a query-string value (the browser SDK's `ddforward`).
pub fn encoded(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

pub fn api_key_body(name: &str) -> Value {
    serde_json::json!({"data": {"type": "api_keys", "attributes": {"name": name}}})
}

/// `{"errors":[message]}`, Datadog's error body.
pub fn errors(message: &str) -> Value {
    serde_json::json!({ "errors": [message] })
}

/// Where the PostgreSQL tests connect: `KEYPLANE_TEST_DATABASE_URL`, else the local default.
pub fn postgres_admin_url() -> String {
    std::env::var("KEYPLANE_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh PostgreSQL database with a random name, dropped (with its connections) on drop.
pub struct TestDb {
    pub url: String,
    pub name: String,
    admin_url: String,
}

/// `url` with its database (the path) replaced by `database`, query kept.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(base.len());
    format!("{}/{database}{query}", &base[..host_end])
}

impl TestDb {
    /// Creates the database. When PostgreSQL cannot be reached, a test under `CI=true` fails
    /// here; elsewhere it prints a loud notice and gets `None`, so the caller skips.
    pub async fn create() -> Option<TestDb> {
        use sqlx::Connection;
        let admin_url = postgres_admin_url();
        let connected = tokio::time::timeout(
            Duration::from_secs(10),
            sqlx::PgConnection::connect(&admin_url),
        )
        .await
        .map_err(|_| "timed out after 10 s".to_owned())
        .and_then(|r| r.map_err(|e| e.to_string()));
        let mut conn = match connected {
            Ok(conn) => conn,
            Err(err) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
                "PostgreSQL is required under CI=true, but {admin_url} is unreachable: {err}"
            ),
            Err(err) => {
                // Straight to stderr, past the test harness's capture, once per run: a
                // skipped backend must not pass unnoticed.
                static NOTICE: std::sync::Once = std::sync::Once::new();
                NOTICE.call_once(|| {
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr(),
                        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                         !!! PostgreSQL unreachable at {admin_url}: {err}\n\
                         !!! SKIPPING the PostgreSQL tests. Start PostgreSQL or set\n\
                         !!! KEYPLANE_TEST_DATABASE_URL (under CI=true this is a failure).\n\
                         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
                    );
                });
                return None;
            }
        };
        let name = format!("keyplane_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let _ = conn.close().await;
        Some(TestDb {
            url: with_database(&admin_url, &name),
            name,
            admin_url,
        })
    }

    /// A connection to this database, for tests that look at rows or connections directly.
    pub async fn connect(&self) -> sqlx::PgConnection {
        use sqlx::Connection;
        sqlx::PgConnection::connect(&self.url)
            .await
            .expect("connect to test database")
    }

    /// A connection to the server's maintenance database, for statements about this one.
    pub async fn connect_admin(&self) -> sqlx::PgConnection {
        use sqlx::Connection;
        sqlx::PgConnection::connect(&self.admin_url)
            .await
            .expect("connect to the maintenance database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread of its
        // own with its own runtime does the drop.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                sqlx::query(&sql).execute(&mut conn).await.ok()?;
                conn.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("note: could not drop test database {}", self.name);
        }
    }
}

/// A console session: the cookie and CSRF token a browser would hold after signing in.
pub struct Console {
    pub cookie: String,
    pub csrf: String,
    pub body: Value,
}

impl Server {
    /// Signs in to the console; panics unless it succeeds.
    pub async fn sign_in_as(&self, email: &str, password: &str) -> Console {
        let resp = self
            .http
            .post(self.url("/api/console/session"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .expect("sign in");
        assert_eq!(resp.status(), StatusCode::CREATED, "sign-in failed");
        let set_cookie = resp
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .expect("set-cookie")
            .to_owned();
        let cookie = set_cookie
            .split(';')
            .next()
            .expect("cookie pair")
            .to_owned();
        let body: Value = resp.json().await.expect("session body");
        let csrf = body["csrf_token"].as_str().expect("csrf_token").to_owned();
        Console { cookie, csrf, body }
    }

    pub async fn sign_in(&self) -> Console {
        self.sign_in_as(&self.creds.email, &self.creds.password)
            .await
    }

    /// A request carrying the console's cookie and, for changes, its CSRF token.
    pub fn console_req(
        &self,
        console: &Console,
        method: Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .request(method.clone(), self.url(path))
            .header("cookie", &console.cookie);
        if method != Method::GET {
            req = req.header("x-csrf-token", &console.csrf);
        }
        req
    }
}

impl Server {
    /// Starts on an existing data dir (one a killed process left, say) and reads the
    /// credentials its first start wrote there.
    pub async fn start_in(dir: TempDir, args: &[&str]) -> Self {
        let mut server = Server {
            dir,
            base: String::new(),
            port: 0,
            creds: Creds {
                api_key: String::new(),
                app_key: String::new(),
                email: String::new(),
                password: String::new(),
            },
            http: reqwest::Client::new(),
            child: None,
            stdout: Arc::default(),
            stderr: Arc::default(),
            extra_args: args.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            db: None,
        };
        server.spawn().await;
        server.creds = read_creds(server.dir.path());
        server
    }
}

/// A line straight to the process's stderr, past the test harness's capture, so CI logs show
/// the figures of passing runs (crash, property and fuzz counts).
pub fn report(text: &str) {
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{text}\n").as_bytes());
}
