//! Users as key management needs them: lookups for `included`, and password hashing.

use super::{unexpected, Services};
use crate::domain::user::User;
use crate::error::{Error, Result};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHasher};
use uuid::Uuid;

/// An argon2id PHC string for `password`.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

impl Services {
    /// The users of the caller's organization with these ids (for `included`).
    pub async fn users_by_ids(&self, org_id: Uuid, ids: &[Uuid]) -> Result<Vec<User>> {
        self.store
            .users_by_ids(org_id, ids)
            .await
            .map_err(unexpected)
    }
}
