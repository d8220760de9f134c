//! [`RetentionRepository`]: deleting ended carts and checkouts once their tenant's
//! retention has passed, in bounded batches, on every node at once.
//!
//! How concurrent sweeps stay apart: each batch picks its rows inside its transaction with
//! `SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL), so two nodes take disjoint batches and
//! never wait on each other; on SQLite the write transaction begins `IMMEDIATE` (one writer
//! at a time) and the pick is simply re-done under the lock. Every delete repeats the
//! "ended and old" condition, and the counts are the rows this transaction deleted, so a
//! row is never counted by two nodes.
//!
//! Why this cannot deadlock with live writes: an ended cart is terminal — no mutation,
//! checkout or merge writes its row or lines again — so the row locks taken here are
//! wanted by nobody else. Line holds a merged cart may still have (its release is best
//! effort) go back to stock first, each cart in its own short transaction under its cart
//! lock, exactly as the expiry sweep releases holds (`stock.rs` lock order). A cart that
//! still has any hold when its batch runs is skipped, never deleted under a reservation.
//!
//! Merge records (`cart_merges`) of a deleted source cart go with it: a record only serves
//! a replayed merge of that source, which after retention answers 404 like the cart.
//! Orders stay forever and carry who may read them (`orders.cart_token_hash`, or the
//! customer in the body), so neither the cart nor the checkout is needed to read one.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{LockBehavior, LockType, Query};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use trolley_core::StoreError;
use trolley_core::domain::lifecycle::{ENDED_CART_STATUSES, ENDED_CHECKOUT_STATUSES};
use trolley_core::domain::{CartId, TenantId};
use trolley_core::ports::RetentionRepository;
use uuid::Uuid;

use crate::convert::to_millis;
use crate::entity::{cart_lines, cart_merges, carts, checkouts, stock_holds};
use crate::error::db_err;
use crate::stock::{End, LINE, finish, give_back, lock_cart, take_line_holds};
use crate::write_turns::{WriteTxn, begin_write, write_turn};

#[derive(Debug, Clone)]
pub struct SqlRetentionRepository {
    db: DatabaseConnection,
}

impl SqlRetentionRepository {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    async fn begin_write(&self) -> Result<WriteTxn, StoreError> {
        begin_write(&self.db).await
    }

    /// Gives one ended cart's leftover line holds back to stock, under its cart lock.
    async fn release_leftover_holds(&self, tenant: Uuid, cart: Uuid) -> Result<u64, StoreError> {
        let txn = self.begin_write().await?;
        let result = async {
            lock_cart(&txn, cart).await?;
            let taken = take_line_holds(&txn, tenant, cart).await?;
            give_back(&txn, &taken).await?;
            Ok(End::Commit(taken.len() as u64))
        }
        .await;
        finish(txn, result).await
    }
}

fn uuids(tenants: &[TenantId]) -> Vec<Uuid> {
    tenants.iter().map(|t| t.0).collect()
}

fn ended_carts() -> Vec<&'static str> {
    ENDED_CART_STATUSES.iter().map(|s| s.as_str()).collect()
}

fn ended_checkouts() -> Vec<&'static str> {
    ENDED_CHECKOUT_STATUSES.iter().map(|s| s.as_str()).collect()
}

