//! What a source yields: users and keys, each with where it came from (a file's line, a
//! source's id) so every report names the row it is about.

use crate::domain::imported_key::KeyKind;
use crate::domain::secret::Secret;
use crate::service::imports::ImportedUser;

#[derive(Debug)]
pub struct Item {
    /// `line 4`, `API key 3f…`: where the report points.
    pub origin: String,
    /// The organization the source names; `None`: the one the command line chose.
    pub org: Option<String>,
    pub body: Body,
}

#[derive(Debug)]
pub enum Body {
    /// A user or service account, with its id in the source (keys name their owner by it).
    User {
        source_id: String,
        user: ImportedUser,
    },
    Key(SourceKey),
    /// A key the source lists without its value (another user's application key, or one
    /// in One-Time Read mode): it cannot come along.
    Unrevealed {
        kind: KeyKind,
        name: String,
    },
    /// A row that could not be read at all.
    Invalid(String),
}

/// Who owns (application keys) or created (the rest) a key, as the source names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    None,
    /// A file's owner email, with the role a user created for it gets.
    Email {
        email: String,
        role: Option<crate::domain::user::Role>,
    },
    /// A user id of the source.
    SourceId(String),
}

#[derive(Debug)]
pub struct SourceKey {
    pub kind: KeyKind,
    pub name: String,
    pub value: Secret,
    pub category: Option<String>,
    pub remote_config_read_enabled: Option<bool>,
    pub scopes: Option<Vec<String>>,
    pub owner: Owner,
    /// RFC 3339, as the source gives it.
    pub expires_at: Option<String>,
}
