//! [`InventoryRepository`] on the `inventory` and `stock_holds` tables.
//!
//! See `stock.rs` for the rules every stock change follows (conditional updates only,
//! per-cart serialization, lock order).
//!
//! Decisions:
//! - A line hold exists only for a tracked sku: an untracked sku holds nothing and gets no
//!   row. A line whose sku becomes tracked later gets its hold at the cart's next sync.
//! - A shortage reports `requested` = every unit the cart's lines want of the sku, and
//!   `available` = free stock plus what the cart already holds of it (what the cart could
//!   have), the same figure the cart read decorates lines with.
//! - A cart that exists and is no longer `active` (frozen for checkout, converted, merged,
//!   expired) holds no line stock: syncing it releases its line holds and holds nothing new.
//!   This closes the race of a mutation that loaded the cart before a checkout froze it (its
//!   save then fails on the version anyway). A cart id with no row is synced as asked.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
};
use trolley_core::StoreError;
use trolley_core::domain::audit::snapshot;
use trolley_core::domain::{
    Actor, AuditAction, AuditEntry, CartId, CartStatus, LineId, Shortage, Sku, StockLevel, TenantId,
};
use trolley_core::ports::{InventoryRepository, LineHold, WantedHold};

use crate::audit;

use crate::convert::{from_millis, to_millis};
use crate::entity::{carts, inventory, stock_holds};
use crate::error::{corrupt, db_err};
use crate::line_holds::{Synced, sync_in};
use crate::outbox;
use crate::stock::{CHECKOUT, End, LowStock, cart_line_holds, finish, lock_cart};
use crate::write_turns::begin_write;

/// How many times `set_on_hand` retries when its insert loses a race with another insert
/// of the same sku (the retry then updates the row that won).
const SET_ON_HAND_ATTEMPTS: usize = 3;

#[derive(Debug, Clone)]
pub struct SqlInventoryRepository {
    db: DatabaseConnection,
}

