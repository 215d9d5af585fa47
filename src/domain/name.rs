//! Key names. The FAQ: names are unique within the organization and an application key's
//! name cannot be blank; we hold API keys and client tokens to the same rule.

use crate::error::Error;

pub const MAX_NAME_CHARS: usize = 255;

/// A key name that passed the rules: not blank, at most 255 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName(String);

impl KeyName {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if raw.trim().is_empty() {
            return Err(Error::invalid("name must not be blank"));
        }
        if raw.chars().count() > MAX_NAME_CHARS {
            return Err(Error::invalid(format!(
                "name must be at most {MAX_NAME_CHARS} characters"
            )));
        }
        if raw.chars().any(char::is_control) {
            return Err(Error::invalid("name must not contain control characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// A name that the request must carry: Datadog's message when it is absent.
    pub fn required(raw: Option<&str>) -> Result<Self, Error> {
        Self::parse(raw.ok_or_else(|| Error::invalid("Required parameter 'name' is missing"))?)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for case-insensitive sorting and filtering.
    pub fn folded(&self) -> String {
        fold(&self.0)
    }
}

pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_blank_long_and_control() {
        assert!(KeyName::parse("").is_err());
        assert!(KeyName::parse(" \t ").is_err());
        assert!(KeyName::parse(&"x".repeat(256)).is_err());
        assert!(KeyName::parse("a\nb").is_err());
        assert_eq!(
            KeyName::parse(&"é".repeat(255))
                .ok()
                .map(|n| n.folded().len()),
            Some(510)
        );
        assert_eq!(
            KeyName::parse("Prod Agent").ok().map(|n| n.folded()),
            Some("prod agent".into())
        );
        assert!(KeyName::required(None).is_err());
    }
}
