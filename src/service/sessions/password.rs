//! The argon2id check of a sign-in's password, in memory reused between checks, and the
//! dummy hash an attempt without one is checked against.

use super::throttle::Slot;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use std::sync::OnceLock;
use subtle::ConstantTimeEq;

/// The PHC string an attempt without a password hash (unknown email, a user who never set a
/// password) is checked against, so every attempt does the same argon2id work and answers
/// cannot tell which accounts exist. Its parameters are those `hash_password` uses; no
/// password matches its all-zero output, so it is built, not hashed.
fn dummy_phc() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        format!(
            "$argon2id$v=19$m={},t={},p={}$a2V5cGxhbmUtbm8tc3VjaC11c2Vy${}",
            Params::DEFAULT_M_COST,
            Params::DEFAULT_T_COST,
            Params::DEFAULT_P_COST,
            "A".repeat(43)
        )
    })
}

/// Whether `password` matches `phc`, computed in `memory` (grown to the hash's size once).
/// The crate's own verify allocates its 19 MiB afresh each time, and glibc keeps such
/// blocks per thread arena: RSS grew by that much on many checks, however few ran at once.
fn verify(memory: &mut Vec<Block>, password: &[u8], phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let version = hash
        .version
        .map_or(Ok(Version::default()), Version::try_from);
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(hash.algorithm),
        version,
        Params::try_from(&hash),
    ) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, &mut memory[..blocks])
        .is_ok()
        && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

/// Checks `password` against each candidate's hash (the dummy when there is none) off the
/// async threads, holding `slot` until the work is done; the index of the match.
pub(super) async fn check(mut slot: Slot, password: &str, hashes: Vec<String>) -> Option<usize> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let memory = &mut slot.memory;
        if hashes.is_empty() {
            verify(memory, password.as_bytes(), dummy_phc());
            return None;
        }
        hashes
            .iter()
            .position(|phc| verify(memory, password.as_bytes(), phc))
    })
    .await
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::users::hash_password;

    #[test]
    fn verify_in_reused_memory_agrees_with_the_hasher() {
        let phc = hash_password("correct horse battery").expect("hash");
        let mut memory = Vec::new();
        assert!(verify(&mut memory, b"correct horse battery", &phc));
        assert!(!verify(&mut memory, b"correct horse batterz", &phc));
        assert!(verify(&mut memory, b"correct horse battery", &phc));
        // The dummy is well-formed (so it costs a full check) and matches nothing.
        assert!(PasswordHash::new(dummy_phc()).is_ok());
        assert!(!verify(&mut memory, b"", dummy_phc()));
        assert_eq!(memory.len(), Params::DEFAULT_M_COST as usize);
    }
}
