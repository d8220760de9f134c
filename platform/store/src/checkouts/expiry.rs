//! The expiry sweep (SPEC §2): reserve-line holds past their expiry released, pending
//! checkouts past theirs expired, idle active carts expired. Every step is a conditional
//! update in a transaction of its own, so sweeps on several nodes at once never release
//! anything twice.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use trolley_core::StoreError;
use trolley_core::domain::{CartId, CartStatus, CheckoutStatus, TenantId};
use trolley_core::ports::SweepReport;
use uuid::Uuid;

use super::{SWEEP_BATCH, SqlCheckoutRepository, settle};
use crate::convert::from_millis;
use crate::entity::{carts, checkouts, stock_holds};
use crate::error::corrupt;
use crate::error::db_err;
use crate::outbox;
use crate::stock::{End, LINE, finish, give_back, lock_cart, take_line_holds};
use crate::stock::{delete_holds, per_sku, release};
use trolley_core::domain::{Sku, event};

fn at(now: i64) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
    from_millis(now, "sweep time")
}

impl SqlCheckoutRepository {
    /// One expiry sweep at `now` (unix ms), each step bounded to [`SWEEP_BATCH`] rows.
    pub(super) async fn sweep_expired(&self, now: i64) -> Result<SweepReport, StoreError> {
        let mut report = SweepReport::default();
        let mut touched: BTreeSet<(Uuid, Uuid)> = BTreeSet::new();

        // 1. Reserve-line holds past their expiry, one transaction per cart.
        let expired_holds = stock_holds::Entity::find()
            .filter(stock_holds::Column::Kind.eq(LINE))
            .filter(stock_holds::Column::ExpiresAt.lt(now))
            .order_by_asc(stock_holds::Column::ExpiresAt)
            .limit(SWEEP_BATCH)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        let mut by_cart: BTreeMap<(Uuid, Uuid), Vec<stock_holds::Model>> = BTreeMap::new();
        for row in expired_holds {
            by_cart
                .entry((row.tenant_id, row.cart_id))
                .or_default()
                .push(row);
        }
        for ((tenant, cart), rows) in by_cart {
            let released = self.sweep_cart_holds(cart, rows, now).await?;
            if released > 0 {
                report.holds_released += released;
                touched.insert((tenant, cart));
            }
        }

        // 2. Pending checkouts past their expiry.
        let expired_checkouts = checkouts::Entity::find()
            .filter(checkouts::Column::Status.eq(CheckoutStatus::Pending.as_str()))
            .filter(checkouts::Column::ExpiresAt.lt(now))
            .order_by_asc(checkouts::Column::ExpiresAt)
            .limit(SWEEP_BATCH)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        for row in expired_checkouts {
            let key = (row.tenant_id, row.cart_id);
            if self.sweep_checkout(row, now).await? {
                report.checkouts_expired += 1;
                touched.insert(key);
            }
        }

        // 3. Idle active carts past their TTL.
        let idle: Vec<(Uuid, Uuid)> = carts::Entity::find()
            .select_only()
            .column(carts::Column::TenantId)
            .column(carts::Column::Id)
            .filter(carts::Column::Status.eq(CartStatus::Active.as_str()))
            .filter(carts::Column::ExpiresAt.lt(now))
            .order_by_asc(carts::Column::ExpiresAt)
            .limit(SWEEP_BATCH)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(db_err)?;
        for (tenant, cart) in idle {
            if self.sweep_cart(tenant, cart, now).await? {
                report.carts_expired += 1;
                touched.insert((tenant, cart));
            }
        }

        report.carts_touched = touched
            .into_iter()
            .map(|(tenant, cart)| (TenantId(tenant), CartId(cart)))
            .collect();
        Ok(report)
    }

    /// Releases one cart's expired line holds; how many this call released.
    async fn sweep_cart_holds(
        &self,
        cart: Uuid,
        rows: Vec<stock_holds::Model>,
        now: i64,
    ) -> Result<u64, StoreError> {
        let txn = self.begin_write().await?;
        let result = async {
            lock_cart(&txn, cart).await?;
            let Some(tenant) = rows.first().map(|r| r.tenant_id) else {
                return Ok(End::Rollback(0));
            };
            let deleted = delete_holds(&txn, rows, Some(now)).await?;
            let mut released = Vec::new();
            for ((tenant, sku), quantity) in per_sku(&deleted) {
                release(&txn, tenant, &sku, quantity).await?;
                released.push((
                    Sku::parse(&sku).map_err(|e| corrupt(e.to_string()))?,
                    quantity,
                ));
            }
            if !released.is_empty() {
                let expired = event::reservation_expired(CartId(cart), &released);
                outbox::append(&txn, TenantId(tenant), &[expired], at(now)?).await?;
            }
            Ok(End::Commit(deleted.len() as u64))
        }
        .await;
        finish(txn, result).await
    }

    /// Expires one pending checkout past its expiry. `false` when someone else settled it.
    async fn sweep_checkout(&self, row: checkouts::Model, now: i64) -> Result<bool, StoreError> {
        let txn = self.begin_write().await?;
        let result = async {
            lock_cart(&txn, row.cart_id).await?;
            let settled = settle(&txn, &row, CheckoutStatus::Expired, Some(now), now).await?;
            Ok(End::Commit(settled.is_some()))
        }
        .await;
        finish(txn, result).await
    }

    /// Expires one idle active cart and releases its line holds. `false` when the cart was
    /// touched (renewed, frozen, …) since it was picked.
    async fn sweep_cart(&self, tenant: Uuid, cart: Uuid, now: i64) -> Result<bool, StoreError> {
        let txn = self.begin_write().await?;
        let result = async {
            lock_cart(&txn, cart).await?;
            let updated = carts::Entity::update_many()
                .col_expr(
                    carts::Column::Status,
                    Expr::value(CartStatus::Expired.as_str()),
                )
                .col_expr(carts::Column::ActiveCustomerId, Expr::value(None::<String>))
                .col_expr(
                    carts::Column::Version,
                    Expr::col(carts::Column::Version).add(1),
                )
                .col_expr(carts::Column::UpdatedAt, Expr::value(now))
                .filter(carts::Column::Id.eq(cart))
                .filter(carts::Column::TenantId.eq(tenant))
                .filter(carts::Column::Status.eq(CartStatus::Active.as_str()))
                .filter(carts::Column::ExpiresAt.lt(now))
                .exec(&txn)
                .await
                .map_err(db_err)?;
            if updated.rows_affected == 0 {
                return Ok(End::Rollback(false));
            }
            let taken = take_line_holds(&txn, tenant, cart).await?;
            give_back(&txn, &taken).await?;
            let version: Option<i64> = carts::Entity::find_by_id(cart)
                .select_only()
                .column(carts::Column::Version)
                .into_tuple()
                .one(&txn)
                .await
                .map_err(db_err)?;
            let expired = event::cart_expired(CartId(cart), version.unwrap_or_default(), None);
            outbox::append(&txn, TenantId(tenant), &[expired], at(now)?).await?;
            Ok(End::Commit(true))
        }
        .await;
        finish(txn, result).await
    }
}
