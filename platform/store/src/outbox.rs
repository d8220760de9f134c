//! The outbox: events appended in the transaction of the change that raised them, each
//! numbered gap-free per subject.
//!
//! The number comes from `event_sequences`, bumped by one upsert per subject in the same
//! transaction: two changes of one subject serialize on that row, and a rolled-back change
//! gives its numbers back with everything else. The unique index on
//! `(tenant_id, subject, sequence)` makes a forked history impossible, not just unlikely.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, EntityTrait, IntoActiveModel};
use trolley_core::StoreError;
use trolley_core::domain::event::SCHEMA_VERSION;
use trolley_core::domain::{Event, EventType, NewEvent, Subject, SubjectKind, TenantId};

use crate::convert::{from_json, from_millis, to_json, to_millis};
use crate::entity::{event_sequences, outbox_events};
use crate::error::{corrupt, db_err};

/// A subject as stored: `kind:id`.
pub(crate) fn subject_key(subject: &Subject) -> String {
    format!("{}:{}", subject.kind.as_str(), subject.id)
}

pub(crate) fn parse_subject(key: &str) -> Result<Subject, StoreError> {
    key.split_once(':')
        .and_then(|(kind, id)| {
            Some(Subject {
                kind: SubjectKind::parse(kind)?,
                id: id.to_owned(),
            })
        })
        .ok_or_else(|| corrupt(format!("event subject `{key}` is not kind:id")))
}

pub(crate) fn parse_type(name: &str) -> Result<EventType, StoreError> {
    EventType::parse(name).ok_or_else(|| corrupt(format!("event type `{name}` is unknown")))
}

/// One subject's share of a change's events, as outbox rows whose `sequence` is still
/// their place in the batch (1..=n): the numbers are taken when the rows are written.
pub(crate) struct Batch {
    pub subject: String,
    pub rows: Vec<outbox_events::Model>,
}

/// `events` (in order) as outbox rows, one batch per subject in the order subjects first
/// appear.
pub(crate) fn batches(
    tenant: TenantId,
    events: &[NewEvent],
    now: DateTime<Utc>,
) -> Result<Vec<Batch>, StoreError> {
    let occurred_at = to_millis(now);
    let mut batches: Vec<Batch> = Vec::new();
    for event in events {
        let subject = subject_key(&event.subject);
        let index = match batches.iter().position(|b| b.subject == subject) {
            Some(index) => index,
            None => {
                batches.push(Batch {
                    subject: subject.clone(),
                    rows: Vec::new(),
                });
                batches.len() - 1
            }
        };
        let batch = &mut batches[index];
        let place = i64::try_from(batch.rows.len() + 1)
            .map_err(|_| StoreError::Internal("too many events in one change".into()))?;
        batch.rows.push(outbox_events::Model {
            id: uuid::Uuid::now_v7(),
            tenant_id: tenant.0,
            event_type: event.event_type.as_str().to_owned(),
            subject,
            sequence: place,
            occurred_at,
            schema_version: SCHEMA_VERSION,
            data: to_json(&event.data, "event data")?,
            dispatched_at: None,
            published_at: None,
            publish_claimed_until: None,
        });
    }
    Ok(batches)
}

/// Appends `events` (in order) to the outbox, inside the caller's transaction.
pub(crate) async fn append<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    events: &[NewEvent],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut rows = Vec::with_capacity(events.len());
    for batch in batches(tenant, events, now)? {
        let n = i64::try_from(batch.rows.len())
            .map_err(|_| StoreError::Internal("too many events in one change".into()))?;
        let last = bump(db, tenant, &batch.subject, n).await?;
        rows.extend(batch.rows.into_iter().map(|row| {
            outbox_events::Model {
                sequence: last - n + row.sequence,
                ..row
            }
            .into_active_model()
        }));
    }
    if rows.is_empty() {
        return Ok(());
    }
    outbox_events::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Takes `n` more numbers for a subject; answers the last one taken.
async fn bump<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    subject: &str,
    n: i64,
) -> Result<i64, StoreError> {
    use event_sequences::Column;
    let statement = Query::insert()
        .into_table(event_sequences::Entity)
        .columns([Column::TenantId, Column::Subject, Column::LastSequence])
        .values_panic([tenant.0.into(), subject.into(), n.into()])
        .on_conflict(
            OnConflict::columns([Column::TenantId, Column::Subject])
                .value(
                    Column::LastSequence,
                    Expr::col((event_sequences::Entity, Column::LastSequence)).add(n),
                )
                .to_owned(),
        )
        .returning_col(Column::LastSequence)
        .to_owned();
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(backend.build(&statement))
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::Internal("the sequence upsert returned no row".into()))?;
    row.try_get::<i64>("", "last_sequence").map_err(db_err)
}

/// An outbox row as the envelope consumers get.
pub(crate) fn event_of(row: &outbox_events::Model) -> Result<Event, StoreError> {
    Ok(Event {
        id: row.id,
        event_type: parse_type(&row.event_type)?,
        tenant_id: TenantId(row.tenant_id),
        subject: parse_subject(&row.subject)?,
        sequence: row.sequence,
        occurred_at: from_millis(row.occurred_at, "outbox_events.occurred_at")?,
        schema_version: row.schema_version,
        data: from_json(&row.data, "outbox_events.data")?,
    })
}
