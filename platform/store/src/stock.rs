//! Stock primitives shared by [`crate::SqlInventoryRepository`] and
//! [`crate::SqlCheckoutRepository`].
//!
//! - `inventory.reserved` is the sum of the sku's `stock_holds` rows; a hold row and the
//!   counter always change in the same transaction.
//! - Counters only change through single conditional UPDATEs (hold:
//!   `reserved = reserved + q WHERE on_hand - reserved >= q`; release:
//!   `reserved = reserved - q WHERE reserved >= q`; commit: `on_hand = on_hand - q,
//!   reserved = reserved - q WHERE reserved >= q AND on_hand >= q`), never read-then-write,
//!   so `0 <= reserved <= on_hand` holds whatever runs concurrently, on any number of nodes.
//! - Hold rows are deleted one by one with their `rows_affected` checked before the counter
//!   is decremented, so two transactions can never release the same hold twice.
//! - Every transaction that changes a cart's holds is serialized per cart: SQLite write
//!   transactions begin `IMMEDIATE` (one writer at a time), and on PostgreSQL they first take
//!   a transaction-scoped advisory lock keyed by the cart ([`lock_cart`]). Within that lock,
//!   reading a cart's holds and then updating them is safe.
//! - Lock order, always: the cart lock, then the cart's or checkout's rows, then inventory
//!   rows in ascending sku order (never two passes over inventory in one transaction), so
//!   concurrent transactions on PostgreSQL cannot deadlock on each other.

use std::collections::BTreeMap;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement};
use trolley_core::StoreError;
use uuid::Uuid;

use crate::entity::{inventory, stock_holds};
use crate::error::{corrupt, db_err};
use crate::write_turns::WriteTxn;

/// `stock_holds.kind` of a reserve line's hold.
pub(crate) const LINE: &str = "line";
/// `stock_holds.kind` of a pending checkout's reservation.
pub(crate) const CHECKOUT: &str = "checkout";

/// How a transaction body wants its transaction to end.
pub(crate) enum End<T> {
    Commit(T),
    /// Nothing it did may stay (a shortage, a state that needs no change).
    Rollback(T),
}

/// Commits or rolls back `txn` as `result` says; an error always rolls back and is
/// returned as it was (a failing rollback is only logged: the connection is discarded).
pub(crate) async fn finish<T>(
    txn: WriteTxn,
    result: Result<End<T>, StoreError>,
) -> Result<T, StoreError> {
    match result {
        Ok(End::Commit(value)) => {
            txn.commit().await.map_err(db_err)?;
            Ok(value)
        }
        Ok(End::Rollback(value)) => {
            txn.rollback().await.map_err(db_err)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = txn.rollback().await {
                tracing::warn!(error = %rollback, "rollback failed after an error");
            }
            Err(e)
        }
    }
}

/// Serializes the transactions that change one cart's holds (see the module doc). SQLite
/// needs nothing: its write transactions hold the database's write lock. PostgreSQL takes a
/// transaction-scoped advisory lock, released at commit or rollback.
pub(crate) async fn lock_cart<C: ConnectionTrait>(txn: &C, cart: Uuid) -> Result<(), StoreError> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1)",
        [cart_lock_key(cart).into()],
    ))
    .await
    .map_err(db_err)?;
    Ok(())
}

/// A stable 64-bit key for a cart (FNV-1a). A collision only makes two carts wait for each
/// other.
fn cart_lock_key(cart: Uuid) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let bytes = b"trolley:cart_stock\0".iter().chain(cart.as_bytes());
    let hash = bytes.fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME));
    i64::from_be_bytes(hash.to_be_bytes())
}

/// Holds `quantity` more of a sku if that much is available, and notes in `low_stock`
/// whether that took it below the threshold; one statement (the level comes back from the
/// update). `false` when the sku is untracked or short (tell them apart with
/// [`free_stock`]).
pub(crate) async fn try_hold<C: ConnectionTrait>(
    txn: &C,
    tenant: Uuid,
    sku: &str,
    quantity: i64,
    low_stock: &mut LowStock,
) -> Result<bool, StoreError> {
    let updated = inventory::Entity::update_many()
        .col_expr(
            inventory::Column::Reserved,
            Expr::col(inventory::Column::Reserved).add(quantity),
        )
        .filter(inventory::Column::TenantId.eq(tenant))
        .filter(inventory::Column::Sku.eq(sku))
        .filter(
            Expr::col(inventory::Column::OnHand)
                .sub(Expr::col(inventory::Column::Reserved))
                .gte(quantity),
        )
        .exec_with_returning(txn)
        .await
        .map_err(db_err)?;
    let Some(level) = updated.first() else {
        return Ok(false);
    };
    low_stock
        .check(txn, tenant, level, |now| now + quantity)
        .await?;
    Ok(true)
}

