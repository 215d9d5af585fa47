//! The audit trail on SQLite: appends go through the group committer, which holds the
//! writer slot, so the chain has one order.

use super::SqliteStore;
use crate::domain::audit::{
    next_link, AuditEvent, AuditHead, AuditKey, AuditQuery, AuditRecord, Via,
};
use crate::store::audit::{
    head_from, push_filter, record_from, refused, CHAIN_PAGE, HEAD, INSERT_EVENT, ORDER,
    UPSERT_HEAD,
};
use crate::store::{AuditStore, StoreResult};
use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

fn text(id: Option<Uuid>) -> Option<String> {
    id.map(|u| u.to_string())
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, event: &AuditEvent, key: &AuditKey) -> StoreResult<AuditRecord> {
        let event = event.clone();
        let key = key.clone();
        self.writes
            .run(move |conn| {
                Box::pin(async move {
                    let head = sqlx::query(HEAD).fetch_optional(&mut *conn).await?;
                    let head = head.as_ref().map(head_from).transpose()?;
                    let (seq, prev_hash, keyed_from) =
                        next_link(&key, head.as_ref(), event.action).map_err(refused)?;
                    let hash = key.record_mac(&prev_hash, seq, &event);
                    let head = AuditHead::next(&key, seq, hash, keyed_from);
                    sqlx::query(INSERT_EVENT)
                        .bind(seq)
                        .bind(event.at)
                        .bind(text(event.org_id))
                        .bind(text(event.actor_id))
                        .bind(event.action.as_str())
                        .bind(text(event.target_id))
                        .bind(&event.source)
                        .bind(prev_hash.as_slice())
                        .bind(hash.as_slice())
                        .bind(event.via.map(Via::as_str))
                        .bind(text(event.credential_id))
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query(UPSERT_HEAD)
                        .bind(head.seq)
                        .bind(head.hash.as_slice())
                        .bind(head.keyed_from)
                        .bind(head.mac.as_ref().map(|m| m.as_slice()))
                        .execute(&mut *conn)
                        .await?;
                    Ok(AuditRecord {
                        seq,
                        event: event.clone(),
                        prev_hash,
                        hash,
                    })
                })
            })
            .await
    }

    async fn list_audit(
        &self,
        org_id: Uuid,
        query: &AuditQuery,
    ) -> StoreResult<(Vec<AuditRecord>, u64)> {
        let filter = |qb: &mut QueryBuilder<'_, Sqlite>| push_filter(qb, org_id, query);
        self.paged("audit_events", filter, ORDER, query.page, record_from)
            .await
    }

    async fn audit_records(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditRecord>> {
        let rows = sqlx::query(CHAIN_PAGE)
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(record_from).collect()
    }

    async fn audit_head(&self) -> StoreResult<Option<AuditHead>> {
        let row = sqlx::query(HEAD).fetch_optional(&self.pool).await?;
        row.as_ref().map(head_from).transpose()
    }
}
