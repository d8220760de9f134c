//! [`IdempotencyStore`] on the `idempotency_records` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter};
use trolley_core::StoreError;
use trolley_core::ports::{IdempotencyClaim, IdempotencyStore, StoredResponse};
use uuid::Uuid;

use crate::convert::to_millis;
use crate::entity::idempotency_records::{self, Column};
use crate::error::{corrupt, db_err};

const IN_PROGRESS: &str = "in_progress";
const COMPLETED: &str = "completed";

/// How many times `claim` retries when the row it conflicted with is released before it
/// can be read.
const CLAIM_ATTEMPTS: usize = 3;

#[derive(Debug, Clone)]
pub struct SqlIdempotencyStore {
    db: DatabaseConnection,
}

impl SqlIdempotencyStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    fn by_key(scope: &str, key: &str) -> sea_orm::Condition {
        sea_orm::Condition::all()
            .add(Column::Scope.eq(scope))
            .add(Column::IdemKey.eq(key))
    }

    /// Inserts an in-progress claim unless the key exists; true if this call inserted it.
    async fn try_insert(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let row = idempotency_records::Model {
            scope: scope.to_owned(),
            idem_key: key.to_owned(),
            tenant_id: tenant_of_scope(scope),
            fingerprint: fingerprint.to_owned(),
            state: IN_PROGRESS.to_owned(),
            status_code: None,
            content_type: None,
            etag: None,
            location: None,
            body: None,
            created_at: now,
            updated_at: now,
        };
        let inserted = idempotency_records::Entity::insert(row.into_active_model())
            .on_conflict(
                OnConflict::columns([Column::Scope, Column::IdemKey])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map_err(db_err)?;
        Ok(inserted == 1)
    }
}

/// A scope that starts with a tenant id (`<uuid>:…`) is that tenant's.
fn tenant_of_scope(scope: &str) -> Option<Uuid> {
    let (head, _) = scope.split_once(':')?;
    Uuid::parse_str(head).ok()
}

fn stored_response(row: idempotency_records::Model) -> Result<StoredResponse, StoreError> {
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
        etag: row.etag,
        location: row.location,
        body: row.body.unwrap_or_default(),
    })
}

#[async_trait]
impl IdempotencyStore for SqlIdempotencyStore {
    async fn claim(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        stale_after: chrono::Duration,
    ) -> Result<IdempotencyClaim, StoreError> {
        let now = to_millis(now);
        for _ in 0..CLAIM_ATTEMPTS {
            if self.try_insert(scope, key, fingerprint, now).await? {
                return Ok(IdempotencyClaim::Claimed);
            }
            let Some(row) = idempotency_records::Entity::find()
                .filter(Self::by_key(scope, key))
                .one(&self.db)
                .await
                .map_err(db_err)?
            else {
                // Released between our insert and our read: try to claim it again.
                continue;
            };
            if row.fingerprint != fingerprint {
                return Ok(IdempotencyClaim::Mismatch);
            }
            match row.state.as_str() {
                COMPLETED => return Ok(IdempotencyClaim::Completed(stored_response(row)?)),
                IN_PROGRESS => {}
                other => {
                    return Err(corrupt(format!(
                        "idempotency record ({scope}, {key}) has state `{other}`"
                    )));
                }
            }
            let stale_before = now.saturating_sub(stale_after.num_milliseconds().max(0));
            if row.updated_at >= stale_before {
                return Ok(IdempotencyClaim::InProgress);
            }
            // A claim abandoned by a crashed node: take it over, unless someone else just
            // did (the update only matches the exact row we read).
            let taken = idempotency_records::Entity::update_many()
                .col_expr(Column::UpdatedAt, Expr::value(now))
                .filter(Self::by_key(scope, key))
                .filter(Column::State.eq(IN_PROGRESS))
                .filter(Column::UpdatedAt.eq(row.updated_at))
                .exec(&self.db)
                .await
                .map_err(db_err)?;
            return Ok(if taken.rows_affected == 1 {
                IdempotencyClaim::Claimed
            } else {
                IdempotencyClaim::InProgress
            });
        }
        // The key keeps appearing and disappearing: someone is working on it.
        Ok(IdempotencyClaim::InProgress)
    }

    async fn complete(
        &self,
        scope: &str,
        key: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let updated = idempotency_records::Entity::update_many()
            .col_expr(Column::State, Expr::value(COMPLETED))
            .col_expr(Column::StatusCode, Expr::value(i32::from(response.status)))
            .col_expr(
                Column::ContentType,
                Expr::value(response.content_type.clone()),
            )
            .col_expr(Column::Etag, Expr::value(response.etag.clone()))
            .col_expr(Column::Location, Expr::value(response.location.clone()))
            .col_expr(Column::Body, Expr::value(response.body.clone()))
            .col_expr(Column::UpdatedAt, Expr::value(to_millis(Utc::now())))
            .filter(Self::by_key(scope, key))
            .filter(Column::State.eq(IN_PROGRESS))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        if updated.rows_affected == 0 {
            // Released, purged or already completed by a takeover: the first answer stands.
            tracing::warn!(scope, key, "idempotency claim vanished before completion");
        }
        Ok(())
    }

    async fn release(&self, scope: &str, key: &str) -> Result<(), StoreError> {
        // Only an unfinished claim: a completed response is never forgotten early.
        idempotency_records::Entity::delete_many()
            .filter(Self::by_key(scope, key))
            .filter(Column::State.eq(IN_PROGRESS))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
