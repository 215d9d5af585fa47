//! Following the change log: each entry re-reads one changed credential (or role, user or
//! previous secret) and applies it to the maps, telling mirrors of the API keys.

use super::*;

/// A record that may be gone: `NotFound` is `None`.
fn optional<T>(found: crate::store::StoreResult<T>) -> Result<Option<T>> {
    match found {
        Ok(record) => Ok(Some(record)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(Error::internal(e)),
    }
}

impl CredentialIndex {
    /// Applies every change-log entry written since the last catch-up.
    pub async fn catch_up(&self, store: &dyn Store, metrics: &Metrics) -> Result<usize> {
        let _one_at_a_time = self.catching_up.lock().await;
        let mut applied = 0;
        loop {
            let seq = self.read().seq;
            let changes = metrics
                .db("changes_since", store.changes_since(seq, BATCH))
                .await
                .map_err(Error::internal)?;
            for change in &changes {
                self.apply(store, change.kind, change.org_id, change.id, change.digest)
                    .await?;
                let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
                state.seq = state.seq.max(change.seq);
            }
            applied += changes.len();
            if changes.len() < BATCH as usize {
                break;
            }
        }
        self.expire_previous();
        self.confirmed_at.store(time::now(), Ordering::Relaxed);
        if applied > 0 {
            metrics.invalidations.inc_by(applied as u64);
            self.publish_sizes(metrics);
        }
        Ok(applied)
    }

    /// Re-reads the current state of one changed credential.
    async fn apply(
        &self,
        store: &dyn Store,
        kind: ChangeKind,
        org_id: Uuid,
        id: Uuid,
        digest: Option<KeyDigest>,
    ) -> Result<()> {
        match (kind, digest) {
            (ChangeKind::ApiKey, Some(digest)) => {
                self.records.remove(&id);
                let key = store.find_api_key(&digest).await.map_err(Error::internal)?;
                // A secret replaced by a rotation with overlap: the key under its new secret
                // goes in before the old one goes out, so no request falls between the two.
                let successor = match (&key, self.successor(&digest, RotatedKind::ApiKey)) {
                    (None, Some(next)) => {
                        store.find_api_key(&next).await.map_err(Error::internal)?
                    }
                    _ => None,
                };
                let changes = {
                    let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
                    match (key, successor) {
                        // A mirror must not hold a key that is expired already.
                        (Some(key), _) if expired(key.expires_at, time::now()) => {
                            state.api_keys.upsert(&key);
                            vec![ApiKeyChange::Removed { digest }]
                        }
                        (Some(key), _) => {
                            state.api_keys.upsert(&key);
                            vec![ApiKeyChange::Added {
                                digest,
                                org_id: key.org_id,
                            }]
                        }
                        (None, Some(next)) => {
                            state.api_keys.remove(&digest);
                            state.api_keys.upsert(&next);
                            // The old digest stays in mirrors until its grace period ends.
                            vec![ApiKeyChange::Added {
                                digest: next.digest,
                                org_id: next.org_id,
                            }]
                        }
                        (None, None) => {
                            state.api_keys.remove(&digest);
                            vec![ApiKeyChange::Removed { digest }]
                        }
                    }
                };
                for change in changes {
                    // No subscriber is not an error: the feed is optional.
                    let _ = self.api_key_changes.send(change);
                }
            }
            (ChangeKind::ApplicationKey, Some(digest)) => {
                let key = store
                    .find_application_key(&digest)
                    .await
                    .map_err(Error::internal)?;
                let successor = match (&key, self.successor(&digest, RotatedKind::ApplicationKey)) {
                    (None, Some(next)) => store
                        .find_application_key(&next)
                        .await
                        .map_err(Error::internal)?,
                    _ => None,
                };
                // Lists hold keys by id: a digest that finds nothing may be a secret rotated
                // away from a key that lives on, so the id decides whether it is listed.
                let by_id = match (&key, &successor) {
                    (None, None) => optional(store.get_application_key(org_id, id).await)?,
                    _ => None,
                };
                let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
                if let Some(next) = &successor {
                    state.app_keys.insert(next.digest, AppKeyEntry::from(next));
                    state.app_key_lists.upsert(next);
                }
                match &key {
                    Some(key) => {
                        state.app_keys.insert(digest, AppKeyEntry::from(key));
                        state.app_key_lists.upsert(key);
                    }
                    None => {
                        state.app_keys.remove(&digest);
                    }
                }
                if key.is_none() && successor.is_none() {
                    match &by_id {
                        Some(current) => state.app_key_lists.upsert(current),
                        None => state.app_key_lists.remove(id),
                    }
                }
            }
            (ChangeKind::ClientToken, Some(digest)) => {
                let token = store
                    .find_client_token(&digest)
                    .await
                    .map_err(Error::internal)?;
                let successor = match (&token, self.successor(&digest, RotatedKind::ClientToken)) {
                    (None, Some(next)) => store
                        .find_client_token(&next)
                        .await
                        .map_err(Error::internal)?,
                    _ => None,
                };
                // As for application keys: the id decides whether the token is listed.
                let by_id = match (&token, &successor) {
                    (None, None) => optional(store.get_client_token(org_id, id).await)?,
                    _ => None,
                };
                let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
                if let Some(next) = &successor {
                    let entry = ClientTokenEntry::from(next);
                    state.client_tokens.insert(next.digest, entry);
                    state.client_token_lists.upsert(next);
                }
                match &token {
                    Some(token) => {
                        state
                            .client_tokens
                            .insert(digest, ClientTokenEntry::from(token));
                        state.client_token_lists.upsert(token);
                    }
                    None => {
                        state.client_tokens.remove(&digest);
                    }
                }
                if token.is_none() && successor.is_none() {
                    match &by_id {
                        Some(current) => state.client_token_lists.upsert(current),
                        None => state.client_token_lists.remove(id),
                    }
                }
            }
            (ChangeKind::PreviousSecret, Some(digest)) => {
                let previous = store
                    .find_previous_secret(&digest)
                    .await
                    .map_err(Error::internal)?;
                let change = {
                    let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
                    match previous {
                        Some(p) => {
                            let added =
                                (p.kind == RotatedKind::ApiKey).then_some(ApiKeyChange::Added {
                                    digest,
                                    org_id: p.org_id,
                                });
                            state.previous.insert(digest, p);
                            self.count_overlaps(&state);
                            added
                        }
                        None => {
                            let gone = state.previous.remove(&digest);
                            self.count_overlaps(&state);
                            gone.filter(|p| p.kind == RotatedKind::ApiKey)
                                .map(|_| ApiKeyChange::Removed { digest })
                        }
                    }
                };
                if let Some(change) = change {
                    let _ = self.api_key_changes.send(change);
                }
            }
            (ChangeKind::AccessToken, Some(digest)) => {
                let token = store
                    .find_access_token(&digest)
                    .await
                    .map_err(Error::internal)?;
                let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
                match token {
                    Some(token) => state
                        .access_tokens
                        .insert(digest, AccessTokenEntry::from(&token)),
                    None => state.access_tokens.remove(&digest),
                };
            }
            (ChangeKind::User, _) => {
                let user = match store.get_user(org_id, id).await {
                    Ok(user) => Some(user),
                    Err(StoreError::NotFound) => None,
                    Err(e) => return Err(Error::internal(e)),
                };
                let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
                match user {
                    Some(user) => state.users.insert(id, UserEntry::from(&user)),
                    None => state.users.remove(&id),
                };
            }
            (ChangeKind::Role, _) => {
                let role = match store.get_role(org_id, id).await {
                    Ok(role) => Some(role),
                    Err(StoreError::NotFound) => None,
                    Err(e) => return Err(Error::internal(e)),
                };
                let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
                match role {
                    Some(role) => state.roles.insert(id, RoleEntry::from(&role)),
                    None => state.roles.remove(&id),
                };
            }
            (_, None) => return Err(Error::internal("key change without a digest")),
        }
        Ok(())
    }

    pub(super) fn publish_sizes(&self, metrics: &Metrics) {
        let state = self.read();
        let size = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        metrics
            .cache_entries
            .get_or_create(&api_kind())
            .set(size(state.api_keys.len()));
        metrics
            .cache_entries
            .get_or_create(&app_kind())
            .set(size(state.app_keys.len()));
        metrics
            .cache_entries
            .get_or_create(&KindLabels {
                kind: "client_token",
            })
            .set(size(state.client_tokens.len()));
        metrics
            .cache_entries
            .get_or_create(&KindLabels { kind: "user" })
            .set(size(state.users.len()));
    }
}