impl SqlInventoryRepository {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

pub(crate) fn level_from_row(row: inventory::Model) -> Result<StockLevel, StoreError> {
    Ok(StockLevel {
        sku: Sku::parse(&row.sku)
            .map_err(|e| corrupt(format!("inventory sku `{}`: {e}", row.sku)))?,
        on_hand: row.on_hand,
        reserved: row.reserved,
    })
}

/// A checkout hold as what it holds: units of a sku.
pub(crate) fn checkout_hold_from_row(row: &stock_holds::Model) -> Result<(Sku, u32), StoreError> {
    let sku =
        Sku::parse(&row.sku).map_err(|e| corrupt(format!("stock_holds.sku `{}`: {e}", row.sku)))?;
    let quantity = u32::try_from(row.quantity)
        .map_err(|_| corrupt(format!("stock_holds.quantity = {}", row.quantity)))?;
    Ok((sku, quantity))
}

pub(crate) fn hold_from_row(row: stock_holds::Model) -> Result<LineHold, StoreError> {
    let id = row.id;
    Ok(LineHold {
        line_id: LineId(
            row.line_id
                .ok_or_else(|| corrupt(format!("line hold {id} has no line")))?,
        ),
        sku: Sku::parse(&row.sku).map_err(|e| corrupt(format!("hold {id} sku: {e}")))?,
        quantity: u32::try_from(row.quantity)
            .map_err(|_| corrupt(format!("hold {id} has quantity {}", row.quantity)))?,
        expires_at: from_millis(row.expires_at, "stock_holds.expires_at")?,
    })
}

#[async_trait]
impl InventoryRepository for SqlInventoryRepository {
    /// Atomic against concurrent holds: the update only applies while `reserved <= on_hand`
    /// (PostgreSQL re-checks it on the locked row). Negative counts are refused with
    /// `Internal`: the service validates input before it gets here.
    async fn set_on_hand(
        &self,
        tenant: TenantId,
        sku: &Sku,
        on_hand: i64,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Result<StockLevel, i64>, StoreError> {
        if on_hand < 0 {
            return Err(StoreError::Internal(format!(
                "on_hand must not be negative (got {on_hand})"
            )));
        }
        let at = now;
        let now = to_millis(now);
        let entry = |before: Option<&StockLevel>, after: &StockLevel| {
            AuditEntry::new(
                tenant,
                *actor,
                AuditAction::InventorySet,
                sku.as_str(),
                before.map(snapshot::stock),
                Some(snapshot::stock(after)),
                at,
            )
        };
        let txn = begin_write(&self.db).await?;
        let result = async {
            for _ in 0..SET_ON_HAND_ATTEMPTS {
                // The audit entry's `before` (only `on_hand` writes race with this one,
                // and they queue on the row for the update below).
                let previous = inventory::Entity::find_by_id((tenant.0, sku.as_str().to_owned()))
                    .one(&txn)
                    .await
                    .map_err(db_err)?
                    .map(level_from_row)
                    .transpose()?;
                let updated = inventory::Entity::update_many()
                    .col_expr(inventory::Column::OnHand, Expr::value(on_hand))
                    .col_expr(inventory::Column::UpdatedAt, Expr::value(now))
                    .filter(inventory::Column::TenantId.eq(tenant.0))
                    .filter(inventory::Column::Sku.eq(sku.as_str()))
                    .filter(inventory::Column::Reserved.lte(on_hand))
                    .exec(&txn)
                    .await
                    .map_err(db_err)?;
                let row = inventory::Entity::find_by_id((tenant.0, sku.as_str().to_owned()))
                    .one(&txn)
                    .await
                    .map_err(db_err)?;
                match (updated.rows_affected, row) {
                    // Updated: the row is locked by us now, `reserved` is current.
                    (1, Some(row)) => {
                        let before = previous.as_ref().map(|p| p.on_hand - p.reserved);
                        let mut low_stock = LowStock::default();
                        low_stock
                            .check(&txn, tenant.0, &row, |now| before.unwrap_or(now))
                            .await?;
                        let level = level_from_row(row)?;
                        audit::record(&txn, &[entry(previous.as_ref(), &level)]).await?;
                        outbox::append(&txn, tenant, low_stock.events(), at).await?;
                        return Ok(End::Commit(Ok(level)));
                    }
                    // Refused: more is held than the new count.
                    (_, Some(row)) if row.reserved > on_hand => {
                        return Ok(End::Rollback(Err(row.reserved)));
                    }
                    // The row was inserted by a concurrent first count after our update
                    // looked (READ COMMITTED): update it on the next attempt.
                    (_, Some(_)) => continue,
                    (_, None) => {}
                }
                // Not tracked yet: start tracking. A concurrent insert of the same sku
                // makes this a no-op, and the next attempt updates the row that won.
                let inserted = inventory::Entity::insert(
                    inventory::Model {
                        tenant_id: tenant.0,
                        sku: sku.as_str().to_owned(),
                        on_hand,
                        reserved: 0,
                        updated_at: now,
                    }
                    .into_active_model(),
                )
                .on_conflict(
                    OnConflict::columns([inventory::Column::TenantId, inventory::Column::Sku])
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await
                .map_err(db_err)?;
                if inserted == 1 {
                    let level = StockLevel {
                        sku: sku.clone(),
                        on_hand,
                        reserved: 0,
                    };
                    audit::record(&txn, &[entry(None, &level)]).await?;
                    return Ok(End::Commit(Ok(level)));
                }
            }
            Err(StoreError::Unavailable(format!(
                "inventory of {sku} kept changing while setting it"
            )))
        }
        .await;
        finish(txn, result).await
    }

    async fn get(&self, tenant: TenantId, sku: &Sku) -> Result<Option<StockLevel>, StoreError> {
        inventory::Entity::find_by_id((tenant.0, sku.as_str().to_owned()))
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(level_from_row)
            .transpose()
    }

    /// In the order of `skus` (repeats answered once).
    async fn get_many(
        &self,
        tenant: TenantId,
        skus: &[Sku],
    ) -> Result<Vec<StockLevel>, StoreError> {
        if skus.is_empty() {
            return Ok(Vec::new());
        }
        let rows = inventory::Entity::find()
            .filter(inventory::Column::TenantId.eq(tenant.0))
            .filter(inventory::Column::Sku.is_in(skus.iter().map(Sku::as_str)))
            .all(&self.db)
            .await
            .map_err(db_err)?;
        let mut by_sku: BTreeMap<String, inventory::Model> =
            rows.into_iter().map(|r| (r.sku.clone(), r)).collect();
        skus.iter()
            .filter_map(|sku| by_sku.remove(sku.as_str()))
            .map(level_from_row)
            .collect()
    }

    /// A line listed twice holds the sum of its quantities; a quantity of 0 holds nothing.
    async fn sync_line_holds(
        &self,
        tenant: TenantId,
        cart: CartId,
        wanted: &[WantedHold],
        expires_at: DateTime<Utc>,
    ) -> Result<Vec<Shortage>, StoreError> {
        let txn = begin_write(&self.db).await?;
        let result = async {
            lock_cart(&txn, cart.0).await?;
            let status: Option<String> = carts::Entity::find_by_id(cart.0)
                .filter(carts::Column::TenantId.eq(tenant.0))
                .select_only()
                .column(carts::Column::Status)
                .into_tuple()
                .one(&txn)
                .await
                .map_err(db_err)?;
            let holds_allowed = status
                .as_deref()
                .is_none_or(|s| s == CartStatus::Active.as_str());
            match sync_in(&txn, tenant, cart, wanted, expires_at, holds_allowed).await? {
                Synced::Held(low_stock) => {
                    outbox::append(&txn, tenant, &low_stock, Utc::now()).await?;
                    Ok(End::Commit(Vec::new()))
                }
                Synced::Short(shortages) => Ok(End::Rollback(shortages)),
            }
        }
        .await;
        finish(txn, result).await
    }

    async fn line_holds(
        &self,
        tenant: TenantId,
        cart: CartId,
    ) -> Result<Vec<LineHold>, StoreError> {
        cart_line_holds(&self.db, tenant.0, cart.0)
            .await?
            .into_iter()
            .map(hold_from_row)
            .collect()
    }

    async fn checkout_holds(
        &self,
        tenant: TenantId,
        cart: CartId,
    ) -> Result<Vec<(Sku, u32)>, StoreError> {
        stock_holds::Entity::find()
            .filter(stock_holds::Column::TenantId.eq(tenant.0))
            .filter(stock_holds::Column::CartId.eq(cart.0))
            .filter(stock_holds::Column::Kind.eq(CHECKOUT))
            .all(&self.db)
            .await
            .map_err(db_err)?
            .iter()
            .map(checkout_hold_from_row)
            .collect()
    }
}
