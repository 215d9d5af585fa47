//! Invitations. keyplane sends no email: an invitation's link (`/#/invite/<secret>`) is shown
//! to whoever invites in the console and printed by `keyplane admin invite`; the invited
//! user opens it, sets a password and is signed in. The secret is stored as a digest, works
//! once, and dies with the invitation.

use super::sessions::{check_password, SignedIn};
use super::users::hash_password;
use super::{unexpected, Services};
use crate::domain::audit::Action;
use crate::domain::invitation::{days, Invitation, InviteType, LONG_VALIDITY_DAYS, VALIDITY_DAYS};
use crate::domain::org_config::{ADMIN_ONLY_INVITES, LONG_INVITATIONS};
use crate::domain::principal::Principal;
use crate::domain::secret::{KeyDigest, Secret};
use crate::domain::time;
use crate::domain::user::{permissions_of, Permission, User};
use crate::error::{Error, Result};
use crate::store::StoreError;
use serde_json::Value;
use uuid::Uuid;

const LINK_UNUSABLE: &str =
    "This invitation link cannot be used: it was used already, replaced, cancelled or it expired";

/// A new invitation with its link's secret, which is shown once and never stored.
pub struct Sent {
    pub invitation: Invitation,
    pub secret: Secret,
}

fn invitable(user: &User) -> Result<()> {
    if user.service_account {
        return Err(Error::invalid("Service accounts cannot be invited"));
    }
    if user.disabled() {
        return Err(Error::invalid(format!("User {} is disabled", user.id)));
    }
    Ok(())
}

/// Who invites, for the audit trail and the invitation's inviter.
enum Inviter<'a> {
    User(&'a Principal),
    Cli,
}

impl Services {
    /// Invites each user (at least one). A user already invited gets a reminder, whose link
    /// replaces the earlier ones.
    pub async fn send_invitations(&self, who: &Principal, user_ids: &[Uuid]) -> Result<Vec<Sent>> {
        who.require(Permission::UserAccessInvite)?;
        if self
            .org_config_value(who.org_id, ADMIN_ONLY_INVITES)
            .await?
            == Value::Bool(true)
        {
            who.require(Permission::UserAccessManage)?;
        }
        if user_ids.is_empty() {
            return Err(Error::invalid("data must hold at least one invitation"));
        }
        let mut users = Vec::with_capacity(user_ids.len());
        for id in user_ids {
            let user = match self.store.get_user(who.org_id, *id).await {
                Ok(user) => user,
                Err(StoreError::NotFound) => {
                    return Err(Error::invalid(format!("User {id} not found")))
                }
                Err(other) => return Err(unexpected(other)),
            };
            // Whoever holds the link can sign in as the user: only someone who may do all
            // that user may do can get one.
            if !permissions_of(&user.roles).all(|p| who.can(p)) {
                return Err(Error::Forbidden);
            }
            // Every user is checked before any is invited: a refusal writes nothing.
            invitable(&user)?;
            users.push(user);
        }
        let mut sent = Vec::with_capacity(users.len());
        for user in &users {
            sent.push(self.invite(Inviter::User(who), user).await?);
        }
        Ok(sent)
    }

    /// `keyplane admin invite`: the operator invites by email and gets the link.
    pub async fn invite_from_cli(&self, org_id: Option<Uuid>, email: &str) -> Result<(User, Sent)> {
        let user = self.operator_target(org_id, email).await?;
        let sent = self.invite(Inviter::Cli, &user).await?;
        Ok((user, sent))
    }

    async fn invite(&self, inviter: Inviter<'_>, user: &User) -> Result<Sent> {
        invitable(user)?;
        let earlier = self
            .store
            .user_invitations(user.org_id, user.id)
            .await
            .map_err(unexpected)?;
        let kind = if earlier.is_empty() {
            InviteType::Invite
        } else {
            InviteType::Reminder
        };
        let long = self.org_config_value(user.org_id, LONG_INVITATIONS).await? == Value::Bool(true);
        let validity = days(if long {
            LONG_VALIDITY_DAYS
        } else {
            VALIDITY_DAYS
        });
        let now = time::now();
        let invited_by = match inviter {
            Inviter::User(who) => Some(who.user_id),
            Inviter::Cli => None,
        };
        let (invitation, secret) =
            Invitation::issue(user.org_id, user.id, invited_by, kind, now, validity);
        // One usable link per user: the newest.
        self.store
            .cancel_invitations(user.org_id, user.id, now)
            .await
            .map_err(unexpected)?;
        self.store
            .create_invitation(&invitation)
            .await
            .map_err(unexpected)?;
        match inviter {
            Inviter::User(who) => self.audit(who, Action::UserInvited, Some(user.id)).await,
            Inviter::Cli => {
                self.audit_cli(user.org_id, Action::UserInvited, Some(user.id))
                    .await
            }
        }
        Ok(Sent { invitation, secret })
    }

    pub async fn get_invitation(&self, who: &Principal, id: Uuid) -> Result<Invitation> {
        who.require(Permission::UserAccessInvite)?;
        self.store
            .get_invitation(who.org_id, id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => Error::NotFoundText(format!("Invitation {id} not found")),
                other => unexpected(other),
            })
    }

    /// Cancels every pending invitation of the user (`DELETE /users/{id}/invitations`).
    pub async fn cancel_invitations(&self, who: &Principal, user_id: Uuid) -> Result<()> {
        who.require(Permission::UserAccessInvite)?;
        let user = self
            .store
            .get_user(who.org_id, user_id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => Error::NotFoundText(format!("{user_id} not found")),
                other => unexpected(other),
            })?;
        self.store
            .cancel_invitations(who.org_id, user.id, time::now())
            .await
            .map_err(unexpected)?;
        self.audit(who, Action::InvitationsCancelled, Some(user.id))
            .await;
        Ok(())
    }

    /// The invitation a link names while it can be used: for the console's acceptance page.
    pub async fn pending_invitation(&self, secret: &str) -> Result<(Invitation, User)> {
        let unusable = || Error::NotFoundText(LINK_UNUSABLE.to_owned());
        let found = self
            .store
            .find_invitation(&KeyDigest::of(secret))
            .await
            .map_err(unexpected)?;
        let invitation = found
            .filter(|i| i.pending(time::now()))
            .ok_or_else(unusable)?;
        let user = self
            .store
            .get_user(invitation.org_id, invitation.user_id)
            .await
            .map_err(|_| unusable())?;
        // A link sets a first password only: with one, it would hand over an account in use.
        if user.disabled() || user.password_hash.is_some() {
            return Err(unusable());
        }
        Ok((invitation, user))
    }

    /// Uses a link: sets the user's password, makes them Active and signs them in.
    pub async fn accept_invitation(
        &self,
        secret: &str,
        password: &str,
        source: Option<String>,
    ) -> Result<SignedIn> {
        // Checked before any hashing, so wrong links cost nothing.
        self.pending_invitation(secret).await?;
        check_password(password)?;
        let hash = hash_password(password)?;
        let (_, user) = self
            .store
            .accept_invitation(&KeyDigest::of(secret), time::now(), &hash)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => Error::NotFoundText(LINK_UNUSABLE.to_owned()),
                other => unexpected(other),
            })?;
        self.refresh_credentials().await;
        let signed_in = self.open_session(user).await?;
        let who = signed_in.principal(source);
        self.audit(&who, Action::InvitationAccepted, Some(who.user_id))
            .await;
        Ok(signed_in)
    }
}
