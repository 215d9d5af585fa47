//! Encryption at rest for key secrets: AES-256-GCM under the installation's master key, and
//! the audit trail's MAC key derived from it. Every node of a deployment is given the same
//! master key file.

use crate::domain::audit::AuditKey;
use crate::domain::secret::Secret;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::{bail, Context};
use rand::rngs::OsRng;
use rand::RngCore;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use uuid::Uuid;

const NONCE_LEN: usize = 12;

/// Seals and opens key secrets. The key id is bound as associated data, so a ciphertext
/// copied onto another row does not open.
#[derive(Clone)]
pub struct Vault {
    cipher: Aes256Gcm,
    audit: AuditKey,
}

impl Vault {
    pub fn new(master_key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(master_key.into()),
            audit: AuditKey::derive(master_key),
        }
    }

    /// The key of the audit trail's MACs.
    pub fn audit_key(&self) -> &AuditKey {
        &self.audit
    }

    pub fn seal(&self, id: Uuid, secret: &Secret) -> anyhow::Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: secret.expose().as_bytes(),
            aad: id.as_bytes(),
        };
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| anyhow::anyhow!("encryption failed"))?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    pub fn open(&self, id: Uuid, sealed: &[u8]) -> anyhow::Result<Secret> {
        if sealed.len() < NONCE_LEN {
            bail!("sealed key of {id} is truncated");
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("key {id} does not open with this master key"))?;
        Ok(Secret::new(
            String::from_utf8(plain).context("sealed key is not UTF-8")?,
        ))
    }
}

/// Reads the master key (64 hex characters), creating it with mode 0600 when `create` is set
/// and the file does not exist yet.
pub fn load_or_create_master_key(path: &Path, create: bool) -> anyhow::Result<[u8; 32]> {
    if !path.exists() {
        if !create {
            bail!("master key file {} does not exist", path.display());
        }
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        // Written aside and linked into place, so a crash never leaves a partial key file
        // (which every later start would refuse); linking fails if another process won.
        let mut suffix = [0u8; 8];
        OsRng.fill_bytes(&mut suffix);
        let aside = path.with_extension(format!("tmp-{}", hex::encode(suffix)));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&aside)
            .with_context(|| format!("creating master key file {}", aside.display()))?;
        writeln!(file, "{}", hex::encode(key))?;
        file.sync_all()?;
        let linked = std::fs::hard_link(&aside, path);
        let _ = std::fs::remove_file(&aside);
        match linked {
            Ok(()) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::File::open(dir)?.sync_all()?;
                }
                return Ok(key);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("creating master key file {}", path.display()))
            }
        }
    }
    refuse_shared(path, "master key file")?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading master key file {}", path.display()))?;
    let bytes = hex::decode(text.trim())
        .ok()
        .filter(|b| b.len() == 32)
        .with_context(|| {
            format!(
                "master key file {} must hold 64 hexadecimal characters",
                path.display()
            )
        })?;
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes);
    Ok(key)
}

/// Refuses a secret file (`what`) its group or others can read: a master key others can
/// read is every key in plaintext, so it is refused, not warned about.
pub fn refuse_shared(path: &Path, what: &str) -> anyhow::Result<()> {
    let mode = std::fs::metadata(path)
        .with_context(|| format!("reading {what} {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        bail!(
            "{what} {} is readable by its group or others (mode {:04o}); \
             restrict it with `chmod 600 {}`",
            path.display(),
            mode & 0o7777,
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trips_and_binds_the_id() {
        let vault = Vault::new(&[7u8; 32]);
        let id = Uuid::new_v4();
        let secret = Secret::new("0123456789abcdef0123456789abcdef".into());
        let sealed = vault.seal(id, &secret).expect("seal");
        assert!(!sealed.windows(8).any(|w| w == b"01234567"));
        assert_eq!(vault.open(id, &sealed).expect("open"), secret);
        assert!(vault.open(Uuid::new_v4(), &sealed).is_err());
        assert!(Vault::new(&[8u8; 32]).open(id, &sealed).is_err());
    }

    #[test]
    fn master_key_file_is_created_0600_and_reread() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        assert!(load_or_create_master_key(&path, false).is_err());
        let key = load_or_create_master_key(&path, true).expect("create");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load_or_create_master_key(&path, false).expect("read"), key);
        std::fs::write(&path, "nothex").expect("write");
        assert!(load_or_create_master_key(&path, false).is_err());
        std::fs::write(&path, hex::encode(key)).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let refused = load_or_create_master_key(&path, false).expect_err("group-readable");
        assert!(refused.to_string().contains("chmod 600"), "{refused}");
    }
}
