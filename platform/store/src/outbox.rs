//! The outbox: events appended in the transaction of the change that raised them, each
//! numbered gap-free per subject.
//!
//! The number comes from `event_sequences`, bumped by one upsert per subject in the same
//! transaction: two changes of one subject serialize on that row, and a rolled-back change
//! gives its numbers back with everything else. The unique index on
//! `(tenant_id, subject, sequence)` makes a forked history impossible, not just unlikely.

use std::collections::HashMap;

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

/// Appends `events` (in order) to the outbox, inside the caller's transaction.
pub(crate) async fn append<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    events: &[NewEvent],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    // How many numbers each subject needs, in the order subjects first appear.
    let mut wanted: Vec<(String, i64)> = Vec::new();
    for event in events {
        let key = subject_key(&event.subject);
        match wanted.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => wanted.push((key, 1)),
        }
    }
    let mut next: HashMap<String, i64> = HashMap::with_capacity(wanted.len());
    for (key, n) in wanted {
        let last = bump(db, tenant, &key, n).await?;
        next.insert(key, last - n + 1);
    }
    let occurred_at = to_millis(now);
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        let key = subject_key(&event.subject);
        let sequence = next.get_mut(&key).map_or(1, |s| {
            let this = *s;
            *s += 1;
            this
        });
        rows.push(
            outbox_events::Model {
                id: uuid::Uuid::now_v7(),
                tenant_id: tenant.0,
                event_type: event.event_type.as_str().to_owned(),
                subject: key,
                sequence,
                occurred_at,
                schema_version: SCHEMA_VERSION,
                data: to_json(&event.data, "event data")?,
                dispatched_at: None,
                published_at: None,
                publish_claimed_until: None,
            }
            .into_active_model(),
        );
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
