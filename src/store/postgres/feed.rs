//! LISTEN on the channel the change-log triggers notify, over a connection of its own.

use crate::store::{ChangeFeed, StoreError, StoreResult};
use async_trait::async_trait;
use sqlx::postgres::{PgListener, PgPool};

/// The channel `keyplane_log_change()` notifies (migrations/postgres/0001_init.sql).
pub(super) const CHANNEL: &str = "keyplane_changes";

pub(super) struct PgChangeFeed {
    /// A pool of one connection, named `keyplane-listener:<pid>` so an operator (or a test)
    /// can find this node's listener in `pg_stat_activity`.
    pub(super) pool: PgPool,
    pub(super) listener: Option<PgListener>,
}

#[async_trait]
impl ChangeFeed for PgChangeFeed {
    async fn connect(&mut self) -> StoreResult<()> {
        self.listener = None;
        let mut listener = PgListener::connect_with(&self.pool).await?;
        // A lost connection must surface as an error, not be replaced silently: the
        // notifications sent meanwhile are gone, and the node has to poll for them.
        listener.eager_reconnect(false);
        listener.ignore_pool_close_event(true);
        listener.listen(CHANNEL).await?;
        self.listener = Some(listener);
        Ok(())
    }

    async fn next(&mut self) -> StoreResult<()> {
        let Some(listener) = self.listener.as_mut() else {
            return Err(StoreError::Backend("change feed not connected".into()));
        };
        match listener.try_recv().await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => {
                self.listener = None;
                Err(StoreError::Backend(
                    "the notification connection was closed".into(),
                ))
            }
            Err(err) => {
                self.listener = None;
                Err(err.into())
            }
        }
    }
}
