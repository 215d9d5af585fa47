//! Turning command-line arguments into an opened installation: data dir, master key, store.

use crate::cli::StoreArgs;
use crate::crypto::{load_or_create_master_key, Vault};
use crate::service::{Limits, Services};
use anyhow::Context;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

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

    /// Creates the data dir (0700) if needed, loads the master key and opens the store.
    pub async fn open(&self, limits: Limits) -> anyhow::Result<Services> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.data_dir)
            .with_context(|| format!("creating data dir {}", self.data_dir.display()))?;
        let master_key = match &self.master_key_file {
            Some(path) => load_or_create_master_key(path, false)?,
            None => load_or_create_master_key(&self.data_dir.join(MASTER_KEY_FILE), true)?,
        };
        let store = crate::store::connect(&self.database_url()).await?;
        Ok(Services::open(store, Vault::new(&master_key), limits).await?)
    }
}
