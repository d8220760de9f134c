//! [`WebhookRepository`]: tenants' webhook endpoints, their delivery logs, redeliveries and
//! replays.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::HashMap;
use trolley_core::StoreError;
use trolley_core::domain::{
    Delivery, DeliveryAttempt, DeliveryId, DeliveryStatus, EventType, TenantId, WebhookEndpoint,
    WebhookId, WebhookSecret,
};
use trolley_core::ports::WebhookRepository;
use uuid::Uuid;

use crate::convert::{from_json, from_millis, to_json, to_millis};
use crate::entity::{outbox_events, webhook_attempts, webhook_deliveries, webhook_endpoints};
use crate::error::{corrupt, db_err};
use crate::outbox::{parse_subject, parse_type};
use crate::relay::delivery_row;
use crate::stock::{End, finish};
use crate::write_turns::{begin_write, write_turn};

#[derive(Debug, Clone)]
pub struct SqlWebhookRepository {
    db: DatabaseConnection,
}

impl SqlWebhookRepository {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn secret(stored: &str) -> Result<WebhookSecret, StoreError> {
    WebhookSecret::from_stored(stored).ok_or_else(|| corrupt("a webhook secret is malformed"))
}

pub(crate) fn endpoint_of(row: &webhook_endpoints::Model) -> Result<WebhookEndpoint, StoreError> {
    let event_types = match &row.event_types {
        None => None,
        Some(text) => {
            let names: Vec<String> = from_json(text, "webhook_endpoints.event_types")?;
            Some(
                names
                    .iter()
                    .map(|n| parse_type(n))
                    .collect::<Result<Vec<EventType>, _>>()?,
            )
        }
    };
    let previous_secret = match (&row.previous_secret, row.previous_secret_until) {
        (Some(s), Some(until)) => Some((
            secret(s)?,
            from_millis(until, "webhook_endpoints.previous_secret_until")?,
        )),
        _ => None,
    };
    Ok(WebhookEndpoint {
        id: WebhookId(row.id),
        tenant_id: TenantId(row.tenant_id),
        url: row.url.clone(),
        event_types,
        description: row.description.clone(),
        enabled: row.enabled,
        paused_reason: row.paused_reason.clone(),
        secret: secret(&row.secret)?,
        previous_secret,
        failing_since: row
            .failing_since
            .map(|ms| from_millis(ms, "webhook_endpoints.failing_since"))
            .transpose()?,
        created_at: from_millis(row.created_at, "webhook_endpoints.created_at")?,
        updated_at: from_millis(row.updated_at, "webhook_endpoints.updated_at")?,
    })
}

fn row_of(endpoint: &WebhookEndpoint) -> Result<webhook_endpoints::Model, StoreError> {
    let event_types = endpoint
        .event_types
        .as_ref()
        .map(|types| {
            let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
            to_json(&names, "webhook event types")
        })
        .transpose()?;
    Ok(webhook_endpoints::Model {
        id: endpoint.id.0,
        tenant_id: endpoint.tenant_id.0,
        url: endpoint.url.clone(),
        event_types,
        description: endpoint.description.clone(),
        enabled: endpoint.enabled,
        paused_reason: endpoint.paused_reason.clone(),
        secret: endpoint.secret.expose().to_owned(),
        previous_secret: endpoint
            .previous_secret
            .as_ref()
            .map(|(s, _)| s.expose().to_owned()),
        previous_secret_until: endpoint
            .previous_secret
            .as_ref()
            .map(|(_, t)| to_millis(*t)),
        failing_since: endpoint.failing_since.map(to_millis),
        created_at: to_millis(endpoint.created_at),
        updated_at: to_millis(endpoint.updated_at),
    })
}

fn attempt_of(row: &webhook_attempts::Model) -> Result<DeliveryAttempt, StoreError> {
    Ok(DeliveryAttempt {
        at: from_millis(row.at, "webhook_attempts.at")?,
        status_code: row.status_code.and_then(|s| u16::try_from(s).ok()),
        latency_ms: row.latency_ms,
        error: row.error.clone(),
        response_excerpt: row.response_excerpt.clone(),
    })
}

fn delivery_of(
    row: &webhook_deliveries::Model,
    attempts: Vec<DeliveryAttempt>,
) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        id: DeliveryId(row.id),
        tenant_id: TenantId(row.tenant_id),
        webhook_id: WebhookId(row.webhook_id),
        event_id: row.event_id,
        event_type: parse_type(&row.event_type)?,
        subject: parse_subject(&row.subject)?,
        sequence: row.sequence,
        status: DeliveryStatus::parse(&row.status)
            .ok_or_else(|| corrupt(format!("delivery status `{}` is unknown", row.status)))?,
        next_attempt_at: row
            .next_attempt_at
            .map(|ms| from_millis(ms, "webhook_deliveries.next_attempt_at"))
            .transpose()?,
        created_at: from_millis(row.created_at, "webhook_deliveries.created_at")?,
        delivered_at: row
            .delivered_at
            .map(|ms| from_millis(ms, "webhook_deliveries.delivered_at"))
            .transpose()?,
        attempts,
    })
}

