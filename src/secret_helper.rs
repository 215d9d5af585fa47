//! `keyplane secret-helper`: the Datadog Agent's (and Vector's) `secret_backend_command`.
//! The Agent writes `{"version": "1.0", "secrets": ["h1", …]}` to stdin and reads
//! `{"h1": {"value": "…", "error": null}, …}` from stdout. Each handle names a file in
//! `--state-dir` holding an API key; the helper asks keyplane for that key's current secret
//! (`GET /api/v2/api_keys/self`, authenticated by the key itself, which a previous secret in
//! its grace period still is), writes it back to the file and returns it. So a rotated key
//! reaches every agent at its next secret refresh, and a revoked key reaches none.

use crate::cli::SecretHelperArgs;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The Agent's own default cap on a backend's output; its input is far smaller.
const MAX_INPUT: u64 = 1024 * 1024;

#[derive(Deserialize)]
struct Request {
    version: String,
    secrets: Vec<String>,
}

#[derive(Serialize)]
struct Answer {
    value: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct KeyDocument {
    data: KeyData,
}

#[derive(Deserialize)]
struct KeyData {
    attributes: KeyAttributes,
}

#[derive(Deserialize)]
struct KeyAttributes {
    key: String,
}

pub async fn run(args: SecretHelperArgs) -> anyhow::Result<()> {
    let mut input = String::new();
    std::io::stdin()
        .take(MAX_INPUT)
        .read_to_string(&mut input)
        .context("reading the request from stdin")?;
    let request: Request =
        serde_json::from_str(&input).context("the request on stdin is not the Agent's JSON")?;
    anyhow::ensure!(
        request.version.split('.').next() == Some("1"),
        "unsupported secret backend protocol version {:?} (this helper speaks 1.x)",
        request.version
    );
    let client = client(&args)?;
    let mut answers = BTreeMap::new();
    for handle in request.secrets {
        let answer = match current_secret(&client, &args, &handle).await {
            Ok(value) => Answer {
                value: Some(value),
                error: None,
            },
            Err(err) => Answer {
                value: None,
                error: Some(format!("{err:#}")),
            },
        };
        answers.insert(handle, answer);
    }
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, &answers)?;
    out.flush()?;
    Ok(())
}

fn client(args: &SecretHelperArgs) -> anyhow::Result<reqwest::Client> {
    let mut roots = rustls::RootCertStore::empty();
    use rustls_pki_types::pem::PemObject;
    let certs = rustls_pki_types::CertificateDer::pem_file_iter(&args.ca_file)
        .with_context(|| format!("reading --ca-file {}", args.ca_file.display()))?;
    for cert in certs {
        let cert = cert.with_context(|| format!("a certificate in {}", args.ca_file.display()))?;
        // A bundle may hold certificates rustls cannot use as anchors; the others still count.
        let _ = roots.add(cert);
    }
    anyhow::ensure!(
        !roots.is_empty(),
        "{} holds no usable CA certificate",
        args.ca_file.display()
    );
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(Duration::from_secs(args.timeout))
        .user_agent(concat!(
            "keyplane-secret-helper/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()?)
}

/// The file of `handle`: a plain name in the state directory, never a path out of it.
fn state_file(dir: &Path, handle: &str) -> anyhow::Result<PathBuf> {
    let plain = !handle.is_empty()
        && !handle.starts_with('.')
        && handle
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    anyhow::ensure!(
        plain,
        "handle {handle:?} is not a file name (letters, digits, '.', '_' and '-')"
    );
    Ok(dir.join(handle))
}

/// The key stored for a handle. Like the Agent with its own command, the helper refuses a
/// file that anyone but its owner, the user running the helper, could read or change.
fn stored_key(path: &Path) -> anyhow::Result<String> {
    let meta = std::fs::metadata(path).with_context(|| {
        format!(
            "{} is missing: put the API key there (mode 0600)",
            path.display()
        )
    })?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    anyhow::ensure!(
        meta.uid() == uid,
        "{} is not owned by the user running the helper",
        path.display()
    );
    anyhow::ensure!(
        meta.permissions().mode() & 0o077 == 0,
        "{} must not be readable or writable by group or others (chmod 0600)",
        path.display()
    );
    let key = std::fs::read_to_string(path)?.trim().to_owned();
    anyhow::ensure!(!key.is_empty(), "{} is empty", path.display());
    Ok(key)
}

/// Replaces the stored key in one step (a crash leaves the old or the new one, never half).
fn store_key(path: &Path, key: &str) -> anyhow::Result<()> {
    let fresh = path.with_extension("new");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&fresh)?;
    writeln!(file, "{key}")?;
    file.sync_all()?;
    std::fs::rename(&fresh, path)?;
    Ok(())
}

async fn current_secret(
    client: &reqwest::Client,
    args: &SecretHelperArgs,
    handle: &str,
) -> anyhow::Result<String> {
    let path = state_file(&args.state_dir, handle)?;
    let key = stored_key(&path)?;
    let url = format!("{}/api/v2/api_keys/self", args.url.trim_end_matches('/'));
    let response = client.get(&url).header("DD-API-KEY", &key).send().await;
    let response = match response {
        Ok(response) => response,
        // keyplane out of reach: the key known last still serves until it answers again.
        Err(err) => {
            eprintln!("keyplane secret-helper: {handle}: keyplane unreachable ({err}); returning the stored key");
            return Ok(key);
        }
    };
    let status = response.status();
    if status == reqwest::StatusCode::FORBIDDEN {
        anyhow::bail!(
            "keyplane refused the key in {} (revoked, or its grace period ended): put a live key there",
            path.display()
        );
    }
    if !status.is_success() {
        eprintln!("keyplane secret-helper: {handle}: keyplane answered {status}; returning the stored key");
        return Ok(key);
    }
    let current = response
        .json::<KeyDocument>()
        .await
        .context("keyplane's answer is not an API key")?
        .data
        .attributes
        .key;
    if current != key {
        store_key(&path, &current)
            .with_context(|| format!("storing the new key in {}", path.display()))?;
    }
    Ok(current)
}
