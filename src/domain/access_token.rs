//! Personal and service-account access tokens: their format, lifetimes and scopes.
//!
//! A token reads `ddpat_<alias>_<secret><checksum>` (`ddsat_` for service accounts): the
//! alias is the token id's UUID in base62, so a presented token names its own row; the
//! checksum is the CRC32 of everything before it, as GitHub's tokens carry, so a mistyped or
//! truncated token is refused before any lookup and secret scanners can verify a match.

use super::application_key::parse_scopes;
use super::list::{Page, Sort};
use super::secret::{KeyDigest, Secret};
use super::time::Micros;
use crate::error::Error;
use rand::rngs::OsRng;
use rand::Rng;
use uuid::Uuid;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ALIAS_CHARS: usize = 22;
const RANDOM_CHARS: usize = 30;
const CHECKSUM_CHARS: usize = 6;
const PREFIX_CHARS: usize = 6;
/// `ddpat_` + alias + `_` + random + checksum: 65 characters, as Datadog's tokens.
pub const TOKEN_CHARS: usize = PREFIX_CHARS + ALIAS_CHARS + 1 + RANDOM_CHARS + CHECKSUM_CHARS;

const HOUR: Micros = 3_600 * 1_000_000;
const DAY: Micros = 24 * HOUR;
/// A personal token lives at least a day (Datadog: "at least 24 hours in the future").
pub const PAT_MIN_LIFETIME: Micros = DAY;
/// Neither kind lives longer than a year from its creation.
pub const MAX_LIFETIME: Micros = 365 * DAY;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A person's token (`ddpat_`).
    Personal,
    /// A service account's token (`ddsat_`).
    ServiceAccount,
}

impl TokenKind {
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Personal => "ddpat_",
            TokenKind::ServiceAccount => "ddsat_",
        }
    }

    /// The stored name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Personal => "personal",
            TokenKind::ServiceAccount => "service_account",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [TokenKind::Personal, TokenKind::ServiceAccount]
            .into_iter()
            .find(|k| k.as_str() == text)
    }

    fn of_prefix(token: &str) -> Option<Self> {
        [TokenKind::Personal, TokenKind::ServiceAccount]
            .into_iter()
            .find(|k| token.starts_with(k.prefix()))
    }
}

/// Whether a presented credential is shaped as a token at all (the prefix), so that the
/// application-key header can carry either.
pub fn looks_like_token(presented: &str) -> bool {
    TokenKind::of_prefix(presented).is_some()
}

fn base62(mut value: u128, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    out.into_iter().map(char::from).collect()
}

fn base62_value(text: &str) -> Option<u128> {
    text.bytes().try_fold(0u128, |acc, b| {
        let digit = BASE62.iter().position(|c| *c == b)? as u128;
        acc.checked_mul(62)?.checked_add(digit)
    })
}

/// The token id in base62, 22 characters (Datadog's alias, and a PAT's `public_portion`).
pub fn alias(id: Uuid) -> String {
    base62(id.as_u128(), ALIAS_CHARS)
}

/// What Datadog shows of a token after creation: the alias, prefixed for service accounts
/// (as recorded: PATs carry the bare alias, SATs `ddsat_` + alias).
pub fn public_portion(kind: TokenKind, id: Uuid) -> String {
    match kind {
        TokenKind::Personal => alias(id),
        TokenKind::ServiceAccount => format!("{}{}", kind.prefix(), alias(id)),
    }
}

fn checksum(body: &str) -> String {
    base62(u128::from(crc32fast::hash(body.as_bytes())), CHECKSUM_CHARS)
}

/// A new token for id `id`: 30 random base62 characters (178 bits) after the alias.
pub fn generate(kind: TokenKind, id: Uuid) -> Secret {
    let random: String = (0..RANDOM_CHARS)
        .map(|_| char::from(BASE62[OsRng.gen_range(0..BASE62.len())]))
        .collect();
    let body = format!("{}{}_{random}", kind.prefix(), alias(id));
    let sum = checksum(&body);
    Secret::new(body + &sum)
}

/// The kind and id a presented token names, if it is well formed and its checksum holds;
/// `None` for anything else, without touching any store.
pub fn parse(presented: &str) -> Option<(TokenKind, Uuid)> {
    if presented.len() != TOKEN_CHARS || !presented.is_ascii() {
        return None;
    }
    let kind = TokenKind::of_prefix(presented)?;
    let (body, sum) = presented.split_at(TOKEN_CHARS - CHECKSUM_CHARS);
    let alias_part = &body[PREFIX_CHARS..PREFIX_CHARS + ALIAS_CHARS];
    let random = &body[PREFIX_CHARS + ALIAS_CHARS + 1..];
    if body.as_bytes()[PREFIX_CHARS + ALIAS_CHARS] != b'_'
        || !random.bytes().all(|b| b.is_ascii_alphanumeric())
        || checksum(body) != sum
    {
        return None;
    }
    Some((kind, Uuid::from_u128(base62_value(alias_part)?)))
}

/// A token as stored: the secret only as its digest (a token is never shown again).
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub id: Uuid,
    pub org_id: Uuid,
    pub owner_id: Uuid,
    pub kind: TokenKind,
    pub name: String,
    pub digest: KeyDigest,
    pub scopes: Vec<String>,
    pub created_at: Micros,
    /// `None`: never (service-account tokens only).
    pub expires_at: Option<Micros>,
    pub modified_at: Option<Micros>,
    pub last_used_at: Option<Micros>,
}

impl AccessToken {
    /// Expired from the first microsecond of `expires_at` on.
    pub fn expired_at(&self, now: Micros) -> bool {
        expired(self.expires_at, now)
    }
}

