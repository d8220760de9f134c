//! [`IdempotencyStore`] on the `idempotency_records` table, and [`seal_in`], which the
//! repositories call inside a write transaction so a change and its key commit together.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
};
use trolley_core::StoreError;
use trolley_core::domain::{Receipt, Replay, Seal};
use trolley_core::ports::{IdempotencyLookup, IdempotencyStore, StoredResponse};
use uuid::Uuid;

use crate::convert::to_millis;
use crate::entity::idempotency_records::{self, Column, Entity};
use crate::error::{corrupt, db_err};
use crate::write_turns::write_turn;

/// Written by the change's transaction; the answer is not stored yet.
const COMMITTED: &str = "committed";
/// The answer is stored.
const COMPLETED: &str = "completed";
/// A claim taken before the request ran, by releases before the record moved into the
/// change's transaction. Still honoured (a node of that release may be running it) until it
/// goes stale.
const IN_PROGRESS: &str = "in_progress";

#[derive(Debug, Clone)]
pub struct SqlIdempotencyStore {
    db: DatabaseConnection,
}

impl SqlIdempotencyStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn by_key(scope: &str, key: &str) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(Column::Scope.eq(scope))
        .add(Column::IdemKey.eq(key))
}

/// A scope that starts with a tenant id (`<uuid>:…`) is that tenant's.
fn tenant_of_scope(scope: &str) -> Option<Uuid> {
    let (head, _) = scope.split_once(':')?;
    Uuid::parse_str(head).ok()
}

fn record(receipt: &Receipt, state: &str, now: i64) -> idempotency_records::Model {
    idempotency_records::Model {
        scope: receipt.scope.clone(),
        idem_key: receipt.key.clone(),
        tenant_id: tenant_of_scope(&receipt.scope),
        fingerprint: receipt.fingerprint.clone(),
        state: state.to_owned(),
        status_code: None,
        content_type: None,
        etag: None,
        location: None,
        body: None,
        created_at: to_millis(receipt.at),
        updated_at: now,
        replay: None,
        replay_secret: None,
    }
}