/// `on_hand - reserved` of a tracked sku (never below 0), `None` when it is untracked.
pub(crate) async fn free_stock<C: ConnectionTrait>(
    txn: &C,
    tenant: Uuid,
    sku: &str,
) -> Result<Option<i64>, StoreError> {
    let row = inventory::Entity::find_by_id((tenant, sku.to_owned()))
        .one(txn)
        .await
        .map_err(db_err)?;
    Ok(row.map(|r| std::cmp::max(r.on_hand - r.reserved, 0)))
}

/// Gives `quantity` of a sku back. Releasing more than is reserved changes nothing and is
/// logged: it can only mean the rows were edited by hand, and refusing would leave the
/// holds (and whoever is releasing them) stuck for good.
pub(crate) async fn release<C: ConnectionTrait>(
    txn: &C,
    tenant: Uuid,
    sku: &str,
    quantity: i64,
) -> Result<(), StoreError> {
    if quantity <= 0 {
        return Ok(());
    }
    let updated = inventory::Entity::update_many()
        .col_expr(
            inventory::Column::Reserved,
            Expr::col(inventory::Column::Reserved).sub(quantity),
        )
        .filter(inventory::Column::TenantId.eq(tenant))
        .filter(inventory::Column::Sku.eq(sku))
        .filter(inventory::Column::Reserved.gte(quantity))
        .exec(txn)
        .await
        .map_err(db_err)?;
    if updated.rows_affected == 0 {
        tracing::warn!(%tenant, sku, quantity, "released more stock than was reserved; ignored");
    }
    Ok(())
}

/// Turns `quantity` held units of a sku into a committed decrement of its on-hand count.
/// Unlike a release this must not be skipped: a reservation that is not there is corrupt
/// state, and the order is refused rather than sold without stock.
pub(crate) async fn commit<C: ConnectionTrait>(
    txn: &C,
    tenant: Uuid,
    sku: &str,
    quantity: i64,
) -> Result<(), StoreError> {
    if quantity <= 0 {
        return Ok(());
    }
    let updated = inventory::Entity::update_many()
        .col_expr(
            inventory::Column::OnHand,
            Expr::col(inventory::Column::OnHand).sub(quantity),
        )
        .col_expr(
            inventory::Column::Reserved,
            Expr::col(inventory::Column::Reserved).sub(quantity),
        )
        .filter(inventory::Column::TenantId.eq(tenant))
        .filter(inventory::Column::Sku.eq(sku))
        .filter(inventory::Column::Reserved.gte(quantity))
        .filter(inventory::Column::OnHand.gte(quantity))
        .exec(txn)
        .await
        .map_err(db_err)?;
    if updated.rows_affected == 0 {
        return Err(corrupt(format!(
            "inventory ({tenant}, {sku}) does not hold the {quantity} reserved units it should"
        )));
    }
    Ok(())
}

/// Deletes hold rows in one statement and returns those this transaction deleted, as they
/// were when deleted, by sku (a row already gone, or renewed past `expired_before`, is
/// skipped: someone else released it).
pub(crate) async fn delete_holds<C: ConnectionTrait>(
    txn: &C,
    rows: Vec<stock_holds::Model>,
    expired_before: Option<i64>,
) -> Result<Vec<stock_holds::Model>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut delete = stock_holds::Entity::delete_many()
        .filter(stock_holds::Column::Id.is_in(rows.iter().map(|row| row.id)));
    if let Some(before) = expired_before {
        delete = delete.filter(stock_holds::Column::ExpiresAt.lt(before));
    }
    let mut deleted = delete.exec_with_returning(txn).await.map_err(db_err)?;
    deleted.sort_by(|a, b| a.sku.cmp(&b.sku).then(a.id.cmp(&b.id)));
    Ok(deleted)
}

/// Units per (tenant, sku), in lock order.
pub(crate) fn per_sku<'a>(
    rows: impl IntoIterator<Item = &'a stock_holds::Model>,
) -> BTreeMap<(Uuid, String), i64> {
    let mut units = BTreeMap::new();
    for row in rows {
        *units.entry((row.tenant_id, row.sku.clone())).or_insert(0) += row.quantity;
    }
    units
}

