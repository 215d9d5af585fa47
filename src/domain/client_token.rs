//! Client tokens: organization-scoped credentials that browsers may carry (the browser log
//! collector and Real User Monitoring), so they can never manage anything or pass for an API key.

use super::list::{Page, Sort};
use super::name::KeyName;
use super::secret::{KeyDigest, Secret};
use super::time::Micros;
use uuid::Uuid;

/// Every client token starts with this, so no one mistakes one for an API key.
pub const PREFIX: &str = "pub";
const RANDOM_BYTES: usize = 16;

/// A fresh token: `pub` + 32 lowercase hex characters.
pub fn generate() -> Secret {
    Secret::new(format!(
        "{PREFIX}{}",
        Secret::random_hex(RANDOM_BYTES).expose()
    ))
}

/// A client token as stored: digest for lookups, ciphertext to show it again.
#[derive(Debug, Clone)]
pub struct ClientToken {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub digest: KeyDigest,
    pub sealed_key: Vec<u8>,
    pub last4: String,
    pub created_by: Uuid,
    pub modified_by: Option<Uuid>,
    pub created_at: Micros,
    pub modified_at: Micros,
    /// Refused from this instant on; `None`: never.
    pub expires_at: Option<Micros>,
}

#[derive(Debug, Clone)]
pub struct ClientTokenChange {
    pub name: KeyName,
    /// `Some(None)` clears the expiry; `None` leaves it.
    pub expires_at: Option<Option<Micros>>,
    pub modified_by: Uuid,
    pub modified_at: Micros,
}

/// Client tokens sort by the same fields as API keys.
pub use super::api_key::ApiKeySortField as ClientTokenSortField;

#[derive(Debug, Clone, Default)]
pub struct ClientTokenFilter {
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    pub created_from: Option<Micros>,
    pub created_to: Option<Micros>,
}

#[derive(Debug, Clone)]
pub struct ClientTokenQuery {
    pub filter: ClientTokenFilter,
    pub sort: Sort<ClientTokenSortField>,
    pub page: Page,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_pub_and_32_lowercase_hex() {
        let token = generate();
        let text = token.expose();
        assert_eq!(text.len(), 35);
        assert!(text.starts_with("pub"));
        assert!(text[3..]
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        assert_ne!(text, generate().expose());
    }
}
