//! A keyplane process under test, its captured output, and typed request helpers.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_keyplane");

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

    /// Starts with extra flags and environment variables.
    pub async fn start_full(args: &[&str], env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
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
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        server.spawn().await;
        server.creds = read_creds(server.dir.path());
        server
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    async fn spawn(&mut self) {
        let before = self.logs().len();
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(&self.extra_args)
            .env("RUST_LOG", "debug")
            .env_remove("KEYPLANE_DATABASE_URL")
            .env_remove("KEYPLANE_MAX_API_KEYS_PER_ORG")
            .env_remove("KEYPLANE_MASTER_KEY_FILE")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn keyplane");
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
        command
            .args(["admin", "--data-dir"])
            .arg(self.dir.path())
            .args(args);
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

pub fn api_key_body(name: &str) -> Value {
    serde_json::json!({"data": {"type": "api_keys", "attributes": {"name": name}}})
}

/// `{"errors":[message]}`, Datadog's error body.
pub fn errors(message: &str) -> Value {
    serde_json::json!({ "errors": [message] })
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
        };
        server.spawn().await;
        server.creds = read_creds(server.dir.path());
        server
    }
}
