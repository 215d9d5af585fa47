//! Datadog API v1: thin translations onto the same use cases as v2. Keys are named by
//! their value in paths, creates answer 200 and deletes answer 200 with the deleted object.

pub mod api_keys;
pub mod application_keys;
pub mod validate;

use crate::domain::name::KeyName;
use crate::error::Result;
use serde::Deserialize;

/// `{"name": "…"}`, the body of every v1 create and update.
#[derive(Deserialize)]
pub struct NameBody {
    name: Option<String>,
}

impl NameBody {
    pub fn name(&self) -> Result<KeyName> {
        KeyName::required(self.name.as_deref())
    }
}

/// v1's creation time format: `2019-08-02 15:31:07`.
fn created(micros: i64) -> String {
    let text = crate::domain::time::format(micros);
    format!("{} {}", &text[..10], &text[11..19])
}
