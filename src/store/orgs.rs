//! Organizations: what a backend stores of them, and their row, read alike on both.

use super::columns::Columns;
use super::{StoreError, StoreResult};
use crate::domain::api_key::ApiKey;
use crate::domain::application_key::ApplicationKey;
use crate::domain::org::Org;
use crate::domain::user::User;
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
pub trait OrgStore: Send + Sync {
    async fn org_count(&self) -> StoreResult<u64>;
    async fn create_org(&self, org: &Org) -> StoreResult<()>;
    /// An organization with its first admin, API key and application key, in one
    /// transaction: a crash stores all of it or none. (A first start killed between the
    /// organization and its admin left an installation that no recovery command could fix.)
    async fn create_organization(
        &self,
        org: &Org,
        admin: &User,
        api_key: &ApiKey,
        app_key: &ApplicationKey,
    ) -> StoreResult<()>;
    async fn get_org(&self, id: Uuid) -> StoreResult<Org>;
    async fn list_orgs(&self) -> StoreResult<Vec<Org>>;
    async fn set_one_time_read(&self, org_id: Uuid, enabled: bool) -> StoreResult<()>;
}

pub(super) const COUNT: &str = "SELECT COUNT(*) FROM orgs";
pub(super) const INSERT: &str =
    "INSERT INTO orgs (id, name, one_time_read, created_at, num) VALUES ($1, $2, $3, $4, $5)";
pub(super) const GET: &str = "SELECT * FROM orgs WHERE id = $1";
pub(super) const LIST: &str = "SELECT * FROM orgs ORDER BY created_at, id";
pub(super) const SET_ONE_TIME_READ: &str = "UPDATE orgs SET one_time_read = $1 WHERE id = $2";

pub(super) fn org_from<R: Columns>(row: &R) -> StoreResult<Org> {
    Ok(Org {
        id: row.uuid("id")?,
        name: row.text("name")?,
        one_time_read: row.flag("one_time_read")?,
        created_at: row.int("created_at")?,
        num: org_num(row.opt_int("num")?)?,
    })
}

/// An organization's number as both backends store it (an integer column, NULL only
/// before the store assigned it).
fn org_num(stored: Option<i64>) -> StoreResult<Option<u32>> {
    stored
        .map(|n| u32::try_from(n).map_err(|_| StoreError::Backend(format!("orgs.num {n}"))))
        .transpose()
}
