//! The real programs the intake tests drive in front of keyplane (nginx, Caddy,
//! VictoriaMetrics, the Python and npm clients), each started from the configuration in
//! `deploy/` with its placeholders filled in, and a recording backend standing behind them.
//! Under `CI=true` a missing program fails the test; elsewhere the test says so and skips.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub use crate::browser::free_port;

pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The program's path when installed; a failure under CI, a notice and `None` elsewhere.
pub fn installed(program: &str, package: &str) -> Option<PathBuf> {
    let dirs = std::env::var("PATH").unwrap_or_default();
    let found = dirs
        .split(':')
        .chain(["/usr/sbin", "/usr/bin"])
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file());
    if found.is_none() {
        skip(&format!(
            "{program} is missing (apt-get install {package}; .ci/run installs it)"
        ));
    }
    found
}

/// Fails under CI; elsewhere prints why the test does nothing.
pub fn skip(why: &str) {
    assert!(!ci(), "CI=true but {why}");
    crate::helpers::report(&format!("SKIPPED: {why}"));
}

/// A file of the repository's `deploy/` directory.
pub fn deploy_file(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// `text` with each placeholder replaced; every one must occur.
pub fn fill(text: &str, placeholders: &[(&str, String)]) -> String {
    let mut out = text.to_owned();
    for (name, value) in placeholders {
        assert!(out.contains(name), "placeholder {name} not in the file");
        out = out.replace(name, value);
    }
    out
}

/// A child process, killed when dropped; its output goes to a log file.
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    pub fn spawn(name: &str, mut command: Command, log: PathBuf) -> Self {
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Process {
            name: name.to_owned(),
            child,
            log,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the process accepts connections on `port`; fails if it exits first.
    pub async fn wait_port(&mut self, port: u16) {
        assert!(
            self.listens_on(port).await,
            "{}: {port} was taken:\n{}",
            self.name,
            self.log()
        );
    }

    /// Waits until the process accepts connections on `port`: `false` if it logged that the
    /// port was taken meanwhile (a port from `free_port` is free only when it is picked, and
    /// tests run in parallel); fails if it exits first or never listens.
    pub async fn listens_on(&mut self, port: u16) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.log().to_ascii_lowercase().contains("address in use") {
                return false;
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return true;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited with {status}:\n{}", self.name, self.log());
            }
            assert!(
                Instant::now() < deadline,
                "{} never listened on {port}:\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the log contains `needle`; returns the log.
    pub async fn wait_log(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "{} never logged {needle:?}:\n{log}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Process {
    /// SIGTERM first: nginx's master then stops its workers (a SIGKILLed master would leave
    /// them running, holding the port); SIGKILL if it is still there after two seconds.
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temp dir the proxies' worker processes may use: nginx's workers run as `nobody` when the
/// tests run as root.
fn work_dir() -> TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
        .expect("chmod temp dir");
    dir
}

/// nginx running `deploy/nginx/<conf>` (with `keyplane-gate.conf` as its snippet), in the
/// foreground with its own prefix, pid file, logs and temp paths.
pub struct Nginx {
    pub port: u16,
    process: Process,
    _dir: TempDir,
}

impl Nginx {
    /// `placeholders` fill everything but LISTEN_ADDR, which is a free port.
    pub async fn start(conf: &str, placeholders: &[(&str, String)]) -> Option<Self> {
        let nginx = installed("nginx", "nginx")?;
        let dir = work_dir();
        let root = dir.path();
        let port = free_port();
        let mut all = vec![("LISTEN_ADDR", format!("127.0.0.1:{port}"))];
        all.extend_from_slice(placeholders);
        std::fs::create_dir_all(root.join("snippets")).expect("snippets dir");
        std::fs::write(
            root.join("snippets/keyplane-gate.conf"),
            deploy_file("nginx/keyplane-gate.conf"),
        )
        .expect("write snippet");
        std::fs::write(
            root.join("site.conf"),
            fill(&deploy_file(&format!("nginx/{conf}")), &all),
        )
        .expect("write site conf");
        let r = root.display();
        // The wrapper an operator's nginx.conf would be: only paths of its own.
        let main = format!(
            "worker_processes 1;\npid {r}/nginx.pid;\nerror_log {r}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n\
               client_body_temp_path {r}/body;\n  proxy_temp_path {r}/proxy;\n\
               fastcgi_temp_path {r}/fastcgi;\n  uwsgi_temp_path {r}/uwsgi;\n\
               scgi_temp_path {r}/scgi;\n  include site.conf;\n}}\n"
        );
        std::fs::write(root.join("nginx.conf"), main).expect("write nginx.conf");
        let mut command = Command::new(nginx);
        command
            .arg("-p")
            .arg(root)
            .arg("-c")
            .arg(root.join("nginx.conf"))
            .arg("-e")
            .arg(root.join("error.log"))
            .args(["-g", "daemon off;"]);
        let mut process = Process::spawn("nginx", command, root.join("nginx.out"));
        process.wait_port(port).await;
        Some(Nginx {
            port,
            process,
            _dir: dir,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn log(&self) -> String {
        self.process.log()
    }
}

/// Caddy running `deploy/caddy/Caddyfile`, with its admin endpoint off (tests run in
/// parallel) and its state in a temp dir.
pub struct Caddy {
    pub port: u16,
    _process: Process,
    _dir: TempDir,
}

impl Caddy {
    pub async fn start(placeholders: &[(&str, String)]) -> Option<Self> {
        let caddy = installed("caddy", "caddy")?;
        let dir = work_dir();
        let root = dir.path();
        let port = free_port();
        let mut all = vec![("LISTEN_ADDR", format!("127.0.0.1:{port}"))];
        all.extend_from_slice(placeholders);
        std::fs::write(
            root.join("keyplane.Caddyfile"),
            fill(&deploy_file("caddy/Caddyfile"), &all),
        )
        .expect("write Caddyfile");
        // Global options come first; the deployment is imported as written.
        let main = format!(
            "{{\n\tadmin off\n}}\nimport {}\n",
            root.join("keyplane.Caddyfile").display()
        );
        std::fs::write(root.join("Caddyfile"), main).expect("write Caddyfile");
        let mut command = Command::new(caddy);
        command
            .arg("run")
            .arg("--config")
            .arg(root.join("Caddyfile"))
            .args(["--adapter", "caddyfile"])
            .current_dir(root)
            .env("HOME", root)
            .env("XDG_CONFIG_HOME", root)
            .env("XDG_DATA_HOME", root);
        let mut process = Process::spawn("caddy", command, root.join("caddy.log"));
        process.wait_port(port).await;
        Some(Caddy {
            port,
            _process: process,
            _dir: dir,
        })
    }
}

/// A single-node VictoriaMetrics with a fresh storage dir.
pub struct VictoriaMetrics {
    pub port: u16,
    _process: Process,
    _dir: TempDir,
    http: reqwest::Client,
}

impl VictoriaMetrics {
    pub async fn start() -> Option<Self> {
        let vm = installed("victoria-metrics", "victoria-metrics")?;
        let dir = work_dir();
        let port = free_port();
        let mut command = Command::new(vm);
        command
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg(format!(
                "-storageDataPath={}",
                dir.path().join("data").display()
            ));
        let mut process = Process::spawn("victoria-metrics", command, dir.path().join("vm.log"));
        process.wait_port(port).await;
        Some(VictoriaMetrics {
            port,
            _process: process,
            _dir: dir,
            http: reqwest::Client::new(),
        })
    }

    /// Every stored series matching `selector`, as `/api/v1/export` gives them (one JSON
    /// object per line), after making recent writes searchable.
    pub async fn export(&self, selector: &str) -> Vec<serde_json::Value> {
        let base = format!("http://127.0.0.1:{}", self.port);
        let flushed = self
            .http
            .get(format!("{base}/internal/force_flush"))
            .send()
            .await
            .expect("force_flush");
        assert!(flushed.status().is_success());
        let text = self
            .http
            .get(format!("{base}/api/v1/export"))
            .query(&[("match[]", selector)])
            .send()
            .await
            .expect("export")
            .text()
            .await
            .expect("export body");
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// One request as the backend received it; header names lowercase.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Clone, Default)]
struct BackendState {
    records: Arc<Mutex<Vec<Recorded>>>,
    pages: Arc<Vec<(String, &'static str, Vec<u8>)>>,
}

/// A backend behind the proxy (an intake that records what reaches it and answers 202
/// `{"status":"ok"}`), or a static page server. It runs on a thread and runtime of its own,
/// so a test may block on a client process meanwhile.
pub struct Backend {
    pub port: u16,
    state: BackendState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Backend {
    pub fn start() -> Self {
        Self::serving(Vec::new())
    }

    /// Serves `(path, content type, body)` pages; records every other request.
    pub fn serving(pages: Vec<(String, &'static str, Vec<u8>)>) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind backend");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("backend addr").port();
        let state = BackendState {
            records: Arc::default(),
            pages: Arc::new(pages),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = axum::Router::new()
            .fallback(record)
            .with_state(state.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("backend runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = stopped => {}
                }
            });
        });
        Backend {
            port,
            state,
            stop: Some(stop),
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn records(&self) -> Vec<Recorded> {
        self.state
            .records
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// The first recorded request matching `check`, waited for up to `within`.
    pub async fn wait_for(
        &self,
        what: &str,
        within: Duration,
        check: impl Fn(&Recorded) -> bool,
    ) -> Recorded {
        let deadline = Instant::now() + within;
        loop {
            if let Some(found) = self.records().into_iter().find(&check) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "the backend never received {what}; it received:\n{:#?}",
                self.records()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn record(State(state): State<BackendState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    if let Some((_, content_type, page)) = state.pages.iter().find(|(p, _, _)| *p == path) {
        return Response::builder()
            .header("content-type", *content_type)
            .body(Body::from(page.clone()))
            .unwrap_or_default();
    }
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let recorded = Recorded {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    };
    if let Ok(mut records) = state.records.lock() {
        records.push(recorded);
    }
    Response::builder()
        .status(202)
        .header("content-type", "application/json")
        .body(Body::from(r#"{"status":"ok"}"#))
        .unwrap_or_default()
}

/// A raw HTTP/1.1 exchange on a new connection, for header names in exactly the case a
/// client writes them (`Dd-Api-Key`, as Go's net/http sends it). `head` holds the request
/// line and headers without the final blank line. Returns the status and the body.
pub fn raw_http(port: u16, head: &str, body: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let request = format!(
        "{head}\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The directory `tests/intake/install.sh KIND` installed the clients into (once per test
/// process; reinstalled only when the pinned list changed); KIND is `python`, `npm` or `bdd`.
/// `None` (a notice) outside CI when the toolchain is missing or the install fails.
pub fn clients(kind: &'static str) -> Option<PathBuf> {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    static NPM: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    static BDD: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let cell = match kind {
        "python" => &PYTHON,
        "npm" => &NPM,
        _ => &BDD,
    };
    let result = cell.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/intake/install.sh");
        let out = Command::new("bash")
            .arg(script)
            .arg(kind)
            .output()
            .map_err(|e| format!("run {script}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{script} {kind} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    });
    match result {
        Ok(dir) => Some(dir.clone()),
        Err(why) => {
            skip(why);
            None
        }
    }
}

/// The organizations' ids by name (`keyplane admin list-organizations`).
pub fn org_id(s: &crate::helpers::Server, name: &str) -> String {
    let list = s.admin(&["list-organizations"]);
    list.lines()
        .find_map(|l| {
            let (id, rest) = l.split_once('\t')?;
            (rest.trim_end_matches(" (one-time read)") == name).then(|| id.to_owned())
        })
        .unwrap_or_else(|| panic!("no organization {name} in {list}"))
}