/// Binds `seal`'s key to the change `db` (a transaction) is writing. Call it before the
/// change's own statements: on PostgreSQL a second transaction sealing the same key then
/// waits for the first and fails instead of doing its work twice. A key already bound
/// answers [`StoreError::IdempotencyKeyTaken`], and the caller must roll back.
pub(crate) async fn seal_in(db: &impl ConnectionTrait, seal: Seal<'_>) -> Result<(), StoreError> {
    let inserted = Entity::insert(sealed_row(seal).into_active_model())
        .on_conflict(
            OnConflict::columns([Column::Scope, Column::IdemKey])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map_err(db_err)?;
    if inserted == 1 {
        Ok(())
    } else {
        Err(StoreError::IdempotencyKeyTaken)
    }
}

/// The record a seal writes: the key bound to the change, its answer not stored yet.
pub(crate) fn sealed_row(seal: Seal<'_>) -> idempotency_records::Model {
    let (replay, secret) = seal.replay.to_stored();
    idempotency_records::Model {
        replay: Some(replay),
        replay_secret: secret,
        ..record(seal.receipt, COMMITTED, to_millis(seal.receipt.at))
    }
}

/// [`seal_in`] when there is a seal.
pub(crate) async fn seal_opt(
    db: &impl ConnectionTrait,
    seal: Option<Seal<'_>>,
) -> Result<(), StoreError> {
    match seal {
        Some(seal) => seal_in(db, seal).await,
        None => Ok(()),
    }
}

fn stored_response(row: &idempotency_records::Model) -> Result<StoredResponse, StoreError> {
    let what = || format!("idempotency record ({}, {})", row.scope, row.idem_key);
    let status = row
        .status_code
        .and_then(|s| u16::try_from(s).ok())
        .ok_or_else(|| corrupt(format!("{} is completed without a status", what())))?;
    let content_type = row
        .content_type
        .clone()
        .ok_or_else(|| corrupt(format!("{} is completed without a content type", what())))?;
    Ok(StoredResponse {
        status,
        content_type,
        etag: row.etag.clone(),
        location: row.location.clone(),
        body: row.body.clone().unwrap_or_default(),
    })
}

impl SqlIdempotencyStore {
    async fn find(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<idempotency_records::Model>, StoreError> {
        Entity::find()
            .filter(by_key(scope, key))
            .one(&self.db)
            .await
            .map_err(db_err)
    }
}

#[async_trait]
impl IdempotencyStore for SqlIdempotencyStore {
    async fn lookup(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        stale_after: chrono::Duration,
    ) -> Result<IdempotencyLookup, StoreError> {
        let Some(row) = self.find(scope, key).await? else {
            return Ok(IdempotencyLookup::Unused);
        };
        if row.fingerprint != fingerprint {
            return Ok(IdempotencyLookup::Mismatch);
        }
        match row.state.as_str() {
            COMPLETED => Ok(IdempotencyLookup::Completed(stored_response(&row)?)),
            COMMITTED => {
                let kind = row.replay.as_deref().unwrap_or_default();
                Replay::from_stored(kind, row.replay_secret.clone())
                    .map(IdempotencyLookup::Committed)
                    .ok_or_else(|| {
                        corrupt(format!(
                            "idempotency record ({scope}, {key}) has replay `{kind}`"
                        ))
                    })
            }
            IN_PROGRESS => {
                let stale_before =
                    to_millis(now).saturating_sub(Ord::max(stale_after.num_milliseconds(), 0));
                if row.updated_at >= stale_before {
                    return Ok(IdempotencyLookup::InProgress);
                }
                // Abandoned by a node that died: nothing it did was recorded with it, and
                // its release wrote the change apart from the claim, so forget the claim.
                let _turn = write_turn(&self.db).await?;
                Entity::delete_many()
                    .filter(by_key(scope, key))
                    .filter(Column::State.eq(IN_PROGRESS))
                    .filter(Column::UpdatedAt.eq(row.updated_at))
                    .exec(&self.db)
                    .await
                    .map_err(db_err)?;
                Ok(IdempotencyLookup::Unused)
            }
            other => Err(corrupt(format!(
                "idempotency record ({scope}, {key}) has state `{other}`"
            ))),
        }
    }

    async fn complete(
        &self,
        receipt: &Receipt,
        response: &StoredResponse,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredResponse>, StoreError> {
        let now = to_millis(now);
        let row = idempotency_records::Model {
            status_code: Some(i32::from(response.status)),
            content_type: Some(response.content_type.clone()),
            etag: response.etag.clone(),
            location: response.location.clone(),
            body: Some(response.body.clone()),
            ..record(receipt, COMPLETED, now)
        };
        // Insert the answer, or fill it into the record this request's change committed
        // (same fingerprint, not yet answered). A record answered by someone else stays.
        let fill = Expr::col((Entity, Column::State))
            .eq(COMMITTED)
            .and(Expr::col((Entity, Column::Fingerprint)).eq(receipt.fingerprint.as_str()));
        let _turn = write_turn(&self.db).await?;
        let written = Entity::insert(row.into_active_model())
            .on_conflict(
                OnConflict::columns([Column::Scope, Column::IdemKey])
                    .update_columns([
                        Column::State,
                        Column::StatusCode,
                        Column::ContentType,
                        Column::Etag,
                        Column::Location,
                        Column::Body,
                        Column::UpdatedAt,
                    ])
                    .value(Column::ReplaySecret, Expr::value(None::<String>))
                    .action_and_where(fill)
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map_err(db_err)?;
        if written == 1 {
            return Ok(None);
        }
        match self.find(&receipt.scope, &receipt.key).await? {
            Some(row) if row.state == COMPLETED && row.fingerprint == receipt.fingerprint => {
                Ok(Some(stored_response(&row)?))
            }
            // A different request, or one still in flight: this answer is not stored, and
            // the caller keeps its own.
            _ => Ok(None),
        }
    }

    async fn purge(&self, before: DateTime<Utc>, limit: u64) -> Result<u64, StoreError> {
        // A bounded batch: `DELETE … LIMIT` is not portable, so delete by the keys of the
        // oldest `limit` rows.
        let batch = Query::select()
            .columns([Column::Scope, Column::IdemKey])
            .from(Entity)
            .and_where(Expr::col(Column::CreatedAt).lt(to_millis(before)))
            .order_by(Column::CreatedAt, sea_orm::Order::Asc)
            .limit(limit)
            .to_owned();
        let _turn = write_turn(&self.db).await?;
        let deleted = Entity::delete_many()
            .filter(
                Expr::tuple([Expr::col(Column::Scope), Expr::col(Column::IdemKey)])
                    .in_subquery(batch),
            )
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(deleted.rows_affected)
    }
}
