use super::list::{Page, Sort};
use super::permission;
use super::secret::KeyDigest;
use super::time::Micros;
use crate::error::Error;
use uuid::Uuid;

/// Datadog's advertised `meta.max_allowed_per_user`, enforced per owner.
pub const MAX_PER_USER: u64 = 1000;
const MAX_SCOPES: usize = 200;
const MAX_SCOPE_CHARS: usize = 100;

/// An application key as stored. Its owner is fixed for life: no call moves it.
#[derive(Debug, Clone)]
pub struct ApplicationKey {
    pub id: Uuid,
    pub org_id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub digest: KeyDigest,
    pub sealed_key: Vec<u8>,
    pub last4: String,
    /// `None` = all of the owner's permissions.
    pub scopes: Option<Vec<String>>,
    pub created_at: Micros,
    pub last_used_at: Option<Micros>,
    /// Refused from this instant on; `None`: never.
    pub expires_at: Option<Micros>,
}

/// Scopes as sent: `null` or `[]` (what Terraform sends for "no scopes") mean all of the
/// owner's permissions; a list is kept as given (Datadog echoes it), and each entry must be
/// a permission of the catalog (`domain::permission`).
pub fn parse_scopes(raw: Option<Vec<String>>) -> Result<Option<Vec<String>>, Error> {
    let Some(scopes) = raw.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if scopes.len() > MAX_SCOPES {
        return Err(Error::invalid(format!("at most {MAX_SCOPES} scopes")));
    }
    let unknown: Vec<&str> = scopes
        .iter()
        .filter(|s| !permission::is_known(s))
        .map(|s| truncated(s))
        .collect();
    if !unknown.is_empty() {
        return Err(Error::invalid(format!(
            "Invalid scopes: {}",
            unknown.join(", ")
        )));
    }
    Ok(Some(scopes))
}

/// At most `MAX_SCOPE_CHARS` of an unknown scope go back in the error message.
fn truncated(scope: &str) -> &str {
    match scope.char_indices().nth(MAX_SCOPE_CHARS) {
        Some((at, _)) => &scope[..at],
        None => scope,
    }
}

/// Whether every scope in `scopes` is one of `ceiling`'s.
pub fn within(scopes: &[String], ceiling: &[String]) -> bool {
    scopes.iter().all(|s| ceiling.contains(s))
}

/// A validated change: `None` leaves a field as it is; `scopes: Some(None)` sets them to null.
#[derive(Debug, Clone, Default)]
pub struct ApplicationKeyChange {
    pub name: Option<super::name::KeyName>,
    pub scopes: Option<Option<Vec<String>>>,
    /// `Some(None)` clears the expiry.
    pub expires_at: Option<Option<Micros>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationKeySortField {
    CreatedAt,
    Last4,
    Name,
}

impl ApplicationKeySortField {
    pub fn parse(field: &str) -> Option<Self> {
        match field.to_ascii_lowercase().as_str() {
            "created_at" => Some(Self::CreatedAt),
            "last4" => Some(Self::Last4),
            "name" => Some(Self::Name),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ApplicationKeyFilter {
    pub name_contains: Option<String>,
    pub created_from: Option<Micros>,
    pub created_to: Option<Micros>,
    pub owner_id: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub struct ApplicationKeyQuery {
    pub filter: ApplicationKeyFilter,
    pub sort: Sort<ApplicationKeySortField>,
    pub page: Page,
}
