//! Native TLS (`--tls-cert` / `--tls-key`): a test CA and server certificates for
//! 127.0.0.1 and localhost are made at test time; clients trust only that CA.

use crate::helpers::{read_creds, Creds};
use datadog_api_client::datadog::Configuration;
use datadog_api_client::datadogV1::api_authentication::AuthenticationAPI;
use datadog_api_client::datadogV2::api_key_management::KeyManagementAPI;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose,
    SerialNumber,
};
use reqwest::StatusCode;
use rustls_pki_types::{CertificateDer, ServerName};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

const BIN: &str = env!("CARGO_BIN_EXE_keyplane");

/// A test CA that signs server certificates.
pub(crate) struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A server certificate and its key, as PEM, and the certificate's DER.
pub(crate) struct Leaf {
    cert_pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
}

impl Ca {
    pub(crate) fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "keyplane test CA");
        let key = KeyPair::generate().expect("CA key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("CA certificate");
        Self { issuer }
    }

    pub(crate) fn pem(&self) -> String {
        self.issuer.pem()
    }

    fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// A certificate for 127.0.0.1 and localhost with the given serial number.
    pub(crate) fn leaf(&self, serial: u64) -> Leaf {
        let mut params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .expect("leaf params");
        params.serial_number = Some(SerialNumber::from(serial));
        let key = KeyPair::generate().expect("leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
        }
    }
}

/// A keyplane process serving HTTPS.
pub(crate) struct TlsServer {
    /// Kept until the server is dropped: the data dir and the PEM files.
    _dir: TempDir,
    child: Child,
    logs: Arc<Mutex<String>>,
    port: u16,
    pub(crate) creds: Creds,
    cert: PathBuf,
    key: PathBuf,
}

