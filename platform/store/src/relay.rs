//! [`OutboxRelay`]: the outbox as relays on every node work it.
//!
//! Claims are leases (`claimed_until`, `publish_claimed_until`) taken in a write
//! transaction: with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two nodes take disjoint
//! rows without waiting on each other; under the single write lock on SQLite. A node
//! killed mid-delivery leaves leases that run out, and another node delivers again: at
//! least once.
//!
//! Order per subject: a delivery is claimable only when no earlier event of its subject is
//! still waiting to be fanned out, and no earlier delivery of its subject to the same
//! endpoint waits for a later retry. The candidates are ranked per endpoint by subject and
//! sequence, so an earlier due delivery is always a candidate before a later one; after
//! locking, a subject is cut at its first candidate this node could not lock (another node
//! has it), so two nodes never send one subject's events to one endpoint side by side.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Statement, Value,
};
use trolley_core::StoreError;
use trolley_core::domain::{
    DeliveryId, DeliveryStatus, Event, TenantId, WebhookEndpoint, WebhookId,
};
use trolley_core::ports::{AttemptRecord, Backlog, DueDelivery, OutboxRelay};
use uuid::Uuid;

use crate::convert::{from_millis, to_millis};
use crate::entity::{outbox_events, webhook_attempts, webhook_deliveries, webhook_endpoints};
use crate::error::db_err;
use crate::outbox::event_of;
use crate::stock::{End, finish};
use crate::webhooks::endpoint_of;
use crate::write_turns::{begin_write, write_turn};

/// Deliveries one endpoint gets per claim. A batch is sent in order by one task; the relay
/// gives back what is left once the receiver stops answering or half the lease is used,
/// so a slow endpoint never outlives its claims.
const PER_ENDPOINT: i64 = 100;

#[derive(Debug, Clone)]
pub struct SqlOutboxRelay {
    db: DatabaseConnection,
}

impl SqlOutboxRelay {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    async fn has_undispatched(&self) -> Result<bool, StoreError> {
        let first: Option<Uuid> = outbox_events::Entity::find()
            .select_only()
            .column(outbox_events::Column::Id)
            .filter(outbox_events::Column::DispatchedAt.is_null())
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(db_err)?;
        Ok(first.is_some())
    }
}

/// `$n` placeholders for PostgreSQL, `?n` for SQLite.
fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => sql.to_owned(),
        _ => sql.replace('$', "?"),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

fn skip_locked(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => " FOR UPDATE SKIP LOCKED",
        _ => "",
    }
}

/// Due deliveries, ranked per endpoint by subject and sequence.
const DUE_DELIVERIES: &str = "
SELECT id, webhook_id, subject FROM (
  SELECT d.id, d.webhook_id, d.subject, d.sequence,
         ROW_NUMBER() OVER (PARTITION BY d.webhook_id ORDER BY d.subject, d.sequence) AS n
  FROM webhook_deliveries d
  JOIN webhook_endpoints w ON w.id = d.webhook_id
  WHERE d.status = 'pending'
    AND d.next_attempt_at <= $1
    AND (d.claimed_until IS NULL OR d.claimed_until < $1)
    AND w.enabled = TRUE AND w.paused_reason IS NULL
    AND NOT EXISTS (
      SELECT 1 FROM webhook_deliveries e
      WHERE e.webhook_id = d.webhook_id AND e.subject = d.subject AND e.status = 'pending'
        AND e.sequence < d.sequence
        AND (e.next_attempt_at > $1 OR (e.claimed_until IS NOT NULL AND e.claimed_until >= $1)))
    AND NOT EXISTS (
      SELECT 1 FROM outbox_events o
      WHERE o.tenant_id = d.tenant_id AND o.subject = d.subject AND o.sequence < d.sequence
        AND o.dispatched_at IS NULL)
) ranked
WHERE n <= $2
ORDER BY webhook_id, subject, sequence
LIMIT $3";