pub fn expired(expires_at: Option<Micros>, now: Micros) -> bool {
    expires_at.is_some_and(|at| now >= at)
}

/// A token's scopes as sent: required, at least one, each a permission keyplane knows
/// (the same list application keys are checked against).
pub fn parse_token_scopes(raw: Option<Vec<String>>) -> Result<Vec<String>, Error> {
    match parse_scopes(raw)? {
        Some(scopes) => Ok(scopes),
        None => Err(Error::invalid("scopes must list at least one scope")),
    }
}

/// The expiry of a new token created at `now`: required for personal tokens (a day to a
/// year ahead), optional for service-account tokens (at most a year ahead).
pub fn parse_expiry(
    kind: TokenKind,
    expires_at: Option<Micros>,
    now: Micros,
) -> Result<Option<Micros>, Error> {
    let Some(at) = expires_at else {
        return match kind {
            TokenKind::Personal => Err(Error::invalid("expires_at is required")),
            TokenKind::ServiceAccount => Ok(None),
        };
    };
    if kind == TokenKind::Personal && at < now + PAT_MIN_LIFETIME {
        return Err(Error::invalid(
            "expires_at must be at least 24 hours in the future",
        ));
    }
    if at <= now {
        return Err(Error::invalid("expires_at must be in the future"));
    }
    if at > now + MAX_LIFETIME {
        return Err(Error::invalid(
            "expires_at must be at most 365 days in the future",
        ));
    }
    Ok(Some(at))
}

/// A validated change; `None` leaves a field as it is. The expiry never changes.
#[derive(Debug, Clone, Default)]
pub struct AccessTokenChange {
    pub name: Option<super::name::KeyName>,
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessTokenSortField {
    Name,
    CreatedAt,
    ExpiresAt,
    LastUsedAt,
}

impl AccessTokenSortField {
    pub fn parse(field: &str) -> Option<Self> {
        match field {
            "name" => Some(Self::Name),
            "created_at" => Some(Self::CreatedAt),
            "expires_at" => Some(Self::ExpiresAt),
            "last_used_at" => Some(Self::LastUsedAt),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct AccessTokenFilter {
    pub name_contains: Option<String>,
    /// Tokens of any of these owners (empty: every owner).
    pub owners: Vec<Uuid>,
    pub kind: Option<TokenKind>,
}

#[derive(Debug, Clone)]
pub struct AccessTokenQuery {
    pub filter: AccessTokenFilter,
    pub sort: Sort<AccessTokenSortField>,
    pub page: Page,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_is_the_uuid_in_base62_as_recorded() {
        let id = Uuid::parse_str("da1bd5f8-847b-4aec-a33d-11b04ebde244").unwrap();
        assert_eq!(alias(id), "6dZ2zcpumTdlnHIgx2SlHA");
        let id = Uuid::parse_str("0abefcae-90ed-4670-94ab-7cea6ca9fb6f").unwrap();
        assert_eq!(alias(id), "0KHCgRdjSyb8EMXtz1E5Cp");
        assert_eq!(alias(Uuid::max()).len(), ALIAS_CHARS);
    }

    #[test]
    fn a_generated_token_names_its_id_and_kind() {
        let id = Uuid::new_v4();
        for kind in [TokenKind::Personal, TokenKind::ServiceAccount] {
            let token = generate(kind, id);
            assert_eq!(token.expose().len(), 65);
            assert!(token.expose().starts_with(kind.prefix()));
            assert_eq!(parse(token.expose()), Some((kind, id)));
        }
    }

    #[test]
    fn mistyped_or_malformed_tokens_are_refused() {
        let id = Uuid::new_v4();
        let token = generate(TokenKind::Personal, id).expose().to_owned();
        // Every single-character substitution breaks the checksum or the shape.
        for at in PREFIX_CHARS..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(bytes).unwrap();
            assert_eq!(parse(&typo), None, "{typo}");
        }
        assert_eq!(parse(&token[..64]), None);
        assert_eq!(parse(&format!("{token}x")), None);
        assert_eq!(parse(&token.replacen("ddpat_", "ddxat_", 1)), None);
        assert_eq!(parse(&"é".repeat(33)), None);
        // An alias above 2^128 is not a UUID.
        let body = format!("ddpat_{}_{}", "z".repeat(22), "a".repeat(30));
        assert_eq!(parse(&format!("{body}{}", checksum(&body))), None);
    }

    #[test]
    fn expiry_rules() {
        let now = 1_000_000_000_000;
        let pat = TokenKind::Personal;
        let sat = TokenKind::ServiceAccount;
        assert!(parse_expiry(pat, None, now).is_err());
        assert!(parse_expiry(pat, Some(now + DAY - 1), now).is_err());
        assert_eq!(
            parse_expiry(pat, Some(now + DAY), now).unwrap(),
            Some(now + DAY)
        );
        assert!(parse_expiry(pat, Some(now + MAX_LIFETIME + 1), now).is_err());
        assert!(parse_expiry(pat, Some(now + MAX_LIFETIME), now).is_ok());
        assert_eq!(parse_expiry(sat, None, now).unwrap(), None);
        assert!(parse_expiry(sat, Some(now + HOUR), now).is_ok());
        assert!(parse_expiry(sat, Some(now), now).is_err());
        assert!(parse_expiry(sat, Some(now + MAX_LIFETIME + 1), now).is_err());
        assert!(!expired(Some(now + 1), now));
        assert!(expired(Some(now), now));
        assert!(!expired(None, now));
    }

    #[test]
    fn scopes_are_required() {
        assert!(parse_token_scopes(None).is_err());
        assert!(parse_token_scopes(Some(vec![])).is_err());
        assert!(parse_token_scopes(Some(vec!["nope".into()])).is_err());
    }
}