impl TlsServer {
    pub(crate) async fn start(leaf: &Leaf, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, &leaf.cert_pem).expect("write cert");
        std::fs::write(&key, &leaf.key_pem).expect("write key");
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .args(args)
            .env("RUST_LOG", "debug")
            .env("KEYPLANE_ONE_TIME_READ", "false")
            .env_remove("KEYPLANE_DATABASE_URL")
            .env_remove("KEYPLANE_SECURE_COOKIES")
            .env_remove("KEYPLANE_MASTER_KEY_FILE")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn keyplane");
        let logs = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut out) = sink.lock() {
                    out.push_str(&line);
                    out.push('\n');
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = loop {
            let out = logs.lock().map(|s| s.clone()).unwrap_or_default();
            let found = out
                .lines()
                .find_map(|l| l.split("keyplane listening on https://").nth(1))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|addr| addr.rsplit(':').next())
                .and_then(|port| port.parse().ok());
            if let Some(port) = found {
                break port;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("keyplane exited with {status}:\n{out}");
            }
            assert!(Instant::now() < deadline, "keyplane did not start:\n{out}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let creds = read_creds(dir.path());
        Self {
            _dir: dir,
            child,
            logs,
            port,
            creds,
            cert,
            key,
        }
    }

    fn logs(&self) -> String {
        self.logs.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits until the log has `needle` `count` times.
    async fn log_count(&self, needle: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.logs().matches(needle).count() < count {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in the log:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn hangup(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .expect("kill -HUP");
        assert!(status.success());
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub(crate) fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.port)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// reqwest (native-tls, as the official client uses) trusting only the test CA.
pub(crate) fn https_client(ca: &Ca) -> reqwest::Client {
    let root = reqwest::Certificate::from_pem(ca.pem().as_bytes()).expect("CA pem");
    reqwest::Client::builder()
        .tls_certs_only([root])
        .build()
        .expect("client")
}

/// A rustls connection to the server offering `alpn`, trusting only the test CA.
async fn tls_connect(ca: &Ca, port: u16, alpn: &[&[u8]]) -> TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der()).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake")
}

fn peer_cert(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .expect("server certificate")
        .clone()
        .into_owned()
}

/// An HTTP/2 connection over TLS (ALPN h2) and its request handle.
async fn h2_connect(
    ca: &Ca,
    port: u16,
) -> (
    h2::client::SendRequest<bytes::Bytes>,
    CertificateDer<'static>,
) {
    let tls = tls_connect(ca, port, &[b"h2"]).await;
    assert_eq!(
        tls.get_ref().1.alpn_protocol(),
        Some(&b"h2"[..]),
        "the server did not choose h2"
    );
    let cert = peer_cert(&tls);
    let (send, conn) = h2::client::handshake(tls).await.expect("h2 handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    (send, cert)
}

/// GET /api/v1/validate over an HTTP/2 connection; the status.
async fn h2_validate(
    send: &mut h2::client::SendRequest<bytes::Bytes>,
    port: u16,
    key: &str,
) -> u16 {
    let request = http::Request::get(format!("https://localhost:{port}/api/v1/validate"))
        .header("dd-api-key", key)
        .body(())
        .expect("request");
    let ready = send.clone().ready().await.expect("h2 ready");
    *send = ready;
    let (response, _) = send.send_request(request, true).expect("send");
    let response = response.await.expect("h2 response");
    let status = response.status().as_u16();
    let mut body = response.into_body();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("body");
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    status
}

#[tokio::test]
async fn https_serves_validate_over_http1_and_http2() {
    let ca = Ca::new();
    let server = TlsServer::start(&ca.leaf(1), &[]).await;
    let client = https_client(&ca);
    for host in ["127.0.0.1", "localhost"] {
        let resp = client
            .get(server.url(host, "/api/v1/validate"))
            .header("DD-API-KEY", &server.creds.api_key)
            .send()
            .await
            .expect("HTTPS request");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.version(), reqwest::Version::HTTP_11);
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(body["valid"], true);
    }
    // The ALPN order: a client offering both gets h2; one offering only http/1.1 gets it.
    let both = tls_connect(&ca, server.port, &[b"h2", b"http/1.1"]).await;
    assert_eq!(both.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let h1 = tls_connect(&ca, server.port, &[b"http/1.1"]).await;
    assert_eq!(h1.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));

    let (mut send, _) = h2_connect(&ca, server.port).await;
    assert_eq!(
        h2_validate(&mut send, server.port, &server.creds.api_key).await,
        200
    );
    assert_eq!(
        h2_validate(&mut send, server.port, "0".repeat(32).as_str()).await,
        403
    );
}

/// The official client with its default `https` protocol variable: only the site name is
/// set. The crate takes a reqwest client (`with_client_and_config`), which is how a caller
/// trusts a private CA; with its own default client the test CA is unknown, and it fails.
#[tokio::test]
async fn official_client_default_https_works_with_the_ca_trusted() {
    let ca = Ca::new();
    let server = TlsServer::start(&ca.leaf(7), &[]).await;
    let mut config = Configuration::new();
    config.server_index = 1;
    config
        .server_variables
        .insert("name".into(), format!("localhost:{}", server.port));
    for (name, key) in [
        ("apiKeyAuth", &server.creds.api_key),
        ("appKeyAuth", &server.creds.app_key),
    ] {
        config.set_auth_key(
            name,
            datadog_api_client::datadog::APIKey {
                key: key.clone(),
                prefix: String::new(),
            },
        );
    }
    assert!(config
        .get_operation_host("v1.validate")
        .starts_with("https://localhost:"));

    let untrusted = AuthenticationAPI::with_config(config.clone());
    assert!(
        untrusted.validate().await.is_err(),
        "a client that does not trust the test CA must fail"
    );

    let client = reqwest_middleware::ClientBuilder::new(https_client(&ca)).build();
    let auth = AuthenticationAPI::with_client_and_config(config.clone(), client.clone());
    let valid = auth.validate().await.expect("validate over HTTPS");
    assert_eq!(valid.valid, Some(true));
    let keys = KeyManagementAPI::with_client_and_config(config, client);
    let listed = keys
        .list_api_keys(Default::default())
        .await
        .expect("list API keys over HTTPS");
    assert_eq!(listed.data.map(|d| d.len()), Some(1));
}

#[tokio::test]
async fn plain_http_to_the_tls_port_fails_and_the_server_stays_up() {
    let ca = Ca::new();
    let mut server = TlsServer::start(&ca.leaf(2), &[]).await;
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let started = Instant::now();
    let result = plain
        .get(format!("http://127.0.0.1:{}/api/v1/validate", server.port))
        .header("DD-API-KEY", &server.creds.api_key)
        .send()
        .await;
    assert!(result.is_err(), "plain HTTP was answered: {result:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "plain HTTP hung for {:?}",
        started.elapsed()
    );
    assert!(server.alive());
    let resp = https_client(&ca)
        .get(server.url("localhost", "/api/v1/validate"))
        .header("DD-API-KEY", &server.creds.api_key)
        .send()
        .await
        .expect("HTTPS after plain HTTP");
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn sighup_reloads_the_certificate_for_new_connections_only() {
    let ca = Ca::new();
    let first = ca.leaf(100);
    let server = TlsServer::start(&first, &[]).await;
    let port = server.port;
    let key = server.creds.api_key.clone();

    let (mut kept, cert) = h2_connect(&ca, port).await;
    assert_eq!(cert, first.der);
    assert_eq!(h2_validate(&mut kept, port, &key).await, 200);

    // A renewal: a new certificate (another serial, another key) in the same files.
    let second = ca.leaf(200);
    assert_ne!(second.der, first.der);
    std::fs::write(&server.key, &second.key_pem).expect("write key");
    std::fs::write(&server.cert, &second.cert_pem).expect("write cert");
    server.hangup();
    server.log_count("TLS certificate reloaded", 1).await;

    let (mut fresh, cert) = h2_connect(&ca, port).await;
    assert_eq!(
        cert, second.der,
        "a new connection must see the new certificate"
    );
    assert_eq!(h2_validate(&mut fresh, port, &key).await, 200);
    // The connection opened before the reload goes on.
    assert_eq!(h2_validate(&mut kept, port, &key).await, 200);

    // A broken certificate file: the reload fails, the certificate in use stays.
    std::fs::write(&server.cert, "-----BEGIN CERTIFICATE-----\nnot base64!\n").expect("write");
    server.hangup();
    server.log_count("TLS reload failed", 1).await;
    let (mut after, cert) = h2_connect(&ca, port).await;
    assert_eq!(
        cert, second.der,
        "a failed reload must keep the certificate in use"
    );
    assert_eq!(h2_validate(&mut after, port, &key).await, 200);
    assert_eq!(h2_validate(&mut kept, port, &key).await, 200);

    // A key that does not match the certificate is refused too.
    std::fs::write(&server.cert, &first.cert_pem).expect("write cert");
    server.hangup();
    server.log_count("TLS reload failed", 2).await;
    let tls = tls_connect(&ca, port, &[b"http/1.1"]).await;
    assert_eq!(peer_cert(&tls), second.der);

    // The log names files and causes, never key material.
    let logs = server.logs();
    let key_body: String = second.key_pem.lines().nth(1).unwrap_or_default().to_owned();
    assert!(!key_body.is_empty() && !logs.contains(&key_body));
    assert!(!logs.contains("PRIVATE KEY"));
}

#[tokio::test]
async fn a_silent_or_stalled_handshake_is_closed_within_the_header_timeout() {
    let ca = Ca::new();
    let mut server = TlsServer::start(&ca.leaf(3), &["--header-read-timeout", "2"]).await;
    // Nothing at all, and the first five bytes of a TLS record (a handshake begun).
    for opening in [&b""[..], &[0x16, 0x03, 0x01, 0x02, 0x00][..]] {
        let mut tcp = TcpStream::connect(("127.0.0.1", server.port))
            .await
            .expect("connect");
        tcp.write_all(opening).await.expect("write");
        let started = Instant::now();
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf)).await;
        let elapsed = started.elapsed();
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "expected a close, got {read:?}"
        );
        assert!(
            elapsed >= Duration::from_millis(1500) && elapsed < Duration::from_secs(4),
            "closed after {elapsed:?}, not within the 2 s header timeout"
        );
    }
    assert!(server.alive());
}