#[async_trait]
impl OutboxRelay for SqlOutboxRelay {
    #[tracing::instrument(name = "db.outbox.dispatch", level = "debug", skip_all)]
    async fn dispatch(&self, now: DateTime<Utc>, limit: u64) -> Result<u64, StoreError> {
        // An idle outbox costs one indexed read, never the write lock (SQLite has one).
        if !self.has_undispatched().await? {
            return Ok(0);
        }
        let txn = begin_write(&self.db).await?;
        let backend = txn.get_database_backend();
        let result = async {
            let picked: Vec<outbox_events::Model> = outbox_events::Entity::find()
                .from_raw_sql(statement(
                    backend,
                    &format!(
                        "SELECT * FROM outbox_events WHERE dispatched_at IS NULL \
                         ORDER BY occurred_at LIMIT $1{}",
                        skip_locked(backend)
                    ),
                    vec![(limit as i64).into()],
                ))
                .all(&txn)
                .await
                .map_err(db_err)?;
            if picked.is_empty() {
                return Ok(0);
            }
            let tenants: HashSet<Uuid> = picked.iter().map(|e| e.tenant_id).collect();
            let endpoints: Vec<WebhookEndpoint> = webhook_endpoints::Entity::find()
                .filter(webhook_endpoints::Column::TenantId.is_in(tenants))
                .filter(webhook_endpoints::Column::Enabled.eq(true))
                .all(&txn)
                .await
                .map_err(db_err)?
                .iter()
                .map(endpoint_of)
                .collect::<Result<_, _>>()?;
            let at = to_millis(now);
            let mut deliveries = Vec::new();
            for row in &picked {
                let event_type = crate::outbox::parse_type(&row.event_type)?;
                for endpoint in endpoints.iter().filter(|e| e.tenant_id.0 == row.tenant_id) {
                    if endpoint.wants(event_type) {
                        deliveries.push(delivery_row(row, endpoint.id, at).into_active_model());
                    }
                }
            }
            for chunk in deliveries.chunks(500) {
                webhook_deliveries::Entity::insert_many(chunk.to_vec())
                    .exec_without_returning(&txn)
                    .await
                    .map_err(db_err)?;
            }
            let ids: Vec<Uuid> = picked.iter().map(|e| e.id).collect();
            outbox_events::Entity::update_many()
                .col_expr(outbox_events::Column::DispatchedAt, Expr::value(at))
                .filter(outbox_events::Column::Id.is_in(ids))
                .exec(&txn)
                .await
                .map_err(db_err)?;
            Ok(picked.len() as u64)
        }
        .await;
        finish(txn, result.map(End::Commit)).await
    }

