//! End to end through the gate with software nobody here wrote: the official `datadog`
//! Python library into VictoriaMetrics, Datadog's serverless agent binary (PyPI
//! `datadog-serverless-compat`) sending traces and logs, and the browser logs SDK (npm
//! `@datadog/browser-logs`) in headless Chromium, each through nginx running `deploy/`.

use crate::browser::{Browser, LAPTOP};
use crate::helpers::*;
use crate::intake_proxies::await_audit;
use crate::intake_tools::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Reads `KEY METRIC` lines on stdin and sends each metric with `api.Metric.send`, as an
/// application would; prints what the library returned, one JSON line per metric.
const DATADOGPY: &str = r#"
import json, sys
from datadog import api, initialize
for line in sys.stdin:
    key, metric = line.split()
    initialize(api_key=key, api_host=sys.argv[1])
    result = api.Metric.send(metric=metric, points=1.0, host="e2e", tags=["keyplane_org:forged"])
    print(json.dumps(result), flush=True)
"#;

/// Runs datadogpy for each `(key, metric)`; returns the library's result per metric.
fn datadogpy(venv: &Path, host: &str, sends: &[(&str, &str)]) -> Vec<Value> {
    let mut child = Command::new(venv.join("bin/python"))
        .args(["-c", DATADOGPY, host])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run datadogpy");
    let input: String = sends.iter().map(|(k, m)| format!("{k} {m}\n")).collect();
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("datadogpy output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "datadogpy failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Stored series name → their keyplane_org labels.
async fn stored(vm: &VictoriaMetrics) -> BTreeMap<String, Vec<String>> {
    let mut by_name = BTreeMap::<String, Vec<String>>::new();
    for series in vm.export(r#"{__name__=~"e2e[.].*"}"#).await {
        let metric = &series["metric"];
        by_name
            .entry(metric["__name__"].as_str().expect("name").to_owned())
            .or_default()
            .push(metric["keyplane_org"].as_str().unwrap_or("").to_owned());
    }
    by_name
}

#[tokio::test]
async fn datadogpy_series_reach_victoria_metrics_only_with_live_keys_each_under_its_org() {
    let Some(venv) = clients("python") else {
        return;
    };
    let Some(vm) = VictoriaMetrics::start().await else {
        return;
    };
    let s = Server::start().await;
    let Some(nginx) = Nginx::start(
        "victoria-metrics.conf",
        &[
            ("KEYPLANE_ADDR", format!("127.0.0.1:{}", s.port)),
            ("VICTORIAMETRICS_ADDR", format!("127.0.0.1:{}", vm.port)),
        ],
    )
    .await
    else {
        return;
    };
    let other = s.admin(&[
        "create-organization",
        "--name",
        "Other",
        "--admin-email",
        "ops@other.example",
    ]);
    let other_key = env_value(&other, "DD_API_KEY");
    s.await_key_pair(&other_key, &env_value(&other, "DD_APP_KEY"))
        .await;
    let (org, other_org) = (org_id(&s, "keyplane"), org_id(&s, "Other"));
    let (revocable_id, revocable) = s.create_api_key("datadogpy").await;
    let unknown = uuid::Uuid::new_v4().simple().to_string();
    let host = nginx.url("");
    let ok = json!({"status": "ok"});
    let forbidden = json!({"errors": ["Forbidden"]});

    let results = datadogpy(
        &venv,
        &host,
        &[
            (&s.creds.api_key, "e2e.keyplane"),
            (&other_key, "e2e.other"),
            (&revocable, "e2e.revocable"),
            (&unknown, "e2e.unknown"),
            (&s.creds.app_key, "e2e.app_key"),
        ],
    );
    assert_eq!(
        results,
        [
            ok.clone(),
            ok.clone(),
            ok.clone(),
            forbidden.clone(),
            forbidden.clone()
        ]
    );
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v2/api_keys/{revocable_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let results = datadogpy(
        &venv,
        &host,
        &[(&revocable, "e2e.revoked"), (&s.creds.api_key, "e2e.still")],
    );
    assert_eq!(results, [forbidden, ok]);

    // Only live keys' series are stored, each labelled with its key's organization (a tag of
    // the same name in the payload does not win).
    let expected: BTreeMap<String, Vec<String>> = [
        ("e2e.keyplane", &org),
        ("e2e.other", &other_org),
        ("e2e.revocable", &org),
        ("e2e.still", &org),
    ]
    .into_iter()
    .map(|(name, org)| (name.to_owned(), vec![org.clone()]))
    .collect();
    // Newly written series become searchable within a few seconds.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut got = stored(&vm).await;
    while got != expected && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        got = stored(&vm).await;
    }
    assert_eq!(got, expected, "{}", nginx.log());
}

/// A msgpack `/v0.4/traces` payload of one trace with one span, as a tracer sends it.
fn msgpack_trace(resource: &str, trace_id: u64) -> Vec<u8> {
    fn text(out: &mut Vec<u8>, s: &str) {
        assert!(s.len() < 256);
        if s.len() < 32 {
            out.push(0xa0 | s.len() as u8);
        } else {
            out.extend_from_slice(&[0xd9, s.len() as u8]);
        }
        out.extend_from_slice(s.as_bytes());
    }
    fn number(out: &mut Vec<u8>, n: u64) {
        out.push(0xcf);
        out.extend_from_slice(&n.to_be_bytes());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    let texts = [
        ("name", "e2e.request"),
        ("resource", resource),
        ("service", "keyplane-e2e"),
        ("type", "web"),
    ];
    let numbers = [
        ("trace_id", trace_id),
        ("span_id", trace_id + 1),
        ("parent_id", 0),
        ("start", now),
        ("duration", 1_000_000),
        ("error", 0),
    ];
    // [[span]]: an array of traces, each an array of spans, each a map.
    let mut out = vec![0x91, 0x91, 0x80 | (texts.len() + numbers.len()) as u8];
    for (key, value) in texts {
        text(&mut out, key);
        text(&mut out, value);
    }
    for (key, value) in numbers {
        text(&mut out, key);
        number(&mut out, value);
    }
    out
}

/// The agent binary the PyPI package ships, copied out of the shared venv to be made
/// executable (the package's wheel leaves it without the execute bit).
fn serverless_agent(venv: &Path, into: &Path) -> PathBuf {
    let lib = venv.join("lib");
    let site = std::fs::read_dir(&lib)
        .expect("venv lib")
        .filter_map(Result::ok)
        .map(|e| {
            e.path()
                .join("site-packages/datadog_serverless_compat/bin/linux-amd64")
        })
        .find(|p| p.is_dir())
        .expect("datadog_serverless_compat in the venv");
    let binary = into.join("datadog-serverless-compat");
    std::fs::copy(site.join("datadog-serverless-compat"), &binary).expect("copy agent");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    binary
}

#[tokio::test]
async fn datadog_serverless_agent_sends_traces_and_logs_until_its_key_is_revoked() {
    let Some(venv) = clients("python") else {
        return;
    };
    let s = Server::start().await;
    let backend = Backend::start();
    let Some(nginx) = Nginx::start(
        "keyplane.conf",
        &[
            ("KEYPLANE_ADDR", format!("127.0.0.1:{}", s.port)),
            ("BACKEND_ADDR", backend.addr()),
        ],
    )
    .await
    else {
        return;
    };
    let org = org_id(&s, "keyplane");
    let (key_id, key) = s.create_api_key("serverless agent").await;
    let dir = tempfile::tempdir().expect("tempdir");
    // The agent binds ports picked beforehand; another test may take one meanwhile.
    let mut attempts = 0;
    let (agent, trace_port, logs_port) = loop {
        let (trace_port, logs_port) = (free_port(), free_port());
        let mut command = Command::new(serverless_agent(&venv, dir.path()));
        // Azure Spring Apps mode: no cloud metadata server is asked; every intake is nginx.
        command
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", dir.path())
            .env("ASCSVCRT_SPRING__APPLICATION__NAME", "keyplane-e2e")
            .env("DD_API_KEY", &key)
            .env("DD_APM_DD_URL", nginx.url(""))
            .env("DD_APM_PROFILING_DD_URL", nginx.url("/api/v2/profile"))
            .env("DD_APM_RECEIVER_PORT", trace_port.to_string())
            .env("DD_LOGS_ENABLED", "true")
            .env("DD_LOGS_PORT", logs_port.to_string())
            .env("DD_OBSERVABILITY_PIPELINES_WORKER_LOGS_ENABLED", "true")
            .env(
                "DD_OBSERVABILITY_PIPELINES_WORKER_LOGS_URL",
                nginx.url("/api/v2/logs"),
            )
            .env("DD_USE_DOGSTATSD", "false")
            .env("DD_LOG_LEVEL", "info");
        let mut agent = Process::spawn(
            "datadog-serverless-compat",
            command,
            dir.path().join("agent.log"),
        );
        // Something else on a taken port would answer the connect: look at the log again.
        if agent.listens_on(trace_port).await && agent.listens_on(logs_port).await {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if !agent.log().to_ascii_lowercase().contains("address in use") {
                break (agent, trace_port, logs_port);
            }
        }
        attempts += 1;
        assert!(
            attempts < 3,
            "the agent's ports were taken three times:\n{}",
            agent.log()
        );
    };
    let http = reqwest::Client::new();
    let emit = |resource: &'static str, trace_id: u64| {
        let http = http.clone();
        async move {
            let trace = http
                .post(format!("http://127.0.0.1:{trace_port}/v0.4/traces"))
                .header("content-type", "application/msgpack")
                .header("x-datadog-trace-count", "1")
                .body(msgpack_trace(resource, trace_id))
                .send()
                .await
                .expect("send trace");
            assert_eq!(trace.status(), StatusCode::OK);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or_default();
            let log = json!([{"message": resource, "service": "keyplane-e2e", "timestamp": now}]);
            let log = http
                .post(format!("http://127.0.0.1:{logs_port}/v1/input"))
                .json(&log)
                .send()
                .await
                .expect("send log");
            assert_eq!(log.status(), StatusCode::OK);
        }
    };
    let intake = |r: &Recorded| {
        let path = r.uri.split('?').next().unwrap_or_default().to_owned();
        let intake = matches!(path.as_str(), "/api/v0.2/traces" | "/api/v2/logs");
        (r.method == "POST" && intake).then_some(path)
    };

    // A live key: the agent's traces and logs reach the backend, without the key, tagged.
    emit("before-revoke", 1000).await;
    let within = Duration::from_secs(20);
    for path in ["/api/v0.2/traces", "/api/v2/logs"] {
        let got = backend
            .wait_for(path, within, |r| intake(r).as_deref() == Some(path))
            .await;
        assert_eq!(got.header("dd-api-key"), None);
        assert_eq!(got.header("x-scope-orgid"), Some(org.as_str()));
        assert_eq!(got.header("x-keyplane-key-type"), Some("api_key"));
    }
    let logs = backend
        .wait_for("the log", within, |r| r.uri.starts_with("/api/v2/logs"))
        .await;
    assert!(
        logs.body_text().contains("before-revoke"),
        "{}",
        logs.body_text()
    );
    let before = backend.records().iter().filter_map(intake).count();

    // Revoked: the gate answers 403; the agent gives the traces up after its retries and
    // drops the logs batch, and nothing more reaches the backend.
    let (status, _) = s
        .call(Method::DELETE, &format!("/api/v2/api_keys/{key_id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    emit("after-revoke", 2000).await;
    let within = Duration::from_secs(30);
    agent
        .wait_log("returning HTTP error status=403", within)
        .await;
    agent
        .wait_log("permanent error from logs intake: 403", within)
        .await;
    let after: Vec<Recorded> = backend
        .records()
        .into_iter()
        .filter(|r| intake(r).is_some())
        .collect();
    assert_eq!(
        after.len(),
        before,
        "after revocation the backend got {:#?}",
        &after[before..]
    );
}

/// The page: loads the SDK, inits it with the token and proxy from its query, logs one
/// message, then tells the test it did.
const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><script src="/datadog-logs.js"></script></head>
<body><p id="state">loading</p><script>
  const q = new URLSearchParams(location.search);
  window.DD_LOGS.init({
    clientToken: q.get("token"),
    site: "datadoghq.com",
    proxy: q.get("proxy"),
    forwardErrorsToLogs: false,
    sessionSampleRate: 100,
    telemetrySampleRate: 0,
  });
  window.DD_LOGS.logger.info(q.get("message"));
  document.getElementById("state").textContent = "logged";
</script></body></html>
"#;

#[tokio::test]
async fn browser_logs_sdk_passes_with_a_client_token_and_is_refused_with_an_api_key() {
    if !crate::browser::available() {
        return;
    }
    let Some(npm) = clients("npm") else {
        return;
    };
    let bundle =
        std::fs::read(npm.join("node_modules/@datadog/browser-logs/bundle/datadog-logs.js"))
            .expect("SDK bundle");
    let s = Server::start().await;
    let backend = Backend::start();
    let Some(nginx) = Nginx::start(
        "keyplane.conf",
        &[
            ("KEYPLANE_ADDR", format!("127.0.0.1:{}", s.port)),
            ("BACKEND_ADDR", backend.addr()),
        ],
    )
    .await
    else {
        return;
    };
    let site = Backend::serving(vec![
        (
            "/".to_owned(),
            "text/html; charset=utf-8",
            PAGE.as_bytes().to_vec(),
        ),
        (
            "/datadog-logs.js".to_owned(),
            "application/javascript",
            bundle,
        ),
    ]);
    let body = json!({"data": {"type": "client_tokens", "attributes": {"name": "web shop"}}});
    let (status, token) = s
        .call(Method::POST, "/api/v2/client_tokens", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    let token = token["data"]["attributes"]["key"]
        .as_str()
        .expect("token")
        .to_owned();
    let org = org_id(&s, "keyplane");

    let browser = Browser::launch(LAPTOP).await;
    let c = browser.client.clone();
    // Logs are batched; leaving the page makes the SDK send the batch at once (sendBeacon).
    let log_and_leave = |credential: String, message: &'static str| {
        let c = c.clone();
        let url = format!(
            "http://127.0.0.1:{}/?token={credential}&message={message}&proxy={}",
            site.port,
            form_urlencoded::byte_serialize(nginx.url("/browser-intake").as_bytes())
                .collect::<String>()
        );
        async move {
            c.goto(&url).await.expect("open the page");
            crate::browser::until_text(&c, "the SDK logged", |t| t.contains("logged")).await;
            c.goto("about:blank").await.expect("leave the page");
        }
    };

    log_and_leave(token.clone(), "from-a-client-token").await;
    let got = backend
        .wait_for("the SDK's logs", Duration::from_secs(15), |r| {
            r.body_text().contains("from-a-client-token")
        })
        .await;
    assert!(
        got.uri.starts_with("/browser-intake?ddforward="),
        "{}",
        got.uri
    );
    assert_eq!(got.header("x-scope-orgid"), Some(org.as_str()));
    assert_eq!(got.header("x-keyplane-key-type"), Some("client_token"));

    // The same page with an API key: refused at the gate, recorded as exposed.
    log_and_leave(s.creds.api_key.clone(), "from-an-api-key").await;
    let exposed = await_audit(&s, "api_key.exposed").await;
    assert_eq!(exposed.len(), 1, "{exposed:?}");
    let _ = c.close().await;
    drop(browser);
    assert!(
        !backend
            .records()
            .iter()
            .any(|r| r.body_text().contains("from-an-api-key")),
        "an API key's logs reached the backend"
    );
}