#[tokio::test]
async fn the_session_cookie_is_secure_under_tls_by_default() {
    let ca = Ca::new();
    let leaf = ca.leaf(4);
    for (args, secure) in [(&[][..], true), (&["--secure-cookies", "false"][..], false)] {
        let server = TlsServer::start(&leaf, args).await;
        let resp = https_client(&ca)
            .post(server.url("localhost", "/api/console/session"))
            .json(&serde_json::json!({
                "email": server.creds.email,
                "password": server.creds.password,
            }))
            .send()
            .await
            .expect("sign in");
        assert_eq!(resp.status(), StatusCode::CREATED);
        let cookie = resp
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .expect("set-cookie")
            .to_owned();
        assert_eq!(cookie.starts_with("__Host-"), secure, "{cookie}");
        assert_eq!(cookie.contains("; Secure"), secure, "{cookie}");
    }
}

/// Plain HTTP keeps its behaviour: `Secure` off by default, `--secure-cookies` alone on.
#[tokio::test]
async fn plain_http_keeps_secure_cookies_off_unless_asked() {
    for (args, secure) in [(&[][..], false), (&["--secure-cookies"][..], true)] {
        let server = crate::helpers::Server::start_with(args).await;
        let console = server.sign_in().await;
        assert_eq!(
            console.cookie.starts_with("__Host-"),
            secure,
            "{args:?}: {}",
            console.cookie
        );
    }
}

/// `--tls-cert` and `--tls-key` go together, and files that do not parse stop the start.
#[tokio::test]
async fn tls_flags_need_each_other_and_valid_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let leaf = Ca::new().leaf(5);
    std::fs::write(&cert, &leaf.cert_pem).expect("write cert");
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .expect("write key");
    let run = |args: &[&std::ffi::OsStr]| {
        Command::new(BIN)
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(args)
            .env_remove("KEYPLANE_TLS_CERT")
            .env_remove("KEYPLANE_TLS_KEY")
            .output()
            .expect("run keyplane")
    };
    let alone = run(&["--tls-cert".as_ref(), cert.as_os_str()]);
    assert!(!alone.status.success());
    assert!(String::from_utf8_lossy(&alone.stderr).contains("--tls-key"));
    let bad = run(&[
        "--tls-cert".as_ref(),
        cert.as_os_str(),
        "--tls-key".as_ref(),
        key.as_os_str(),
    ]);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("TLS"), "{stderr}");
    assert!(!dir.path().join("data").join("initial-credentials").exists());
}
