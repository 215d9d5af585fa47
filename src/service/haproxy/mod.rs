//! HAProxy checks API keys in its own memory: keyplane keeps an HAProxy map of key digests
//! (lowercase hex SHA-256 of the key, which HAProxy computes as
//! `req.hdr(dd-api-key),sha2(256),hex,lower`) to tenant ids (the organization's uuid, the
//! gate's `X-Keyplane-Org`) in sync over HAProxy's runtime API, so no request waits on a
//! round trip to keyplane. `keyplane haproxy-map` prints the same map for HAProxy's start.
//!
//! Only API keys are in the map: client tokens belong to browser intake, whose rules (paths,
//! `ddforward`) the gate endpoint applies; a map lookup cannot.

pub mod runtime_api;
pub mod sync;

use crate::domain::secret::KeyDigest;
use std::path::PathBuf;
use uuid::Uuid;

/// Where the map lives: HAProxy's admin socket and the map's name there (the file name the
/// configuration's `map(…)` converter loads, e.g. /etc/haproxy/keyplane.map).
#[derive(Debug, Clone)]
pub struct HaproxyMap {
    pub socket: PathBuf,
    pub map: String,
}

impl HaproxyMap {
    /// Refuses a map name that the runtime API's line protocol cannot carry.
    pub fn new(socket: PathBuf, map: String) -> Result<Self, String> {
        if map.is_empty() || map.contains(|c: char| c.is_whitespace() || c == ';') {
            return Err(format!(
                "HAProxy map name {map:?} must be non-empty, without spaces or ';'"
            ));
        }
        Ok(Self { socket, map })
    }
}

/// A map entry's key: what HAProxy's `sha2(256),hex,lower` makes of the presented key.
pub fn map_key(digest: &KeyDigest) -> String {
    hex::encode(digest.0)
}

/// A map entry's value: the tenant id.
pub fn map_value(org_id: Uuid) -> String {
    org_id.hyphenated().to_string()
}

/// The whole map as HAProxy's map file format: one `digest tenant` line per API key.
pub fn map_file(entries: &[(KeyDigest, Uuid)]) -> String {
    let mut out = String::with_capacity(entries.len() * 102);
    for (digest, org_id) in entries {
        out.push_str(&map_key(digest));
        out.push(' ');
        out.push_str(&map_value(*org_id));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_haproxy_sha2_hex_lower_of_the_key() {
        // `printf %s 0123456789abcdef0123456789abcdef | sha256sum`
        let digest = KeyDigest::of("0123456789abcdef0123456789abcdef");
        let org = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert_eq!(
            map_file(&[(digest, org)]),
            "3eb1bd439947eb762998e566ccc2e099c791118b2f40579cc4f7da2b5061b7f9 \
             01234567-89ab-cdef-0123-456789abcdef\n"
        );
    }

    #[test]
    fn map_names_fit_the_line_protocol() {
        assert!(HaproxyMap::new("/s".into(), "/etc/haproxy/keyplane.map".into()).is_ok());
        assert!(HaproxyMap::new("/s".into(), "a b".into()).is_err());
        assert!(HaproxyMap::new("/s".into(), "a;show info".into()).is_err());
        assert!(HaproxyMap::new("/s".into(), String::new()).is_err());
    }
}
