//! Expiries in the index: an expiry is in no change log, so mirrors of the keys (the HAProxy
//! map) and the webhook sweep ask the index which keys expire when.

use super::*;

impl CredentialIndex {
    /// The API keys whose expiry falls in `(after, until]`: an expiry is in no change log,
    /// so a mirror of the keys asks for these to drop them.
    pub fn api_keys_expired_between(
        &self,
        after: time::Micros,
        until: time::Micros,
    ) -> Vec<KeyDigest> {
        self.read().api_keys.expired_between(after, until).collect()
    }

    /// The API keys, application keys and client tokens whose expiry falls in
    /// `(after, until]`, as `(org_id, id)`; a scan of the keys that is cheap next to a query.
    pub fn keys_expiring_between(
        &self,
        after: time::Micros,
        until: time::Micros,
    ) -> Vec<(Uuid, Uuid)> {
        let state = self.read();
        let within = |at: Option<time::Micros>| at.is_some_and(|at| at > after && at <= until);
        let api_keys = state
            .api_keys
            .expired_between(after, until)
            .filter_map(|digest| state.api_keys.get(&digest))
            .map(|k| (k.org_id, k.id));
        let app_keys = (state.app_keys.values())
            .filter(|k| within(k.expires_at))
            .map(|k| (k.org_id, k.id));
        let tokens = (state.client_tokens.values())
            .filter(|t| within(t.expires_at))
            .map(|t| (t.org_id, t.id));
        api_keys.chain(app_keys).chain(tokens).collect()
    }

    /// Which kind of key `id` is, among those that expire.
    pub fn kind_of(&self, id: Uuid) -> Option<&'static str> {
        let state = self.read();
        if state.app_keys.values().any(|k| k.id == id) {
            Some("application_key")
        } else if state.client_tokens.values().any(|t| t.id == id) {
            Some("client_token")
        } else {
            // API keys are held by digest in their own table; the only kind left.
            Some("api_key")
        }
    }

    /// The first API key expiry after `after`.
    pub fn next_api_key_expiry(&self, after: time::Micros) -> Option<time::Micros> {
        self.read().api_keys.next_expiry(after)
    }
}
