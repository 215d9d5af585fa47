//! Personal and service-account access tokens. One set of rules; the surface decides whose
//! tokens are in reach and which permission it takes (Datadog's documented permissions).

use super::{unexpected, Services};
use crate::domain::access_token::{
    generate, parse_expiry, AccessToken, AccessTokenChange, AccessTokenQuery, TokenKind,
};
use crate::domain::application_key::within;
use crate::domain::audit::Action;
use crate::domain::name::KeyName;
use crate::domain::principal::Principal;
use crate::domain::secret::Secret;
use crate::domain::time::{self, Micros};
use crate::domain::user::{Permission, User};
use crate::error::{Error, Result};
use crate::store::StoreError;
use uuid::Uuid;

const NOT_FOUND: &str = "Access token not found";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSurface {
    /// `/api/v2/personal_access_tokens`: the caller's own tokens, or every token of the
    /// organization for callers who may read all application keys.
    Personal,
    /// `/api/v2/service_accounts/{id}/access_tokens`: one service account's tokens.
    ServiceAccount(Uuid),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

/// What a new token may be: within the caller's scopes, and, when the caller is itself a
/// token, expiring no later than it (403 otherwise).
fn within_caller(who: &Principal, scopes: &[String], expires_at: Option<Micros>) -> Result<()> {
    if let Some(ceiling) = &who.scopes {
        if !within(scopes, ceiling) {
            return Err(Error::Forbidden);
        }
    }
    if let Some(grant) = who.token {
        match (grant.expires_at, expires_at) {
            (Some(limit), Some(at)) if at > limit => return Err(Error::Forbidden),
            (Some(_), None) => return Err(Error::Forbidden),
            _ => {}
        }
    }
    Ok(())
}

impl Services {
    fn token_error(err: StoreError) -> Error {
        match err {
            StoreError::NotFound => Error::NotFound(NOT_FOUND),
            other => unexpected(other),
        }
    }

    async fn token_service_account(&self, org_id: Uuid, id: Uuid) -> Result<User> {
        match self.store.get_user(org_id, id).await {
            Ok(user) if user.service_account => Ok(user),
            Ok(_) | Err(StoreError::NotFound) => Err(Error::NotFound("Service account not found")),
            Err(e) => Err(unexpected(e)),
        }
    }

    /// The owner the caller is limited to on `surface` (`None`: every owner).
    async fn token_owner(
        &self,
        who: &Principal,
        surface: TokenSurface,
        access: Access,
    ) -> Result<Option<Uuid>> {
        match surface {
            TokenSurface::Personal => {
                let org_wide = match access {
                    Access::Read => Permission::OrgAppKeysRead,
                    Access::Write => Permission::OrgAppKeysWrite,
                };
                if who.can(org_wide) {
                    return Ok(None);
                }
                who.require(Permission::UserAppKeys)?;
                Ok(Some(who.user_id))
            }
            TokenSurface::ServiceAccount(id) => {
                who.require_any(&[Permission::ServiceAccountWrite, Permission::OrgAppKeysWrite])?;
                self.token_service_account(who.org_id, id).await?;
                Ok(Some(id))
            }
        }
    }

    /// A token in reach of `surface`, or 404.
    async fn reachable_token(
        &self,
        who: &Principal,
        surface: TokenSurface,
        access: Access,
        id: Uuid,
    ) -> Result<AccessToken> {
        let owner = self.token_owner(who, surface, access).await?;
        let token = self
            .store
            .get_access_token(who.org_id, id)
            .await
            .map_err(Self::token_error)?;
        let kind_fits = match surface {
            TokenSurface::Personal => true,
            TokenSurface::ServiceAccount(_) => token.kind == TokenKind::ServiceAccount,
        };
        match owner {
            Some(owner) if owner != token.owner_id => Err(Error::NotFound(NOT_FOUND)),
            _ if !kind_fits => Err(Error::NotFound(NOT_FOUND)),
            _ => Ok(token),
        }
    }

    /// Creates a token; the secret is returned here and never again.
    pub async fn create_access_token(
        &self,
        who: &Principal,
        surface: TokenSurface,
        name: KeyName,
        scopes: Vec<String>,
        expires_at: Option<Micros>,
    ) -> Result<(AccessToken, Secret)> {
        let now = time::now();
        let (kind, owner) = match surface {
            TokenSurface::Personal => {
                who.require(Permission::UserAppKeys)?;
                (TokenKind::Personal, who.user_id)
            }
            TokenSurface::ServiceAccount(id) => {
                self.token_owner(who, surface, Access::Write).await?;
                let account = self.token_service_account(who.org_id, id).await?;
                let granted = self.index.permissions_of(who.org_id, &account.roles);
                super::roles::within_ceiling(who, &granted)?;
                if account.disabled() {
                    return Err(Error::invalid("the service account is disabled"));
                }
                (TokenKind::ServiceAccount, id)
            }
        };
        let expires_at = parse_expiry(kind, expires_at, now)?;
        within_caller(who, &scopes, expires_at)?;
        let id = Uuid::new_v4();
        let secret = generate(kind, id);
        let token = AccessToken {
            id,
            org_id: who.org_id,
            owner_id: owner,
            kind,
            name: name.as_str().to_owned(),
            digest: secret.digest(),
            scopes,
            created_at: now,
            expires_at,
            modified_at: None,
            last_used_at: None,
        };
        self.store
            .create_access_token(&token)
            .await
            .map_err(unexpected)?;
        self.refresh_credentials().await;
        self.audit(who, Action::AccessTokenCreated, Some(id)).await;
        Ok((token, secret))
    }

    pub async fn get_access_token(
        &self,
        who: &Principal,
        surface: TokenSurface,
        id: Uuid,
    ) -> Result<AccessToken> {
        self.reachable_token(who, surface, Access::Read, id).await
    }

    pub async fn list_access_tokens(
        &self,
        who: &Principal,
        surface: TokenSurface,
        mut query: AccessTokenQuery,
    ) -> Result<(Vec<AccessToken>, u64)> {
        if let Some(owner) = self.token_owner(who, surface, Access::Read).await? {
            // A caller limited to its own tokens asking for someone else's sees none.
            if !query.filter.owners.is_empty() && !query.filter.owners.contains(&owner) {
                return Ok((Vec::new(), 0));
            }
            query.filter.owners = vec![owner];
        }
        if let TokenSurface::ServiceAccount(_) = surface {
            query.filter.kind = Some(TokenKind::ServiceAccount);
        }
        self.store
            .list_access_tokens(who.org_id, &query)
            .await
            .map_err(unexpected)
    }

    /// Renames or rescopes a token; its expiry never changes.
    pub async fn update_access_token(
        &self,
        who: &Principal,
        surface: TokenSurface,
        id: Uuid,
        change: AccessTokenChange,
    ) -> Result<AccessToken> {
        let present = self
            .reachable_token(who, surface, Access::Write, id)
            .await?;
        if let Some(scopes) = &change.scopes {
            within_caller(who, scopes, present.expires_at)?;
            // A token that could widen itself would have no ceiling.
            if who.token.is_some_and(|t| t.id == id) && !within(scopes, &present.scopes) {
                return Err(Error::Forbidden);
            }
        }
        let token = self
            .store
            .update_access_token(who.org_id, id, &change, time::now())
            .await
            .map_err(Self::token_error)?;
        self.refresh_credentials().await;
        self.audit(who, Action::AccessTokenChanged, Some(id)).await;
        Ok(token)
    }

    /// Revokes a token: it stops authenticating on the very next request. Revoking one that
    /// is already gone succeeds, as Datadog's second DELETE answers 204.
    pub async fn revoke_access_token(
        &self,
        who: &Principal,
        surface: TokenSurface,
        id: Uuid,
    ) -> Result<()> {
        match self.reachable_token(who, surface, Access::Write, id).await {
            Ok(_) => {}
            Err(Error::NotFound(NOT_FOUND)) => return Ok(()),
            Err(other) => return Err(other),
        }
        match self.store.delete_access_token(who.org_id, id).await {
            Ok(()) => {}
            // Revoked meanwhile, by a request that recorded it.
            Err(StoreError::NotFound) => return Ok(()),
            Err(other) => return Err(unexpected(other)),
        }
        self.refresh_credentials().await;
        self.audit(who, Action::AccessTokenRevoked, Some(id)).await;
        Ok(())
    }
}
