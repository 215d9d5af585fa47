//! Turning command-line arguments into an opened installation: data dir, master key, store.

use crate::cli::StoreArgs;
use crate::crypto::{load_or_create_master_key, Vault};
use crate::service::{Limits, Services};
use anyhow::Context;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const DATABASE_FILE: &str = "keyplane.db";
pub const MASTER_KEY_FILE: &str = "master.key";
pub const CREDENTIALS_FILE: &str = "initial-credentials";

impl StoreArgs {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join(DATABASE_FILE).display()))
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.data_dir.join(CREDENTIALS_FILE)
    }

    /// Creates the data dir (0700) if needed, or tightens it to 0700, loads the master key,
    /// opens the store (its files 0600) and starts the keyed audit chain if it predates it.
    pub async fn open(&self, limits: Limits) -> anyhow::Result<Services> {
        restrict_new_files();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.data_dir)
            .with_context(|| format!("creating data dir {}", self.data_dir.display()))?;
        // DirBuilder's mode applies only to a dir it creates; an operator's may be 0755.
        std::fs::set_permissions(&self.data_dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting data dir {} to 0700", self.data_dir.display()))?;
        let master_key = match &self.master_key_file {
            Some(path) => load_or_create_master_key(path, false)?,
            None => load_or_create_master_key(&self.data_dir.join(MASTER_KEY_FILE), true)?,
        };
        let store = crate::store::connect(&self.database_url()).await?;
        if self.database_url.is_none() {
            restrict_database_files(&self.data_dir.join(DATABASE_FILE))?;
        }
        let services = Services::open(store, Vault::new(&master_key), limits).await?;
        services.seal_audit_chain().await?;
        Ok(services)
    }
}

/// Every file keyplane creates from here on (the SQLite database and its -wal and -shm,
/// initial-credentials, the master key) is the owner's alone: umask 077.
pub fn restrict_new_files() {
    // SAFETY: umask only swaps the process's file-mode mask; it has no memory effects.
    unsafe {
        libc::umask(0o077);
    }
}

/// The database files of an installation created before the umask, or by another tool, may
/// be 0644: they hold password hashes, sealed keys and the audit trail.
pub fn restrict_database_files(database: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", database.display()));
        match std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("restricting {} to 0600", path.display()))
            }
        }
    }
    Ok(())
}