impl SqlWebhookRepository {
    async fn with_attempts(
        &self,
        rows: Vec<webhook_deliveries::Model>,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut attempts: HashMap<Uuid, Vec<DeliveryAttempt>> = HashMap::new();
        if !rows.is_empty() {
            for row in webhook_attempts::Entity::find()
                .filter(webhook_attempts::Column::DeliveryId.is_in(rows.iter().map(|d| d.id)))
                .order_by_asc(webhook_attempts::Column::Id)
                .all(&self.db)
                .await
                .map_err(db_err)?
            {
                attempts
                    .entry(row.delivery_id)
                    .or_default()
                    .push(attempt_of(&row)?);
            }
        }
        rows.iter()
            .map(|row| delivery_of(row, attempts.remove(&row.id).unwrap_or_default()))
            .collect()
    }
}

#[async_trait]
impl WebhookRepository for SqlWebhookRepository {
    async fn create(&self, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
        let _turn = write_turn(&self.db).await?;
        webhook_endpoints::Entity::insert(row_of(endpoint)?.into_active_model())
            .exec_without_returning(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn list(&self, tenant: TenantId) -> Result<Vec<WebhookEndpoint>, StoreError> {
        webhook_endpoints::Entity::find()
            .filter(webhook_endpoints::Column::TenantId.eq(tenant.0))
            .order_by_asc(webhook_endpoints::Column::Id)
            .all(&self.db)
            .await
            .map_err(db_err)?
            .iter()
            .map(endpoint_of)
            .collect()
    }

    async fn get(
        &self,
        tenant: TenantId,
        id: WebhookId,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        webhook_endpoints::Entity::find_by_id(id.0)
            .filter(webhook_endpoints::Column::TenantId.eq(tenant.0))
            .one(&self.db)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(endpoint_of)
            .transpose()
    }

    async fn update(&self, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
        // Every field written (`reset_all`), except: the tenant and creation time never
        // change, and the failing stretch is the relay's to keep, except when enabling
        // clears it.
        let mut row = row_of(endpoint)?.into_active_model().reset_all();
        row.id = ActiveValue::Unchanged(endpoint.id.0);
        row.tenant_id = ActiveValue::NotSet;
        row.created_at = ActiveValue::NotSet;
        if endpoint.failing_since.is_some() {
            row.failing_since = ActiveValue::NotSet;
        }
        let _turn = write_turn(&self.db).await?;
        webhook_endpoints::Entity::update_many()
            .set(row)
            .filter(webhook_endpoints::Column::Id.eq(endpoint.id.0))
            .filter(webhook_endpoints::Column::TenantId.eq(endpoint.tenant_id.0))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn delete(&self, tenant: TenantId, id: WebhookId) -> Result<bool, StoreError> {
        let txn = begin_write(&self.db).await?;
        let result = async {
            let deliveries: Vec<Uuid> = webhook_deliveries::Entity::find()
                .select_only()
                .column(webhook_deliveries::Column::Id)
                .filter(webhook_deliveries::Column::WebhookId.eq(id.0))
                .filter(webhook_deliveries::Column::TenantId.eq(tenant.0))
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
            }
            webhook_deliveries::Entity::delete_many()
                .filter(webhook_deliveries::Column::WebhookId.eq(id.0))
                .filter(webhook_deliveries::Column::TenantId.eq(tenant.0))
                .exec(&txn)
                .await
                .map_err(db_err)?;
            let deleted = webhook_endpoints::Entity::delete_many()
                .filter(webhook_endpoints::Column::Id.eq(id.0))
                .filter(webhook_endpoints::Column::TenantId.eq(tenant.0))
                .exec(&txn)
                .await
                .map_err(db_err)?;
            Ok(deleted.rows_affected > 0)
        }
        .await;
        finish(txn, result.map(End::Commit)).await
    }

    async fn deliveries(
        &self,
        tenant: TenantId,
        id: WebhookId,
        before: Option<DeliveryId>,
        limit: u64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut query = webhook_deliveries::Entity::find()
            .filter(webhook_deliveries::Column::TenantId.eq(tenant.0))
            .filter(webhook_deliveries::Column::WebhookId.eq(id.0));
        if let Some(before) = before {
            query = query.filter(webhook_deliveries::Column::Id.lt(before.0));
        }
        let rows = query
            .order_by_desc(webhook_deliveries::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        self.with_attempts(rows).await
    }

    async fn redeliver(
        &self,
        tenant: TenantId,
        id: WebhookId,
        delivery: DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<Option<Delivery>, StoreError> {
        use webhook_deliveries::Column as D;
        // A fresh retry window from now; the attempts so far stay in the log.
        let _turn = write_turn(&self.db).await?;
        webhook_deliveries::Entity::update_many()
            .col_expr(D::Status, Expr::value(DeliveryStatus::Pending.as_str()))
            .col_expr(D::NextAttemptAt, Expr::value(to_millis(now)))
            .col_expr(D::CreatedAt, Expr::value(to_millis(now)))
            .col_expr(D::DeliveredAt, Expr::value(Option::<i64>::None))
            .filter(D::Id.eq(delivery.0))
            .filter(D::WebhookId.eq(id.0))
            .filter(D::TenantId.eq(tenant.0))
            // One being sent right now is left to finish.
            .filter(
                sea_orm::Condition::any()
                    .add(D::ClaimedUntil.is_null())
                    .add(D::ClaimedUntil.lt(to_millis(now))),
            )
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        let row = webhook_deliveries::Entity::find_by_id(delivery.0)
            .filter(D::WebhookId.eq(id.0))
            .filter(D::TenantId.eq(tenant.0))
            .one(&self.db)
            .await
            .map_err(db_err)?;
        match row {
            Some(row) => Ok(self.with_attempts(vec![row]).await?.pop()),
            None => Ok(None),
        }
    }

    async fn replay(
        &self,
        endpoint: &WebhookEndpoint,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let txn = begin_write(&self.db).await?;
        let result = async {
            let mut query = outbox_events::Entity::find()
                .filter(outbox_events::Column::TenantId.eq(endpoint.tenant_id.0))
                .filter(outbox_events::Column::OccurredAt.gte(to_millis(since)))
                // Events not fanned out yet reach the endpoint anyway.
                .filter(outbox_events::Column::DispatchedAt.is_not_null());
            if let Some(types) = &endpoint.event_types {
                query = query.filter(
                    outbox_events::Column::EventType.is_in(types.iter().map(|t| t.as_str())),
                );
            }
            let events = query
                .order_by_asc(outbox_events::Column::OccurredAt)
                .all(&txn)
                .await
                .map_err(db_err)?;
            let at = to_millis(now);
            let rows: Vec<_> = events
                .iter()
                .map(|e| delivery_row(e, endpoint.id, at).into_active_model())
                .collect();
            for chunk in rows.chunks(500) {
                webhook_deliveries::Entity::insert_many(chunk.to_vec())
                    .exec_without_returning(&txn)
                    .await
                    .map_err(db_err)?;
            }
            Ok(events.len() as u64)
        }
        .await;
        finish(txn, result.map(End::Commit)).await
    }
}
