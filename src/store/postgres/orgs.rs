//! Organizations on PostgreSQL.

use super::api_keys::insert_api_key;
use super::application_keys::insert_app_key;
use super::users::insert_user;
use super::PostgresStore;
use crate::domain::api_key::ApiKey;
use crate::domain::application_key::ApplicationKey;
use crate::domain::org::Org;
use crate::domain::user::User;
use crate::store::application_keys::scopes_json;
use crate::store::columns::to_u64;
use crate::store::orgs::{org_from, COUNT, GET, INSERT, LIST, SET_ONE_TIME_READ};
use crate::store::{OrgStore, StoreError, StoreResult};
use async_trait::async_trait;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::Postgres;
use uuid::Uuid;

fn insert_org(org: &Org) -> Query<'_, Postgres, PgArguments> {
    sqlx::query(INSERT)
        .bind(org.id)
        .bind(&org.name)
        .bind(org.one_time_read)
        .bind(org.created_at)
        .bind(org.num.map(i64::from))
}

#[async_trait]
impl OrgStore for PostgresStore {
    async fn org_count(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(COUNT).fetch_one(&self.pool).await?;
        Ok(to_u64(n))
    }

    async fn create_org(&self, org: &Org) -> StoreResult<()> {
        insert_org(org).execute(&self.pool).await?;
        Ok(())
    }

    async fn create_organization(
        &self,
        org: &Org,
        admin: &User,
        api_key: &ApiKey,
        app_key: &ApplicationKey,
    ) -> StoreResult<()> {
        let scopes = scopes_json(&app_key.scopes)?;
        let mut tx = self.begin_write().await?;
        insert_org(org).execute(&mut *tx).await?;
        insert_user(&mut tx, admin).await?;
        // A new organization holds no key yet, so no limit can refuse these.
        insert_api_key(&mut tx, api_key).await?;
        insert_app_key(&mut tx, app_key, scopes).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_org(&self, id: Uuid) -> StoreResult<Org> {
        let row = sqlx::query(GET).bind(id).fetch_one(&self.pool).await?;
        org_from(&row)
    }

    async fn list_orgs(&self) -> StoreResult<Vec<Org>> {
        let rows = sqlx::query(LIST).fetch_all(&self.pool).await?;
        rows.iter().map(org_from).collect()
    }

    async fn set_one_time_read(&self, org_id: Uuid, enabled: bool) -> StoreResult<()> {
        let done = sqlx::query(SET_ONE_TIME_READ)
            .bind(enabled)
            .bind(org_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
