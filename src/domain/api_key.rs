use super::list::{Page, Sort};
use super::name::KeyName;
use super::secret::KeyDigest;
use super::time::Micros;
use uuid::Uuid;

pub const DEFAULT_CATEGORY: &str = "default";
pub const MAX_CATEGORY_CHARS: usize = 100;

/// An API key as stored: the secret only as digest and ciphertext.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub digest: KeyDigest,
    pub sealed_key: Vec<u8>,
    pub last4: String,
    pub category: String,
    pub remote_config_read_enabled: bool,
    pub created_by: Uuid,
    pub modified_by: Option<Uuid>,
    pub created_at: Micros,
    pub modified_at: Micros,
    pub date_last_used: Option<Micros>,
    /// Refused from this instant on; `None`: never.
    pub expires_at: Option<Micros>,
}

/// A validated change to an API key. `name` is required by Datadog's PATCH.
#[derive(Debug, Clone)]
pub struct ApiKeyChange {
    pub name: KeyName,
    pub category: Option<String>,
    pub remote_config_read_enabled: Option<bool>,
    /// `Some(None)` clears the expiry; `None` leaves it.
    pub expires_at: Option<Option<Micros>>,
    pub modified_by: Uuid,
    pub modified_at: Micros,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeySortField {
    CreatedAt,
    Last4,
    ModifiedAt,
    Name,
}

impl ApiKeySortField {
    pub fn parse(field: &str) -> Option<Self> {
        match field.to_ascii_lowercase().as_str() {
            "created_at" => Some(Self::CreatedAt),
            "last4" => Some(Self::Last4),
            "modified_at" => Some(Self::ModifiedAt),
            "name" => Some(Self::Name),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ApiKeyFilter {
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    pub created_from: Option<Micros>,
    pub created_to: Option<Micros>,
    pub modified_from: Option<Micros>,
    pub modified_to: Option<Micros>,
    pub remote_config_read_enabled: Option<bool>,
    pub category: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ApiKeyQuery {
    pub filter: ApiKeyFilter,
    pub sort: Sort<ApiKeySortField>,
    pub page: Page,
}