    #[tracing::instrument(name = "db.outbox.claim_deliveries", level = "debug", skip_all)]
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u64,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let backend = self.db.get_database_backend();
        let at = to_millis(now);
        // Found without a lock (nothing due costs no write lock), then locked and
        // re-checked in the write transaction.
        let ranked = self
            .db
            .query_all_raw(statement(
                backend,
                DUE_DELIVERIES,
                vec![at.into(), PER_ENDPOINT.into(), (limit as i64).into()],
            ))
            .await
            .map_err(db_err)?;
        if ranked.is_empty() {
            return Ok(Vec::new());
        }
        let txn = begin_write(&self.db).await?;
        let result = async {
            let mut candidates: Vec<(Uuid, Uuid, String)> = Vec::with_capacity(ranked.len());
            for row in ranked {
                candidates.push((
                    row.try_get("", "id").map_err(db_err)?,
                    row.try_get("", "webhook_id").map_err(db_err)?,
                    row.try_get("", "subject").map_err(db_err)?,
                ));
            }
            if candidates.is_empty() {
                return Ok(Vec::new());
            }
            let ids: Vec<Uuid> = candidates.iter().map(|c| c.0).collect();
            // Lock what is still free; another node may have some of them.
            let locked: HashSet<Uuid> = webhook_deliveries::Entity::find()
                .from_raw_sql(statement(
                    backend,
                    &format!(
                        "SELECT * FROM webhook_deliveries WHERE id IN ({}) AND status = 'pending' \
                         AND (claimed_until IS NULL OR claimed_until < $1){}",
                        placeholders(2, ids.len()),
                        skip_locked(backend)
                    ),
                    std::iter::once(at.into())
                        .chain(ids.iter().map(|id| (*id).into()))
                        .collect(),
                ))
                .all(&txn)
                .await
                .map_err(db_err)?
                .into_iter()
                .map(|d| d.id)
                .collect();
            // A subject stops at its first candidate this node did not get.
            let mut cut: HashSet<(Uuid, String)> = HashSet::new();
            let mut claimed: Vec<Uuid> = Vec::new();
            for (id, webhook, subject) in candidates {
                let key = (webhook, subject);
                if cut.contains(&key) {
                    continue;
                }
                if locked.contains(&id) {
                    claimed.push(id);
                } else {
                    cut.insert(key);
                }
            }
            if claimed.is_empty() {
                return Ok(Vec::new());
            }
            webhook_deliveries::Entity::update_many()
                .col_expr(
                    webhook_deliveries::Column::ClaimedUntil,
                    Expr::value(to_millis(now + lease)),
                )
                .filter(webhook_deliveries::Column::Id.is_in(claimed.clone()))
                .exec(&txn)
                .await
                .map_err(db_err)?;
            due_deliveries(&txn, &claimed).await
        }
        .await;
        finish(txn, result.map(End::Commit)).await
    }

    #[tracing::instrument(name = "db.outbox.record_attempt", level = "debug", skip_all)]
    async fn record_attempt(
        &self,
        record: &AttemptRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        use webhook_deliveries::Column as D;
        use webhook_endpoints::Column as W;
        let txn = begin_write(&self.db).await?;
        let result = async {
            let attempt = &record.attempt;
            webhook_attempts::Entity::insert(
                webhook_attempts::Model {
                    id: Uuid::now_v7(),
                    delivery_id: record.delivery.0,
                    at: to_millis(attempt.at),
                    status_code: attempt.status_code.map(i32::from),
                    latency_ms: attempt.latency_ms,
                    error: attempt.error.clone(),
                    response_excerpt: attempt.response_excerpt.clone(),
                }
                .into_active_model(),
            )
            .exec_without_returning(&txn)
            .await
            .map_err(db_err)?;
            let succeeded = attempt.succeeded();
            let (status, next): (DeliveryStatus, Option<i64>) = if succeeded {
                (DeliveryStatus::Delivered, None)
            } else {
                match record.retry_at {
                    Some(at) => (DeliveryStatus::Pending, Some(to_millis(at))),
                    None => (DeliveryStatus::Dead, None),
                }
            };
            let mut update = webhook_deliveries::Entity::update_many()
                .col_expr(D::Status, Expr::value(status.as_str()))
                .col_expr(D::Attempts, Expr::col(D::Attempts).add(1))
                .col_expr(D::NextAttemptAt, Expr::value(next))
                .col_expr(D::ClaimedUntil, Expr::value(Option::<i64>::None));
            if succeeded {
                update = update.col_expr(D::DeliveredAt, Expr::value(to_millis(now)));
            }
            update
                .filter(D::Id.eq(record.delivery.0))
                .exec(&txn)
                .await
                .map_err(db_err)?;
            let mut endpoint =
                webhook_endpoints::Entity::update_many().filter(W::Id.eq(record.webhook.0));
            endpoint = if succeeded {
                endpoint.col_expr(W::FailingSince, Expr::value(Option::<i64>::None))
            } else {
                endpoint.col_expr(
                    W::FailingSince,
                    Expr::col(W::FailingSince).if_null(to_millis(attempt.at)),
                )
            };
            if let Some(reason) = &record.pause {
                endpoint = endpoint.col_expr(W::PausedReason, Expr::value(reason.clone()));
            }
            endpoint.exec(&txn).await.map_err(db_err)?;
            Ok(())
        }
        .await;
        finish(txn, result.map(End::Commit)).await
    }

    async fn release_deliveries(&self, ids: &[DeliveryId]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let _turn = write_turn(&self.db).await?;
        webhook_deliveries::Entity::update_many()
            .col_expr(
                webhook_deliveries::Column::ClaimedUntil,
                Expr::value(Option::<i64>::None),
            )
            .filter(webhook_deliveries::Column::Id.is_in(ids.iter().map(|d| d.0)))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    #[tracing::instrument(name = "db.outbox.claim_unpublished", level = "debug", skip_all)]
    async fn claim_unpublished(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u64,
    ) -> Result<Vec<Event>, StoreError> {
        let waiting = outbox_events::Entity::find()
            .select_only()
            .column(outbox_events::Column::Id)
            .filter(outbox_events::Column::PublishedAt.is_null())
            .into_tuple::<Uuid>()
            .one(&self.db)
            .await
            .map_err(db_err)?;
        if waiting.is_none() {
            return Ok(Vec::new());
        }
        let txn = begin_write(&self.db).await?;
        let backend = txn.get_database_backend();
        let at = to_millis(now);
        let result = async {
            let rows = txn
                .query_all_raw(statement(
                    backend,
                    &format!(
                        "SELECT o.id, o.tenant_id, o.subject, o.sequence, \
                           (SELECT COUNT(*) FROM outbox_events e WHERE e.tenant_id = o.tenant_id \
                              AND e.subject = o.subject AND e.published_at IS NULL \
                              AND e.sequence < o.sequence) AS earlier \
                         FROM outbox_events o WHERE o.published_at IS NULL \
                           AND (o.publish_claimed_until IS NULL OR o.publish_claimed_until < $1) \
                         ORDER BY o.occurred_at, o.sequence LIMIT $2{}",
                        skip_locked(backend)
                    ),
                    vec![at.into(), (limit as i64).into()],
                ))
                .await
                .map_err(db_err)?;
            let mut candidates: Vec<(Uuid, Uuid, String, i64, i64)> = Vec::new();
            for row in rows {
                candidates.push((
                    row.try_get("", "id").map_err(db_err)?,
                    row.try_get("", "tenant_id").map_err(db_err)?,
                    row.try_get("", "subject").map_err(db_err)?,
                    row.try_get("", "sequence").map_err(db_err)?,
                    row.try_get("", "earlier").map_err(db_err)?,
                ));
            }
            // An event goes only when every earlier unpublished event of its subject goes
            // before it in this claim.
            candidates.sort_by(|a, b| (a.1, &a.2, a.3).cmp(&(b.1, &b.2, b.3)));
            let mut taken: HashMap<(Uuid, String), i64> = HashMap::new();
            let mut claimed: Vec<Uuid> = Vec::new();
            for (id, tenant, subject, _, earlier) in candidates {
                let before = taken.entry((tenant, subject)).or_insert(0);
                if *before == earlier {
                    *before += 1;
                    claimed.push(id);
                } else {
                    // A gap: an earlier one is outside this claim. Stop the subject.
                    *before = i64::MIN;
                }
            }
            if claimed.is_empty() {
                return Ok(Vec::new());
            }
            outbox_events::Entity::update_many()
                .col_expr(
                    outbox_events::Column::PublishClaimedUntil,
                    Expr::value(to_millis(now + lease)),
                )
                .filter(outbox_events::Column::Id.is_in(claimed.clone()))
                .exec(&txn)
                .await
                .map_err(db_err)?;
            let rows = outbox_events::Entity::find()
                .filter(outbox_events::Column::Id.is_in(claimed.clone()))
                .all(&txn)
                .await
                .map_err(db_err)?;
            let mut events: Vec<Event> = rows.iter().map(event_of).collect::<Result<_, _>>()?;
            events.sort_by(|a, b| {
                (a.tenant_id, &a.subject, a.sequence).cmp(&(b.tenant_id, &b.subject, b.sequence))
            });
            Ok(events)
        }
        .await;
        finish(txn, result.map(End::Commit)).await
    }

    async fn mark_published(&self, ids: &[Uuid]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let _turn = write_turn(&self.db).await?;
        outbox_events::Entity::update_many()
            .col_expr(
                outbox_events::Column::PublishedAt,
                Expr::value(to_millis(Utc::now())),
            )
            .col_expr(
                outbox_events::Column::PublishClaimedUntil,
                Expr::value(Option::<i64>::None),
            )
            .filter(outbox_events::Column::Id.is_in(ids.to_vec()))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn release_unpublished(&self, ids: &[Uuid]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let _turn = write_turn(&self.db).await?;
        outbox_events::Entity::update_many()
            .col_expr(
                outbox_events::Column::PublishClaimedUntil,
                Expr::value(Option::<i64>::None),
            )
            .filter(outbox_events::Column::Id.is_in(ids.to_vec()))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    #[tracing::instrument(name = "db.outbox.purge", level = "debug", skip_all)]
    async fn purge(
        &self,
        tenants: &[TenantId],
        before: DateTime<Utc>,
        require_published: bool,
        limit: u64,
    ) -> Result<u64, StoreError> {
        if tenants.is_empty() {
            return Ok(0);
        }
        let backend = self.db.get_database_backend();
        let published = if require_published {
            " AND o.published_at IS NOT NULL"
        } else {
            ""
        };
        let rows = self
            .db
            .query_all_raw(statement(
                backend,
                &format!(
                    "SELECT o.id FROM outbox_events o WHERE o.occurred_at < $1 \
                     AND o.dispatched_at IS NOT NULL{published} \
                     AND o.tenant_id IN ({}) \
                     AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
                       WHERE d.event_id = o.id AND d.status = 'pending') \
                     ORDER BY o.occurred_at LIMIT $2",
                    placeholders(3, tenants.len())
                ),
                [to_millis(before).into(), (limit as i64).into()]
                    .into_iter()
                    .chain(tenants.iter().map(|t| t.0.into()))
                    .collect(),
            ))
            .await
            .map_err(db_err)?;
        let ids: Vec<Uuid> = rows
            .iter()
            .map(|r| r.try_get::<Uuid>("", "id"))
            .collect::<Result<_, _>>()
            .map_err(db_err)?;
        if ids.is_empty() {
            return Ok(0);
        }
        let txn = begin_write(&self.db).await?;
        let result = async {
            let deliveries: Vec<Uuid> = webhook_deliveries::Entity::find()
                .select_only()
                .column(webhook_deliveries::Column::Id)
                .filter(webhook_deliveries::Column::EventId.is_in(ids.clone()))
                .into_tuple()
                .all(&txn)
                .await
                .map_err(db_err)?;
            for chunk in deliveries.chunks(500) {
                webhook_attempts::Entity::delete_many()
                    .filter(webhook_attempts::Column::DeliveryId.is_in(chunk.to_vec()))
                    .exec(&txn)
                    .await
                    .map_err(db_err)?;
                webhook_deliveries::Entity::delete_many()
                    .filter(webhook_deliveries::Column::Id.is_in(chunk.to_vec()))
                    .exec(&txn)
                    .await
                    .map_err(db_err)?;
            }
            let deleted = outbox_events::Entity::delete_many()
                .filter(outbox_events::Column::Id.is_in(ids.clone()))
                .exec(&txn)
                .await
                .map_err(db_err)?;
            Ok(deleted.rows_affected)
        }
        .await;
        finish(txn, result.map(End::Commit)).await
    }

    async fn backlog(&self, now: DateTime<Utc>) -> Result<Backlog, StoreError> {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(statement(
                backend,
                "SELECT \
                   (SELECT COUNT(*) FROM outbox_events WHERE dispatched_at IS NULL) AS undispatched, \
                   (SELECT MIN(occurred_at) FROM outbox_events WHERE dispatched_at IS NULL) AS oldest_event, \
                   (SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending') AS pending, \
                   (SELECT MIN(created_at) FROM webhook_deliveries WHERE status = 'pending') AS oldest_delivery",
                vec![],
            ))
            .await
            .map_err(db_err)?;
        let Some(row) = row else {
            return Ok(Backlog::default());
        };
        let undispatched: i64 = row.try_get("", "undispatched").map_err(db_err)?;
        let pending: i64 = row.try_get("", "pending").map_err(db_err)?;
        let oldest_event: Option<i64> = row.try_get("", "oldest_event").map_err(db_err)?;
        let oldest_delivery: Option<i64> = row.try_get("", "oldest_delivery").map_err(db_err)?;
        let oldest = [oldest_event, oldest_delivery].into_iter().flatten().min();
        Ok(Backlog {
            undispatched: u64::try_from(undispatched).unwrap_or(0),
            oldest_age: oldest.map(|ms| Duration::milliseconds(Ord::max(to_millis(now) - ms, 0))),
            pending_deliveries: u64::try_from(pending).unwrap_or(0),
        })
    }
}

fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn delivery_row(
    event: &outbox_events::Model,
    webhook: WebhookId,
    at: i64,
) -> webhook_deliveries::Model {
    webhook_deliveries::Model {
        id: Uuid::now_v7(),
        tenant_id: event.tenant_id,
        webhook_id: webhook.0,
        event_id: event.id,
        event_type: event.event_type.clone(),
        subject: event.subject.clone(),
        sequence: event.sequence,
        status: DeliveryStatus::Pending.as_str().to_owned(),
        attempts: 0,
        next_attempt_at: Some(at),
        claimed_until: None,
        created_at: at,
        delivered_at: None,
    }
}

/// The claimed deliveries with their events and endpoints, in claim order.
async fn due_deliveries<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> Result<Vec<DueDelivery>, StoreError> {
    let rows = webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::Id.is_in(ids.to_vec()))
        .order_by_asc(webhook_deliveries::Column::WebhookId)
        .order_by_asc(webhook_deliveries::Column::Subject)
        .order_by_asc(webhook_deliveries::Column::Sequence)
        .all(db)
        .await
        .map_err(db_err)?;
    let events: HashMap<Uuid, Event> = outbox_events::Entity::find()
        .filter(outbox_events::Column::Id.is_in(rows.iter().map(|d| d.event_id)))
        .all(db)
        .await
        .map_err(db_err)?
        .iter()
        .map(|e| event_of(e).map(|ev| (e.id, ev)))
        .collect::<Result<_, _>>()?;
    let endpoints: HashMap<Uuid, WebhookEndpoint> = webhook_endpoints::Entity::find()
        .filter(webhook_endpoints::Column::Id.is_in(rows.iter().map(|d| d.webhook_id)))
        .all(db)
        .await
        .map_err(db_err)?
        .iter()
        .map(|w| endpoint_of(w).map(|e| (w.id, e)))
        .collect::<Result<_, _>>()?;
    let mut due = Vec::with_capacity(rows.len());
    for row in rows {
        let (Some(event), Some(endpoint)) =
            (events.get(&row.event_id), endpoints.get(&row.webhook_id))
        else {
            continue;
        };
        due.push(DueDelivery {
            id: DeliveryId(row.id),
            endpoint: endpoint.clone(),
            event: event.clone(),
            attempts: u32::try_from(row.attempts).unwrap_or(0),
            created_at: from_millis(row.created_at, "webhook_deliveries.created_at")?,
        });
    }
    Ok(due)
}
