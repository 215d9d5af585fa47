//! The caller's own profile: `GET/PATCH /api/v2/current_user`, and a user's organization.

use super::{unexpected, Services};
use crate::domain::audit::Action;
use crate::domain::org::Org;
use crate::domain::principal::Principal;
use crate::domain::time;
use crate::domain::user::{Permission, User, UserChange};
use crate::error::{Error, Result};

impl Services {
    /// Any valid credential may read its own user ("no additional permissions").
    pub async fn current_user(&self, who: &Principal) -> Result<(User, Org)> {
        let user = self
            .store
            .get_user(who.org_id, who.user_id)
            .await
            .map_err(unexpected)?;
        let org = self.store.get_org(who.org_id).await.map_err(unexpected)?;
        Ok((user, org))
    }

    /// Edits the caller's name, title or email; disabling oneself is not a profile edit.
    pub async fn update_current_user(
        &self,
        who: &Principal,
        change: UserChange,
    ) -> Result<(User, Org)> {
        who.require(Permission::UserSelfProfileWrite)?;
        if change.disabled.is_some() {
            return Err(Error::invalid(
                "disabled cannot be changed through current_user",
            ));
        }
        self.store
            .update_user(who.org_id, who.user_id, &change, time::now())
            .await
            .map_err(|e| self.map_user_error(who.user_id, change.email.as_deref(), e))?;
        self.refresh_credentials().await;
        self.audit(who, Action::UserChanged, Some(who.user_id))
            .await;
        self.current_user(who).await
    }

    /// A user of the caller's organization, with the organization.
    pub async fn user_org(&self, who: &Principal, id: uuid::Uuid) -> Result<(User, Org)> {
        let user = self.get_user(who, id).await?;
        let org = self.store.get_org(who.org_id).await.map_err(unexpected)?;
        Ok((user, org))
    }
}
