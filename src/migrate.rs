//! `keyplane migrate`: an embedded installation into an empty PostgreSQL database, with a
//! progress bar, and a count of every kind of row on both sides at the end.

use crate::cli::MigrateArgs;
use crate::config::{DATABASE_FILE, MASTER_KEY_FILE};
use crate::domain::audit::AuditKey;
use crate::store::copy::{copy_installation, totals};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

pub async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let database = args.from.join(DATABASE_FILE);
    anyhow::ensure!(
        database.is_file(),
        "{} holds no keyplane database ({} is missing)",
        args.from.display(),
        database.display()
    );
    anyhow::ensure!(
        args.to.starts_with("postgres:") || args.to.starts_with("postgresql:"),
        "--to must be a postgres:// URL"
    );
    // The audit trail is verified and re-keyed under the installation's master key.
    let master_key =
        crate::crypto::load_or_create_master_key(&args.from.join(MASTER_KEY_FILE), false)
            .context("reading the installation's master key")?;
    let audit_key = AuditKey::derive(&master_key);
    let from = crate::store::connect(&format!("sqlite://{}", database.display()))
        .await
        .context("opening the embedded installation")?;
    let to = crate::store::connect(&args.to)
        .await
        .context("opening the target database")?;
    let present = to.org_count().await?;
    anyhow::ensure!(
        present == 0,
        "refusing to migrate: the target database already holds {present} organization(s). \
         keyplane migrate copies only into an empty database; create a new one (or drop this one) and run it again"
    );
    let expected = totals(&*from).await?;
    anyhow::ensure!(
        expected.orgs > 0,
        "{} holds no organization: nothing to migrate",
        args.from.display()
    );
    eprintln!(
        "keyplane migrate: copying {} organization(s), {} custom role(s), {} user(s), {} API \
         key(s), {} application key(s), {} client token(s), {} access token(s) and {} audit \
         record(s)",
        expected.orgs,
        expected.roles,
        expected.users,
        expected.api_keys,
        expected.application_keys,
        expected.client_tokens,
        expected.access_tokens,
        expected.audit_records
    );
    let bar = ProgressBar::new(expected.rows());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let copied = copy_installation(&*from, &*to, &audit_key, |n| bar.inc(n)).await;
    bar.finish_and_clear();
    let copied = copied?;
    let landed = totals(&*to).await?;
    anyhow::ensure!(
        landed == expected && copied == expected,
        "the copy is incomplete: expected {expected:?}, the target holds {landed:?}"
    );
    let master_key = args.from.join(MASTER_KEY_FILE);
    println!(
        "Copied {} organization(s), {} custom role(s), {} user(s), {} API key(s), {} application \
         key(s), {} client token(s) and {} access token(s). Console sessions are not copied: \
         users sign in again.",
        landed.orgs,
        landed.roles,
        landed.users,
        landed.api_keys,
        landed.application_keys,
        landed.client_tokens,
        landed.access_tokens
    );
    println!(
        "The keys stay encrypted with the master key of this installation: start every node \
         on the new database with\n\n    keyplane serve --database-url <the --to URL> \
         --master-key-file {}\n\n(copy that file to each node, mode 0600; it never goes into the database).",
        master_key.display()
    );
    Ok(())
}