/// Gives the stock of hold rows just deleted back (in sku order).
pub(crate) async fn give_back<C: ConnectionTrait>(
    txn: &C,
    deleted: &[stock_holds::Model],
) -> Result<(), StoreError> {
    for ((tenant, sku), quantity) in per_sku(deleted) {
        release(txn, tenant, &sku, quantity).await?;
    }
    Ok(())
}

/// A cart's line holds (scoped by tenant), oldest first.
pub(crate) async fn cart_line_holds<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    cart: Uuid,
) -> Result<Vec<stock_holds::Model>, StoreError> {
    use sea_orm::QueryOrder;
    stock_holds::Entity::find()
        .filter(stock_holds::Column::TenantId.eq(tenant))
        .filter(stock_holds::Column::CartId.eq(cart))
        .filter(stock_holds::Column::Kind.eq(LINE))
        .order_by_asc(stock_holds::Column::CreatedAt)
        .order_by_asc(stock_holds::Column::Id)
        .all(db)
        .await
        .map_err(db_err)
}

/// Deletes a cart's line holds (scoped by tenant) in one statement and returns them, by
/// sku; the caller gives their stock back or moves it.
pub(crate) async fn take_line_holds<C: ConnectionTrait>(
    txn: &C,
    tenant: Uuid,
    cart: Uuid,
) -> Result<Vec<stock_holds::Model>, StoreError> {
    let mut taken = stock_holds::Entity::delete_many()
        .filter(stock_holds::Column::TenantId.eq(tenant))
        .filter(stock_holds::Column::CartId.eq(cart))
        .filter(stock_holds::Column::Kind.eq(LINE))
        .exec_with_returning(txn)
        .await
        .map_err(db_err)?;
    taken.sort_by(|a, b| a.sku.cmp(&b.sku).then(a.id.cmp(&b.id)));
    Ok(taken)
}

/// The `inventory.low_stock` events a transaction raises: a sku whose available stock
/// (`on_hand - reserved`) falls below its tenant's `low_stock_threshold` (the same
/// threshold that makes a line show `low_stock`). Raised when it crosses, not on every
/// change below it; a threshold of 0 raises none.
#[derive(Default)]
pub(crate) struct LowStock {
    threshold: Option<i64>,
    events: Vec<trolley_core::domain::NewEvent>,
}

impl LowStock {
    async fn threshold<C: ConnectionTrait>(
        &mut self,
        txn: &C,
        tenant: Uuid,
    ) -> Result<i64, StoreError> {
        if let Some(threshold) = self.threshold {
            return Ok(threshold);
        }
        use sea_orm::QuerySelect;
        let config: Option<String> = crate::entity::tenants::Entity::find_by_id(tenant)
            .select_only()
            .column(crate::entity::tenants::Column::Config)
            .into_tuple()
            .one(txn)
            .await
            .map_err(db_err)?;
        let default = trolley_core::domain::TenantConfig::default().low_stock_threshold;
        let threshold = config
            .and_then(|c| serde_json::from_str::<serde_json::Value>(&c).ok())
            .and_then(|c| c.get("low_stock_threshold").and_then(|t| t.as_i64()))
            .unwrap_or(i64::from(default));
        self.threshold = Some(threshold);
        Ok(threshold)
    }

    /// After a change of a sku's stock that left it at `level` (this transaction's latest
    /// write of the row); `before` gives the available stock before it from the available
    /// stock now.
    pub(crate) async fn check<C: ConnectionTrait>(
        &mut self,
        txn: &C,
        tenant: Uuid,
        level: &inventory::Model,
        before: impl FnOnce(i64) -> i64,
    ) -> Result<(), StoreError> {
        let threshold = self.threshold(txn, tenant).await?;
        if threshold <= 0 {
            return Ok(());
        }
        let now = level.on_hand - level.reserved;
        if now < threshold && before(now) >= threshold {
            let sku =
                trolley_core::domain::Sku::parse(&level.sku).map_err(|e| corrupt(e.to_string()))?;
            self.events.push(trolley_core::domain::event::low_stock(
                &sku,
                level.on_hand,
                level.reserved,
                threshold,
            ));
        }
        Ok(())
    }

    pub(crate) fn events(&self) -> &[trolley_core::domain::NewEvent] {
        &self.events
    }
}