#[async_trait]
impl RetentionRepository for SqlRetentionRepository {
    #[tracing::instrument(name = "db.retention.carts", level = "debug", skip_all, fields(tenants = tenants.len(), limit))]
    async fn delete_ended_carts(
        &self,
        tenants: &[TenantId],
        ended_before: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<(TenantId, CartId)>, StoreError> {
        if tenants.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let tenants = uuids(tenants);
        let cutoff = to_millis(ended_before);
        let due = || {
            carts::Entity::find()
                .select_only()
                .column(carts::Column::Id)
                .filter(carts::Column::TenantId.is_in(tenants.clone()))
                .filter(carts::Column::Status.is_in(ended_carts()))
                .filter(carts::Column::UpdatedAt.lt(cutoff))
        };

        // Leftover line holds first, outside the batch's transaction (each under its own
        // cart lock), so the batch itself never touches stock.
        let picked: Vec<Uuid> = due()
            .order_by_asc(carts::Column::UpdatedAt)
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(db_err)?;
        if picked.is_empty() {
            return Ok(Vec::new());
        }
        let holding: Vec<(Uuid, Uuid)> = stock_holds::Entity::find()
            .select_only()
            .column(stock_holds::Column::TenantId)
            .column(stock_holds::Column::CartId)
            .distinct()
            .filter(stock_holds::Column::CartId.is_in(picked.clone()))
            .filter(stock_holds::Column::Kind.eq(LINE))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(db_err)?;
        for (tenant, cart) in holding {
            self.release_leftover_holds(tenant, cart).await?;
        }

        let txn = self.begin_write().await?;
        let result = async {
            // The batch, re-picked under the lock: rows another node has locked are
            // skipped, rows deleted meanwhile are gone, carts still holding stock stay.
            let still_holding = Query::select()
                .column(stock_holds::Column::CartId)
                .from(stock_holds::Entity)
                .and_where(stock_holds::Column::CartId.is_in(picked.clone()))
                .to_owned();
            let rows: Vec<(Uuid, Uuid)> = carts::Entity::find()
                .select_only()
                .column(carts::Column::TenantId)
                .column(carts::Column::Id)
                .filter(carts::Column::Id.is_in(picked.clone()))
                .filter(carts::Column::TenantId.is_in(tenants.clone()))
                .filter(carts::Column::Status.is_in(ended_carts()))
                .filter(carts::Column::UpdatedAt.lt(cutoff))
                .filter(carts::Column::Id.not_in_subquery(still_holding))
                .order_by_asc(carts::Column::Id)
                .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
                .into_tuple()
                .all(&txn)
                .await
                .map_err(db_err)?;
            if rows.is_empty() {
                return Ok(End::Rollback(Vec::new()));
            }
            let ids: Vec<Uuid> = rows.iter().map(|(_, id)| *id).collect();
            cart_lines::Entity::delete_many()
                .filter(cart_lines::Column::CartId.is_in(ids.clone()))
                .exec(&txn)
                .await
                .map_err(db_err)?;
            cart_merges::Entity::delete_many()
                .filter(cart_merges::Column::SourceCartId.is_in(ids.clone()))
                .exec(&txn)
                .await
                .map_err(db_err)?;
            let deleted = carts::Entity::delete_many()
                .filter(carts::Column::Id.is_in(ids))
                .filter(carts::Column::Status.is_in(ended_carts()))
                .filter(carts::Column::UpdatedAt.lt(cutoff))
                .exec(&txn)
                .await
                .map_err(db_err)?;
            // The rows are locked (PostgreSQL) or the database is (SQLite): all of them go.
            if deleted.rows_affected != rows.len() as u64 {
                return Err(StoreError::Unavailable(format!(
                    "retention deleted {} of {} locked carts; retrying next sweep",
                    deleted.rows_affected,
                    rows.len()
                )));
            }
            Ok(End::Commit(
                rows.into_iter()
                    .map(|(tenant, id)| (TenantId(tenant), CartId(id)))
                    .collect(),
            ))
        }
        .await;
        finish(txn, result).await
    }

    #[tracing::instrument(name = "db.retention.checkouts", level = "debug", skip_all, fields(tenants = tenants.len(), limit))]
    async fn delete_ended_checkouts(
        &self,
        tenants: &[TenantId],
        ended_before: DateTime<Utc>,
        limit: u64,
    ) -> Result<u64, StoreError> {
        if tenants.is_empty() || limit == 0 {
            return Ok(0);
        }
        let tenants = uuids(tenants);
        let cutoff = to_millis(ended_before);
        // One statement: the batch is picked by a subquery that skips rows another node
        // has locked (PostgreSQL; SQLite has one writer and ignores the clause).
        let batch = Query::select()
            .column(checkouts::Column::Id)
            .from(checkouts::Entity)
            .and_where(checkouts::Column::TenantId.is_in(tenants))
            .and_where(checkouts::Column::Status.is_in(ended_checkouts()))
            .and_where(checkouts::Column::UpdatedAt.lt(cutoff))
            .order_by(checkouts::Column::UpdatedAt, sea_orm::Order::Asc)
            .limit(limit)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .to_owned();
        let _turn = write_turn(&self.db).await?;
        let deleted = checkouts::Entity::delete_many()
            .filter(checkouts::Column::Id.in_subquery(batch))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(deleted.rows_affected)
    }
}
