//! `keyplane import`: existing keys come along from Datadog (or a file), their values kept,
//! so agents keep working unchanged. Reads everything first, then writes item by item
//! through the services (sealed, digested, change-logged, audited), with a progress bar and
//! a summary per kind. Exits non-zero when anything was refused.

mod file;
mod item;
mod remote;
mod summary;

use crate::cli::ImportArgs;
use crate::domain::imported_key::KeyKind;
use crate::domain::org::Org;
use crate::service::imports::{check_key, ImportedKey, ImportedUser, Outcome};
use crate::service::Services;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use item::{Body, Item, Owner, SourceKey};
use std::collections::{HashMap, HashSet};
use summary::{Counted, Summary};
use uuid::Uuid;

/// The name of the organization file rows go to when neither they nor `--org` name one.
const DEFAULT_ORG: &str = "keyplane";

pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let (items, source_org) = read_source(&args).await?;
    let services = args
        .store
        .open(crate::app::offline_limits(u64::MAX))
        .await?;
    let mut run = Run {
        services: &services,
        dry_run: args.dry_run,
        one_time_read: args.one_time_read,
        org_id: args.org_id,
        default_org: args
            .org
            .clone()
            .or(source_org)
            .unwrap_or_else(|| DEFAULT_ORG.to_owned()),
        orgs: HashMap::new(),
        users: HashMap::new(),
        emails: HashMap::new(),
        planned: HashSet::new(),
        summary: Summary::default(),
    };
    let bar = ProgressBar::new(items.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} items  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    for item in items {
        let origin = item.origin.clone();
        if let Some(note) = run.import(item).await? {
            bar.suspend(|| eprintln!("{origin}: {note}"));
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let orgs: Vec<(Org, bool)> = run.orgs.into_values().collect();
    print!("{}", run.summary.render(&orgs, args.dry_run));
    let refused = run.summary.refused();
    anyhow::ensure!(
        refused == 0,
        "{refused} item(s) refused or invalid (listed above); nothing else was affected"
    );
    Ok(())
}

async fn read_source(args: &ImportArgs) -> anyhow::Result<(Vec<Item>, Option<String>)> {
    if let Some(path) = &args.file {
        return Ok((file::read(path, args.format)?, None));
    }
    let url = args
        .from_url
        .as_deref()
        .context("give --file or --from-url")?;
    let api_key = args
        .api_key
        .clone()
        .context("--from-url needs --api-key (or DD_API_KEY)")?;
    let app_key = args
        .app_key
        .clone()
        .context("--from-url needs --app-key (or DD_APP_KEY)")?;
    let reading = ProgressBar::new_spinner();
    reading.set_message(format!("reading {url}"));
    let source = remote::read(url, api_key, app_key, || reading.tick()).await;
    reading.finish_and_clear();
    let source = source?;
    Ok((source.items, source.org_name))
}

struct Run<'a> {
    services: &'a Services,
    dry_run: bool,
    one_time_read: bool,
    org_id: Option<Uuid>,
    default_org: String,
    /// Organizations by the name the source gave (or the default), and whether created.
    orgs: HashMap<String, (Org, bool)>,
    /// Source user id → target user id.
    users: HashMap<String, Uuid>,
    /// (organization, email) → target user id, for file owners.
    emails: HashMap<(Uuid, String), Uuid>,
    planned: HashSet<[u8; 32]>,
    summary: Summary,
}

impl Run<'_> {
    async fn org(&mut self, named: Option<&str>) -> anyhow::Result<Org> {
        let name = named.unwrap_or(&self.default_org).to_owned();
        if let Some((org, _)) = self.orgs.get(&name) {
            return Ok(org.clone());
        }
        let found = self
            .services
            .import_target_org(self.org_id, &name, self.one_time_read, self.dry_run)
            .await
            .map_err(anyhow::Error::msg)?;
        let org = found.0.clone();
        self.orgs.insert(name, found);
        Ok(org)
    }

    /// Imports one item; returns what to report about it, if anything.
    async fn import(&mut self, item: Item) -> anyhow::Result<Option<String>> {
        match item.body {
            Body::Invalid(why) => {
                self.summary.invalid += 1;
                Ok(Some(format!("skipped: {why}")))
            }
            Body::Unrevealed { kind, name } => {
                self.summary.unrevealed.push((kind, name));
                Ok(None)
            }
            Body::User { source_id, user } => {
                let org = self.org(item.org.as_deref()).await?;
                match self.user(org.id, &user).await {
                    Ok((id, outcome)) => {
                        self.users.insert(source_id, id);
                        Ok(self.summary.count(Counted::Users, &outcome))
                    }
                    Err(why) => {
                        let refused = Outcome::Refused(why);
                        Ok(self.summary.count(Counted::Users, &refused))
                    }
                }
            }
            Body::Key(key) => {
                let org = self.org(item.org.as_deref()).await?;
                let outcome = self.key(&org, key).await?;
                Ok(self.summary.count(Counted::Keys(outcome.0), &outcome.1))
            }
        }
    }

    async fn user(&mut self, org: Uuid, user: &ImportedUser) -> Result<(Uuid, Outcome), String> {
        let email = user.email.trim().to_lowercase();
        if let Some(id) = self.emails.get(&(org, email.clone())) {
            return Ok((*id, Outcome::AlreadyPresent));
        }
        let (id, outcome) = self
            .services
            .import_user(org, user, self.dry_run)
            .await
            .map_err(|e| e.to_string())?;
        self.emails.insert((org, email), id);
        Ok((id, outcome))
    }

    async fn key(&mut self, org: &Org, key: SourceKey) -> anyhow::Result<(KeyKind, Outcome)> {
        let kind = key.kind;
        let mut imported = ImportedKey {
            kind,
            name: key.name,
            value: key.value,
            category: key.category,
            remote_config_read_enabled: key.remote_config_read_enabled,
            scopes: key.scopes,
            owner: None,
        };
        // The owner comes into being only for a key that will be written: a bad row
        // leaves nothing behind.
        let owner = match &key.owner {
            Owner::SourceId(id) => self.users.get(id).copied(),
            _ => None,
        };
        imported.owner = owner.or(Some(Uuid::nil()));
        if let Err(why) = check_key(&imported) {
            return Ok((kind, Outcome::Refused(why.to_string())));
        }
        imported.owner = owner;
        if let Owner::Email { email, role } = &key.owner {
            let wanted = ImportedUser {
                email: email.clone(),
                name: None,
                title: None,
                service_account: false,
                roles: role.iter().copied().collect(),
            };
            match self.user(org.id, &wanted).await {
                Ok((id, outcome)) => {
                    self.summary.count(Counted::Users, &outcome);
                    imported.owner = Some(id);
                }
                Err(why) => return Ok((kind, Outcome::Refused(why))),
            }
        }
        if imported.owner.is_none() && kind != KeyKind::ApplicationKey {
            imported.owner = self
                .services
                .first_admin(org.id)
                .await
                .map_err(anyhow::Error::msg)?;
        }
        let outcome = self
            .services
            .import_key(org.id, &imported, self.dry_run, &mut self.planned)
            .await
            .map_err(anyhow::Error::msg)?;
        Ok((kind, outcome))
    }
}
