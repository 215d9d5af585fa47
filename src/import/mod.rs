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
use crate::domain::user::Role;
use crate::service::imports::{ImportedKey, ImportedUser, Outcome, Planned};
use crate::service::Services;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use item::{Body, Item, Owner, SourceKey};
use std::collections::{HashMap, HashSet};
use summary::{Counted, OrgState, Summary};
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
    let mut orgs: Vec<(Org, OrgState)> = run
        .orgs
        .into_values()
        .map(|t| {
            let state = match (t.new, t.stored, t.wanted) {
                (false, _, _) => OrgState::Existing,
                (true, true, _) => OrgState::Created,
                (true, false, true) => OrgState::ToCreate,
                (true, false, false) => OrgState::NotCreated,
            };
            (t.org, state)
        })
        .collect();
    orgs.sort_by(|a, b| a.0.name.cmp(&b.0.name));
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
    /// Organizations by the name the source gave (or the default).
    orgs: HashMap<String, Target>,
    /// Source user id → target user id.
    users: HashMap<String, Uuid>,
    /// (organization, email) → target user id, for file owners.
    emails: HashMap<(Uuid, String), Uuid>,
    planned: HashSet<[u8; 32]>,
    summary: Summary,
}

/// An organization the run writes in: whether the run makes it, and whether it is stored.
struct Target {
    org: Org,
    new: bool,
    stored: bool,
    /// Something is (or, in a dry run, would be) written in it.
    wanted: bool,
}

impl Run<'_> {
    /// The organization a source names (or the default), by the name it is cached under.
    async fn org(&mut self, named: Option<&str>) -> anyhow::Result<(String, Org)> {
        // Under --org-id every item goes to that one organization, whatever it names.
        let name = match self.org_id {
            Some(id) => id.to_string(),
            None => named.unwrap_or(&self.default_org).to_owned(),
        };
        if let Some(target) = self.orgs.get(&name) {
            return Ok((name, target.org.clone()));
        }
        let (org, new) = self
            .services
            .import_target_org(self.org_id, &name, self.one_time_read)
            .await
            .map_err(anyhow::Error::msg)?;
        self.orgs.insert(
            name.clone(),
            Target {
                org: org.clone(),
                new,
                stored: !new,
                wanted: false,
            },
        );
        Ok((name, org))
    }

    /// Stores a new organization before the first write in it, so one whose every row is
    /// refused is never made.
    async fn ensure_stored(&mut self, name: &str) -> anyhow::Result<()> {
        let Some(target) = self.orgs.get_mut(name) else {
            return Ok(());
        };
        target.wanted = true;
        if target.stored || self.dry_run {
            return Ok(());
        }
        self.services
            .create_import_org(&target.org)
            .await
            .map_err(anyhow::Error::msg)?;
        target.stored = true;
        Ok(())
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
                let (name, org) = self.org(item.org.as_deref()).await?;
                // In a new organization every user is written.
                self.ensure_stored(&name).await?;
                let outcome = match self.user(org.id, &user).await {
                    Ok((id, outcome)) => {
                        self.users.insert(source_id, id);
                        outcome
                    }
                    Err(why) => Outcome::Refused(why),
                };
                Ok(self.summary.count(Counted::Users, &outcome))
            }
            Body::Key(key) => {
                let (name, org) = self.org(item.org.as_deref()).await?;
                let kind = key.kind;
                let outcome = self.key(&name, &org, key).await?;
                Ok(self.summary.count(Counted::Keys(kind), &outcome))
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

    /// The owner a file names, created when missing (counted with the users).
    async fn owner_by_email(
        &mut self,
        org: Uuid,
        email: &str,
        role: Option<Role>,
    ) -> Result<Uuid, String> {
        let wanted = ImportedUser {
            email: email.to_owned(),
            name: None,
            title: None,
            service_account: false,
            roles: role.into_iter().collect(),
        };
        let (id, outcome) = self.user(org, &wanted).await?;
        self.summary.count(Counted::Users, &outcome);
        Ok(id)
    }

    /// Plans the key first and writes only what the plan allows: the organization and an
    /// owner come into being only for a key that will be written, so a refused or bad row
    /// leaves nothing behind.
    async fn key(&mut self, org_name: &str, org: &Org, key: SourceKey) -> anyhow::Result<Outcome> {
        let known_owner = match &key.owner {
            Owner::SourceId(id) => self.users.get(id).copied(),
            // Found or created once the key is sure to be written.
            Owner::Email { .. } => Some(Uuid::nil()),
            Owner::None => None,
        };
        let imported = ImportedKey {
            kind: key.kind,
            name: key.name,
            value: key.value,
            category: key.category,
            remote_config_read_enabled: key.remote_config_read_enabled,
            scopes: key.scopes,
            owner: known_owner,
            expires_at: key.expires_at,
        };
        let planned = self
            .services
            .plan_key(org.id, &imported, &mut self.planned)
            .await
            .map_err(anyhow::Error::msg)?;
        let planned = match planned {
            Planned::Done(outcome) => return Ok(outcome),
            Planned::Write(planned) => planned,
        };
        self.ensure_stored(org_name).await?;
        let owner = match &key.owner {
            Owner::Email { email, role } => match self.owner_by_email(org.id, email, *role).await {
                Ok(id) => Some(id),
                Err(why) => return Ok(Outcome::Refused(why)),
            },
            _ => known_owner,
        };
        if self.dry_run {
            return Ok(Outcome::Created { renamed: None });
        }
        let owner = match owner {
            Some(owner) => Some(owner),
            None if imported.kind != KeyKind::ApplicationKey => self
                .services
                .first_admin(org.id)
                .await
                .map_err(anyhow::Error::msg)?,
            None => None,
        };
        self.services
            .write_planned_key(org.id, owner, &planned)
            .await
            .map_err(anyhow::Error::msg)
    }
}
