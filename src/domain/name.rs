//! Key names. The FAQ: names are unique within the organization and an application key's
//! name cannot be blank; we hold API keys and client tokens to the same rule.
//!
//! "Unique" and "blank" are judged as a person reads the name, not byte-wise: two names that
//! differ only in case, normalization form or compatibility characters are the same name
//! (`unique_name`), a name of only invisible characters is blank, and characters that hide
//! or reorder text (bidi controls, zero-width characters) are refused, so no look-alike can
//! be planted next to a key.

use crate::error::Error;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

pub const MAX_NAME_CHARS: usize = 255;

/// A key name that passed the rules: not blank, at most 255 characters, no control, bidi or
/// zero-width characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName(String);

impl KeyName {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if raw.chars().all(invisible) {
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
        if raw.chars().any(hiding) {
            return Err(Error::invalid(
                "name must not contain bidirectional controls or zero-width characters",
            ));
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

    /// The form compared for uniqueness.
    pub fn unique(&self) -> String {
        unique_name(&self.0)
    }
}

pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// The form two names are compared in for uniqueness (stored as `unique_name`, under a unique
/// index): compatibility-normalized (NFKC, so `ﬁ`/`fi`, full-width letters and NBSP/space
/// match), fully case-folded (`ß`/`ss`, final sigma), and trimmed.
pub fn unique_name(text: &str) -> String {
    let folded = caseless::default_case_fold_str(&text.nfkd().collect::<String>());
    folded.nfkc().collect::<String>().trim().to_owned()
}

/// Shows nothing: format characters and separators (Cf, Zs, Zl, Zp), and whitespace.
fn invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c.general_category(),
            GeneralCategory::Format
                | GeneralCategory::SpaceSeparator
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
        )
}

/// Reorders or hides text: bidirectional controls and zero-width characters.
fn hiding(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
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

    #[test]
    fn invisible_and_hiding_names_are_refused() {
        for name in [
            "\u{3000}",
            "\u{2060}",
            "\u{200b}\u{200b}",
            "\u{00a0}\u{2028}",
        ] {
            assert!(KeyName::parse(name).is_err(), "{name:?}");
        }
        for name in [
            "Prod\u{200b}agent",
            "\u{202e}Prod agent",
            "a\u{2066}b",
            "\u{feff}x",
        ] {
            assert!(KeyName::parse(name).is_err(), "{name:?}");
        }
        assert!(KeyName::parse("Prod\u{00a0}agent").is_ok());
    }

    #[test]
    fn unique_names_fold_case_and_normalization() {
        let same = |a: &str, b: &str| unique_name(a) == unique_name(b);
        assert!(same("Prod agent", "PROD AGENT"));
        assert!(same("Café", "Cafe\u{0301}"));
        assert!(same("Straße", "STRASSE"));
        assert!(same("ΣΑΣ", "σας"));
        assert!(same("Prod\u{00a0}agent", "prod agent"));
        assert!(same("Prod agent ", "prod agent"));
        assert!(
            !same("Prod agent", "Prоd agent"),
            "a homoglyph is another name"
        );
    }
}
