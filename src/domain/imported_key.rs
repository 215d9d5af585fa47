//! Keys brought from another installation (`keyplane import`): their kinds and the shapes
//! their values must have. A value is kept as given, so it is checked, never rewritten.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyKind {
    ApiKey,
    ApplicationKey,
    ClientToken,
}

impl KeyKind {
    pub const ALL: [KeyKind; 3] = [
        KeyKind::ApiKey,
        KeyKind::ApplicationKey,
        KeyKind::ClientToken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::ApiKey => "api_key",
            KeyKind::ApplicationKey => "application_key",
            KeyKind::ClientToken => "client_token",
        }
    }

    /// The kind a file names: `api_key`, `application_key`, `client_token` (a hyphen or
    /// a trailing `s` is forgiven, and `app_key`, as people write them).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_lowercase().replace('-', "_");
        match text.trim_end_matches('s') {
            "api_key" => Some(KeyKind::ApiKey),
            "application_key" | "app_key" => Some(KeyKind::ApplicationKey),
            "client_token" => Some(KeyKind::ClientToken),
            _ => None,
        }
    }

    /// Whether `value` has the shape keys of this kind have: API keys 32 hex characters,
    /// application keys 40 hex characters or `ddapp_` and 34 letters, digits or `_`, client
    /// tokens `pub` and 32 hex characters. Anything else is no key an agent could be sending.
    pub fn accepts(self, value: &str) -> bool {
        let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
        match self {
            KeyKind::ApiKey => hex(value, 32),
            KeyKind::ApplicationKey => {
                hex(value, 40)
                    || value.strip_prefix("ddapp_").is_some_and(|rest| {
                        rest.len() == 34
                            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    })
            }
            KeyKind::ClientToken => value
                .strip_prefix(super::client_token::PREFIX)
                .is_some_and(|rest| hex(rest, 32)),
        }
    }

    /// What the shape must be, for the report of a value that does not have it.
    pub fn expected_shape(self) -> &'static str {
        match self {
            KeyKind::ApiKey => "32 hexadecimal characters",
            KeyKind::ApplicationKey => {
                "40 hexadecimal characters, or ddapp_ and 34 letters, digits or _"
            }
            KeyKind::ClientToken => "pub and 32 hexadecimal characters",
        }
    }

    /// The plural, for the summary.
    pub fn label(self) -> &'static str {
        match self {
            KeyKind::ApiKey => "API keys",
            KeyKind::ApplicationKey => "application keys",
            KeyKind::ClientToken => "client tokens",
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::KeyKind::*;
    use super::*;

    #[test]
    fn values_must_have_their_kinds_shape() {
        let api = "0123456789abcdef0123456789ABCDEF";
        assert!(ApiKey.accepts(api));
        assert!(!ApiKey.accepts(&api[1..]));
        assert!(!ApiKey.accepts(&format!("{api}0")));
        assert!(!ApiKey.accepts("g123456789abcdef0123456789abcdef"));
        let app = format!("{api}01234567");
        assert!(ApplicationKey.accepts(&app));
        assert!(!ApplicationKey.accepts(api));
        assert!(ApplicationKey.accepts("ddapp_abcdefghijklmnopqrstuvwxyz_1234567"));
        assert!(!ApplicationKey.accepts("ddapp_abcdefghijklmnopqrstuvwxyz_123456"));
        assert!(!ApplicationKey.accepts("ddapp_abcdefghijklmnopqrstuvwxyz-1234567"));
        assert!(ClientToken.accepts(&format!("pub{api}")));
        assert!(!ClientToken.accepts(api));
        assert!(!ClientToken.accepts(&format!("pub{api}0")));
    }

    #[test]
    fn kinds_parse_as_people_write_them() {
        assert_eq!(KeyKind::parse("api_key"), Some(ApiKey));
        assert_eq!(KeyKind::parse("API-Keys"), Some(ApiKey));
        assert_eq!(KeyKind::parse("app_key"), Some(ApplicationKey));
        assert_eq!(KeyKind::parse("application_keys"), Some(ApplicationKey));
        assert_eq!(KeyKind::parse("client_token"), Some(ClientToken));
        assert_eq!(KeyKind::parse("token"), None);
        for kind in KeyKind::ALL {
            assert_eq!(KeyKind::parse(kind.as_str()), Some(kind));
        }
    }
}
