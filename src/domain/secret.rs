//! Key secrets: generated from the OS CSPRNG, never printed by `Debug`.

use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest as _, Sha256};
use std::fmt;

/// A key as the client sees it. `Debug` redacts it, so it cannot leak through a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// `bytes` random bytes as lowercase hex: 16 for an API key (32 chars),
    /// 20 for an application key (40 chars).
    pub fn random_hex(bytes: usize) -> Self {
        let mut buf = vec![0u8; bytes];
        OsRng.fill_bytes(&mut buf);
        Self(hex::encode(buf))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn last4(&self) -> String {
        let start = self.0.len().saturating_sub(4);
        self.0.get(start..).unwrap_or_default().to_owned()
    }

    pub fn digest(&self) -> KeyDigest {
        KeyDigest::of(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// SHA-256 of a key: how a presented key is looked up. Keys carry 128+ bits of entropy,
/// so a fast hash is enough; no salt is needed to stop guessing.
#[derive(Clone, Copy, Eq)]
pub struct KeyDigest(pub [u8; 32]);

/// Constant-time, so every lookup's final comparison (in the in-memory index's hash tables
/// too) takes the same time however many leading bytes match.
impl PartialEq for KeyDigest {
    fn eq(&self, other: &Self) -> bool {
        self.matches(other)
    }
}

impl std::hash::Hash for KeyDigest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(&self.0);
    }
}

/// Hashes a `KeyDigest` by its first eight bytes. A SHA-256 output is already uniform, and
/// nobody can choose a digest without a preimage, so this is as safe as SipHash against
/// collision flooding and much cheaper on the validation path.
#[derive(Default)]
pub struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        let n = bytes.len().min(8);
        word[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(word);
    }
}

pub type DigestMap<V> =
    std::collections::HashMap<KeyDigest, V, std::hash::BuildHasherDefault<DigestHasher>>;

impl KeyDigest {
    pub fn of(presented: &str) -> Self {
        Self(Sha256::digest(presented.as_bytes()).into())
    }

    /// Constant-time equality, for the final check after a lookup.
    pub fn matches(&self, other: &KeyDigest) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyDigest(<redacted>)")
    }
}

pub const API_KEY_BYTES: usize = 16;
pub const APP_KEY_BYTES: usize = 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_are_32_lowercase_hex_and_redacted() {
        let s = Secret::random_hex(API_KEY_BYTES);
        assert_eq!(s.expose().len(), 32);
        assert!(s
            .expose()
            .chars()
            .all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        assert_eq!(s.last4(), &s.expose()[28..]);
        assert!(!format!("{s:?}").contains(s.expose()));
        assert_ne!(Secret::random_hex(API_KEY_BYTES), s);
        assert_eq!(Secret::random_hex(APP_KEY_BYTES).expose().len(), 40);
    }

    #[test]
    fn digest_matches_only_itself() {
        let a = KeyDigest::of("a");
        assert!(a.matches(&KeyDigest::of("a")));
        assert!(!a.matches(&KeyDigest::of("b")));
    }
}
