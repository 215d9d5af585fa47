//! The counts `keyplane import` ends with: created, already present and refused, per kind.

use crate::domain::imported_key::KeyKind;
use crate::domain::org::Org;
use crate::service::imports::Outcome;
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Counted {
    Users,
    Keys(KeyKind),
}

/// What became of an organization the run named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgState {
    Existing,
    Created,
    /// A dry run would create it.
    ToCreate,
    /// Nothing was to be written in it, so it was not made.
    NotCreated,
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    created: u64,
    present: u64,
    refused: u64,
}

#[derive(Debug, Default)]
pub struct Summary {
    tallies: BTreeMap<Counted, Tally>,
    /// Rows that could not be read at all.
    pub invalid: u64,
    /// Keys the source listed without their values.
    pub unrevealed: Vec<(KeyKind, String)>,
}

impl Summary {
    /// Counts an outcome; returns what to report about it, if anything.
    pub fn count(&mut self, what: Counted, outcome: &Outcome) -> Option<String> {
        let tally = self.tallies.entry(what).or_default();
        match outcome {
            Outcome::Created { renamed } => {
                tally.created += 1;
                renamed
                    .as_ref()
                    .map(|name| format!("its name was taken; imported as {name}"))
            }
            Outcome::AlreadyPresent => {
                tally.present += 1;
                None
            }
            Outcome::Refused(why) => {
                tally.refused += 1;
                Some(format!("refused: {why}"))
            }
        }
    }

    pub fn refused(&self) -> u64 {
        self.invalid + self.tallies.values().map(|t| t.refused).sum::<u64>()
    }

    pub fn render(&self, orgs: &[(Org, OrgState)], dry_run: bool) -> String {
        let mut out = String::new();
        let created = if dry_run { "to create" } else { "created" };
        if dry_run {
            out.push_str("Dry run: nothing was written.\n");
        }
        for (org, state) in orgs {
            let _ = match state {
                OrgState::Existing => {
                    writeln!(out, "Organization \"{}\" ({}): existing", org.name, org.id)
                }
                OrgState::Created => {
                    writeln!(out, "Organization \"{}\" ({}): created", org.name, org.id)
                }
                OrgState::ToCreate => writeln!(out, "Organization \"{}\": to be created", org.name),
                OrgState::NotCreated => writeln!(
                    out,
                    "Organization \"{}\": not created (nothing to import into it)",
                    org.name
                ),
            };
        }
        let rows = std::iter::once(("users", Counted::Users))
            .chain(KeyKind::ALL.map(|k| (k.label(), Counted::Keys(k))));
        for (label, what) in rows {
            let t = self.tallies.get(&what).copied().unwrap_or_default();
            let _ = writeln!(
                out,
                "{label}: {} {created}, {} already present, {} refused",
                t.created, t.present, t.refused
            );
        }
        let users = self
            .tallies
            .get(&Counted::Users)
            .copied()
            .unwrap_or_default();
        if users.created > 0 && !dry_run {
            out.push_str(
                "Users the import made are Pending, without a password (service accounts act \
                 at once): `keyplane admin invite EMAIL` prints the console link through which \
                 a user sets one.\n",
            );
        }
        if self.invalid > 0 {
            let _ = writeln!(out, "invalid rows: {} skipped", self.invalid);
        }
        if !self.unrevealed.is_empty() {
            let _ = writeln!(
                out,
                "not revealed by the source: {} key(s), which stay behind (another user's \
                 application keys, or keys in One-Time Read mode; import them with their \
                 owner's key pair, or from a file):",
                self.unrevealed.len()
            );
            for (kind, name) in &self.unrevealed {
                let _ = writeln!(out, "    {kind} {name}");
            }
        }
        out
    }
}
