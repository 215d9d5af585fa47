//! The audit trail on PostgreSQL: appends from every node take one advisory lock, so the
//! chain has one order.

use super::rows::to_u64;
use super::PostgresStore;
use crate::domain::audit::{
    next_link, Action, AuditEvent, AuditHead, AuditKey, AuditQuery, AuditRecord, Via,
};
use crate::store::audit_rows::{hash_col, head_from, refused, via_col, HEAD};
use crate::store::{StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

fn record_from(row: &PgRow) -> StoreResult<AuditRecord> {
    let action: String = row.try_get("action")?;
    Ok(AuditRecord {
        seq: row.try_get("seq")?,
        event: AuditEvent {
            at: row.try_get("at")?,
            org_id: row.try_get("org_id")?,
            actor_id: row.try_get("actor_id")?,
            action: Action::parse(&action)
                .ok_or_else(|| StoreError::Backend(format!("audit action {action}")))?,
            target_id: row.try_get("target_id")?,
            source: row.try_get("source")?,
            via: via_col(row)?,
            credential_id: row.try_get("credential_id")?,
        },
        prev_hash: hash_col(row, "prev_hash")?,
        hash: hash_col(row, "hash")?,
    })
}

impl PostgresStore {
    pub(super) async fn append_audit_event(
        &self,
        event: &AuditEvent,
        key: &AuditKey,
    ) -> StoreResult<AuditRecord> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT keyplane_audit_lock()")
            .execute(&mut *tx)
            .await?;
        let head = sqlx::query(HEAD).fetch_optional(&mut *tx).await?;
        let head = head.as_ref().map(head_from).transpose()?;
        let (seq, prev_hash, keyed_from) =
            next_link(key, head.as_ref(), event.action).map_err(refused)?;
        let hash = key.record_mac(&prev_hash, seq, event);
        let head = AuditHead::next(key, seq, hash, keyed_from);
        sqlx::query(
            "INSERT INTO audit_events (seq, at, org_id, actor_id, action, target_id, source, \
             prev_hash, hash, via, credential_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(seq)
        .bind(event.at)
        .bind(event.org_id)
        .bind(event.actor_id)
        .bind(event.action.as_str())
        .bind(event.target_id)
        .bind(&event.source)
        .bind(prev_hash.as_slice())
        .bind(hash.as_slice())
        .bind(event.via.map(Via::as_str))
        .bind(event.credential_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO audit_head (id, seq, hash, keyed_from, mac) VALUES (1, $1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, \
             keyed_from = excluded.keyed_from, mac = excluded.mac",
        )
        .bind(head.seq)
        .bind(head.hash.as_slice())
        .bind(head.keyed_from)
        .bind(head.mac.as_ref().map(|m| m.as_slice()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(AuditRecord {
            seq,
            event: event.clone(),
            prev_hash,
            hash,
        })
    }

    pub(super) async fn audit_page(
        &self,
        org_id: Uuid,
        query: &AuditQuery,
    ) -> StoreResult<(Vec<AuditRecord>, u64)> {
        let filter = |qb: &mut QueryBuilder<'_, Postgres>| {
            qb.push(" WHERE org_id = ").push_bind(org_id);
            if let Some(t) = query.from {
                qb.push(" AND at >= ").push_bind(t);
            }
            if let Some(t) = query.to {
                qb.push(" AND at <= ").push_bind(t);
            }
            if let Some(actor) = query.actor_id {
                qb.push(" AND actor_id = ").push_bind(actor);
            }
            if let Some(target) = query.target_id {
                qb.push(" AND target_id = ").push_bind(target);
            }
            if let Some(action) = query.action {
                qb.push(" AND action = ").push_bind(action.as_str());
            }
        };
        let mut count = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM audit_events");
        filter(&mut count);
        let matched: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
        // Newest first; seq is unique, so pages are stable.
        let mut rows = QueryBuilder::<Postgres>::new("SELECT * FROM audit_events");
        filter(&mut rows);
        rows.push(" ORDER BY seq DESC LIMIT ")
            .push_bind(i64::from(query.page.size))
            .push(" OFFSET ")
            .push_bind(i64::try_from(query.page.offset()).unwrap_or(i64::MAX));
        let rows = rows.build().fetch_all(&self.pool).await?;
        let records = rows.iter().map(record_from).collect::<StoreResult<_>>()?;
        Ok((records, to_u64(matched)))
    }

    pub(super) async fn audit_chain_page(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<AuditRecord>> {
        let rows = sqlx::query("SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(record_from).collect()
    }

    pub(super) async fn audit_head_row(&self) -> StoreResult<Option<AuditHead>> {
        let row = sqlx::query(HEAD).fetch_optional(&self.pool).await?;
        row.as_ref().map(head_from).transpose()
    }
}
