//! Leaked credentials: a key or token someone found in public (a repository, a paste, a log)
//! and reported. A report proves nothing about the reporter, so it can only hurt the key it
//! names: the key is flagged, or revoked when its organization chose so.

use super::time::Micros;
use uuid::Uuid;

/// Candidates one report may carry; a scanner with more sends several reports.
pub const MAX_CANDIDATES: usize = 1_000;
/// Longer candidates cannot be a keyplane credential (the longest, a token, is 65 characters);
/// they are skipped without hashing.
pub const MAX_CANDIDATE_LEN: usize = 128;
/// The reporter's `source` (a URL or a sentence) is cut to this many characters.
pub const MAX_SOURCE_LEN: usize = 512;

/// Which kind of credential was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeakKind {
    ApiKey,
    ApplicationKey,
    ClientToken,
    AccessToken,
}

impl LeakKind {
    pub const ALL: [LeakKind; 4] = [
        LeakKind::ApiKey,
        LeakKind::ApplicationKey,
        LeakKind::ClientToken,
        LeakKind::AccessToken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LeakKind::ApiKey => "api_key",
            LeakKind::ApplicationKey => "application_key",
            LeakKind::ClientToken => "client_token",
            LeakKind::AccessToken => "access_token",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A credential the in-memory index found behind a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FoundCredential {
    pub kind: LeakKind,
    pub id: Uuid,
    pub org_id: Uuid,
}

/// The record of a leak: Datadog's `leaked_keys` object, once per credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeakedKey {
    pub id: Uuid,
    pub org_id: Uuid,
    pub kind: LeakKind,
    pub credential_id: Uuid,
    pub date: Micros,
    pub source: Option<String>,
}

/// What an organization has done with a key reported as leaked (org config
/// `leaked_keys_action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakAction {
    /// Flag the key and keep it working: someone must rotate it.
    Flag,
    /// Delete the key at once.
    Revoke,
}

impl LeakAction {
    pub const CHOICES: [&'static str; 2] = ["flag", "revoke"];

    /// Anything but `revoke` flags: a config that cannot be read must not delete keys.
    pub fn from_config(value: &serde_json::Value) -> Self {
        match value.as_str() {
            Some("revoke") => LeakAction::Revoke,
            _ => LeakAction::Flag,
        }
    }
}

/// The reporter's source, trimmed, cut to `MAX_SOURCE_LEN` characters, `None` when blank.
pub fn clean_source(source: Option<&str>) -> Option<String> {
    let source = source?.trim();
    (!source.is_empty()).then(|| source.chars().take(MAX_SOURCE_LEN).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_revoke_revokes() {
        assert_eq!(
            LeakAction::from_config(&json!("revoke")),
            LeakAction::Revoke
        );
        assert_eq!(LeakAction::from_config(&json!("flag")), LeakAction::Flag);
        assert_eq!(LeakAction::from_config(&json!(true)), LeakAction::Flag);
    }

    #[test]
    fn sources_are_trimmed_and_bounded() {
        assert_eq!(clean_source(Some("  ")), None);
        assert_eq!(clean_source(Some(" a ")).as_deref(), Some("a"));
        let long = "é".repeat(MAX_SOURCE_LEN + 5);
        assert_eq!(
            clean_source(Some(&long)).map(|s| s.chars().count()),
            Some(MAX_SOURCE_LEN)
        );
        assert!(LeakKind::ALL
            .iter()
            .all(|k| LeakKind::parse(k.as_str()) == Some(*k)));
    }
}
