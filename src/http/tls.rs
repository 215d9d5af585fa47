//! Native TLS: the certificate and key of `--tls-cert` / `--tls-key`, reloaded on SIGHUP.
//!
//! Each new connection takes the configuration current when it is accepted; a reload swaps
//! it for the connections that follow, and the ones already open keep theirs. A reload that
//! cannot read or parse the files keeps the configuration in use.

use rustls::ServerConfig;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio_rustls::TlsAcceptor;

/// What a TLS connection may negotiate, in the server's order of preference.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The TLS configuration in force and the files it comes from.
pub struct Tls {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<ServerConfig>>,
}

impl Tls {
    /// Reads both files; an error names the file and what was wrong, never its contents.
    pub fn load(cert: &Path, key: &Path) -> Result<Arc<Self>, String> {
        let config = server_config(cert, key)?;
        Ok(Arc::new(Self {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            current: RwLock::new(Arc::new(config)),
        }))
    }

    /// An acceptor with the configuration in force now.
    pub fn acceptor(&self) -> TlsAcceptor {
        let config = match self.current.read() {
            Ok(config) => config.clone(),
            // A writer cannot panic while holding the lock (it only swaps an Arc).
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        TlsAcceptor::from(config)
    }

    /// Reads the files again and uses them for new connections; on an error the
    /// configuration in force stays.
    pub fn reload(&self) -> Result<(), String> {
        let config = Arc::new(server_config(&self.cert, &self.key)?);
        match self.current.write() {
            Ok(mut current) => *current = config,
            Err(poisoned) => *poisoned.into_inner() = config,
        }
        Ok(())
    }

    /// The SIGHUP handler. Registered now, before the server announces itself, so a
    /// SIGHUP from then on reloads instead of ending the process.
    pub fn reload_on_sighup(
        self: Arc<Self>,
    ) -> std::io::Result<impl std::future::Future<Output = ()>> {
        let hangups: Signal = signal(SignalKind::hangup())?;
        Ok(async move {
            let mut hangups = hangups;
            while hangups.recv().await.is_some() {
                match self.reload() {
                    Ok(()) => tracing::info!(
                        cert = %self.cert.display(),
                        key = %self.key.display(),
                        "SIGHUP: TLS certificate reloaded; new connections use it"
                    ),
                    Err(err) => tracing::error!(
                        error = %err,
                        "SIGHUP: TLS reload failed; keeping the certificate in use"
                    ),
                }
            }
        })
    }
}

/// A rustls server configuration from a PEM certificate chain and a PEM private key.
fn server_config(cert: &Path, key: &Path) -> Result<ServerConfig, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|err| format!("TLS certificate {}: {}", cert.display(), describe(&err)))?;
    if chain.is_empty() {
        return Err(format!(
            "TLS certificate {}: no CERTIFICATE in the file",
            cert.display()
        ));
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|err| format!("TLS key {}: {}", key.display(), describe(&err)))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("TLS: {err}"))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|err| {
            format!(
                "TLS certificate {} with key {}: {err}",
                cert.display(),
                key.display()
            )
        })?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

/// A PEM error without the bytes it quotes (a key file's line could be part of the key).
fn describe(err: &pem::Error) -> String {
    match err {
        pem::Error::Io(err) => err.to_string(),
        pem::Error::NoItemsFound => "no PEM section of the expected kind".into(),
        pem::Error::MissingSectionEnd { .. } => "a PEM section has no END line".into(),
        pem::Error::IllegalSectionStart { .. } => "a malformed BEGIN line".into(),
        pem::Error::Base64Decode(_) => "invalid base64 in a PEM section".into(),
        _ => "not valid PEM".into(),
    }
}
