//! [`CheckoutRepository`] on the `checkouts`, `orders`, `stock_holds`, `inventory` and
//! `carts` tables.
//!
//! See `stock.rs` for the rules every stock change follows (conditional updates only,
//! per-cart serialization, lock order). Every state change of a checkout is a conditional
//! `UPDATE … WHERE status = 'pending'`, so whatever runs concurrently (two completes, a
//! complete and a cancel, sweeps on several nodes) exactly one transaction settles it and
//! its holds are committed or released exactly once.
//!
//! Carts touched here (unfrozen, converted, expired) are written with raw conditional
//! updates of the `carts` row (`… WHERE status = 'checking_out'` / `'active'`), each bumping
//! `version` so ETags stay honest; their lines are not rewritten.
//!
//! Decisions:
//! - A checkout past its `expires_at` is expired, not completed nor cancelled, by whichever
//!   call meets it first (`complete` and `cancel` answer `Expired`, the sweep counts it).
//! - `begin` takes the cart lock before its first write (the version-guarded cart save),
//!   so it cannot deadlock with a `complete`/`cancel` of the same cart on PostgreSQL; a
//!   moved version still changes nothing.
//! - `sweep` works in batches of [`SWEEP_BATCH`] per step, one short transaction per cart
//!   (never several carts' locks at once). `holds_released` counts hold rows (one per
//!   reserve line), not units. `carts_touched` also lists carts that only lost line holds:
//!   their view (availability, `held_until`) changed even though their row did not.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, IntoActiveModel,
    QueryFilter, QuerySelect,
};
use trolley_core::StoreError;
use trolley_core::domain::checkout::SnapshotReservation;
use trolley_core::domain::{
    Cart, CartId, CartOwner, CartStatus, Checkout, CheckoutId, CheckoutSnapshot, CheckoutStatus,
    LineId, Order, OrderId, Seal, Shortage, Sku, TenantId, event,
};
use trolley_core::ports::{
    BeginCheckout, CancelCheckout, CheckoutRepository, CompleteCheckout, SweepReport,
};
use uuid::Uuid;

use crate::carts::{owner_from_row, save_in};
use crate::convert::{from_json, from_millis, to_json, to_millis};
use crate::entity::{carts, checkouts, orders, stock_holds};
use crate::error::{corrupt, db_err};
use crate::idempotency::seal_opt;
use crate::outbox;
use crate::stock::{
    self, CHECKOUT, End, LowStock, finish, free_stock, give_back, lock_cart, release,
    take_line_holds, try_hold,
};
use crate::write_turns::{WriteTxn, begin_write};

mod expiry;

/// Most rows one sweep step handles per call; the next sweep picks up the rest.
pub const SWEEP_BATCH: u64 = 500;

#[derive(Debug, Clone)]
pub struct SqlCheckoutRepository {
    db: DatabaseConnection,
}

impl SqlCheckoutRepository {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    async fn begin_write(&self) -> Result<WriteTxn, StoreError> {
        begin_write(&self.db).await
    }

    /// The answer for a checkout that another transaction settled under our feet.
    async fn settled_answer(
        &self,
        tenant: TenantId,
        id: CheckoutId,
    ) -> Result<CompleteCheckout, StoreError> {
        let Some(row) = find_checkout(&self.db, tenant, id).await? else {
            return Ok(CompleteCheckout::NotFound);
        };
        match parse_status(&row)? {
            CheckoutStatus::Completed => Ok(CompleteCheckout::AlreadyCompleted(
                stored_order(&self.db, tenant, id).await?,
            )),
            CheckoutStatus::Cancelled => Ok(CompleteCheckout::Cancelled),
            CheckoutStatus::Expired => Ok(CompleteCheckout::Expired),
            CheckoutStatus::Pending => Err(StoreError::Unavailable(format!(
                "checkout {id} is being settled concurrently; retry"
            ))),
        }
    }
}

async fn find_checkout<C: sea_orm::ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    id: CheckoutId,
) -> Result<Option<checkouts::Model>, StoreError> {
    checkouts::Entity::find_by_id(id.0)
        .filter(checkouts::Column::TenantId.eq(tenant.0))
        .one(db)
        .await
        .map_err(db_err)
}

fn parse_status(row: &checkouts::Model) -> Result<CheckoutStatus, StoreError> {
    CheckoutStatus::parse(&row.status)
        .ok_or_else(|| corrupt(format!("checkout {} has status `{}`", row.id, row.status)))
}

pub(crate) fn checkout_from_row(row: checkouts::Model) -> Result<Checkout, StoreError> {
    let status = parse_status(&row)?;
    Ok(Checkout {
        tenant_id: TenantId(row.tenant_id),
        snapshot: from_json(&row.snapshot, "checkout snapshot")?,
        status,
        order_id: row.order_id.map(OrderId),
    })
}

/// The order made from a completed checkout.
async fn stored_order<C: sea_orm::ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    checkout: CheckoutId,
) -> Result<Order, StoreError> {
    let row = orders::Entity::find()
        .filter(orders::Column::CheckoutId.eq(checkout.0))
        .filter(orders::Column::TenantId.eq(tenant.0))
        .one(db)
        .await
        .map_err(db_err)?
        .ok_or_else(|| corrupt(format!("checkout {checkout} is completed but has no order")))?;
    from_json(&row.body, "order")
}

/// Deletes a checkout's holds (scoped by tenant) in one statement and returns them, by sku.
async fn take_checkout_holds(
    txn: &DatabaseTransaction,
    row: &checkouts::Model,
) -> Result<Vec<stock_holds::Model>, StoreError> {
    let mut taken = stock_holds::Entity::delete_many()
        .filter(stock_holds::Column::CheckoutId.eq(row.id))
        .filter(stock_holds::Column::TenantId.eq(row.tenant_id))
        .filter(stock_holds::Column::Kind.eq(CHECKOUT))
        .exec_with_returning(txn)
        .await
        .map_err(db_err)?;
    taken.sort_by(|a, b| a.sku.cmp(&b.sku).then(a.id.cmp(&b.id)));
    Ok(taken)
}

/// Ends a pending checkout as `cancelled` or `expired` inside `txn` (the cart lock held):
/// the conditional status change, its holds released, its cart back to `active` with its
/// version bumped. With `expired_before`, only if its expiry is before that. `None` when
/// the checkout was not pending (someone else settled it); else the cart's version now.
async fn settle(
    txn: &DatabaseTransaction,
    row: &checkouts::Model,
    status: CheckoutStatus,
    expired_before: Option<i64>,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let mut update = checkouts::Entity::update_many()
        .col_expr(checkouts::Column::Status, Expr::value(status.as_str()))
        .col_expr(checkouts::Column::UpdatedAt, Expr::value(now))
        .filter(checkouts::Column::Id.eq(row.id))
        .filter(checkouts::Column::TenantId.eq(row.tenant_id))
        .filter(checkouts::Column::Status.eq(CheckoutStatus::Pending.as_str()));
    if let Some(before) = expired_before {
        update = update.filter(checkouts::Column::ExpiresAt.lt(before));
    }
    if update.exec(txn).await.map_err(db_err)?.rows_affected == 0 {
        return Ok(None);
    }
    let taken = take_checkout_holds(txn, row).await?;
    give_back(txn, &taken).await?;

    let unfrozen = carts::Entity::update_many()
        .col_expr(
            carts::Column::Status,
            Expr::value(CartStatus::Active.as_str()),
        )
        .col_expr(
            carts::Column::Version,
            Expr::col(carts::Column::Version).add(1),
        )
        .col_expr(carts::Column::UpdatedAt, Expr::value(now))
        .filter(carts::Column::Id.eq(row.cart_id))
        .filter(carts::Column::TenantId.eq(row.tenant_id))
        .filter(carts::Column::Status.eq(CartStatus::CheckingOut.as_str()))
        .exec(txn)
        .await
        .map_err(db_err)?;
    if unfrozen.rows_affected == 0 {
        tracing::warn!(
            checkout_id = %row.id,
            cart_id = %row.cart_id,
            "the cart of a settled checkout was not checking out; left as it is"
        );
    }
    let version: Option<i64> = carts::Entity::find_by_id(row.cart_id)
        .select_only()
        .column(carts::Column::Version)
        .into_tuple()
        .one(txn)
        .await
        .map_err(db_err)?;
    let version = version.unwrap_or_default();
    let (checkout, cart) = (CheckoutId(row.id), CartId(row.cart_id));
    let settled = match status {
        CheckoutStatus::Expired => event::checkout_expired(checkout, cart),
        _ => event::checkout_cancelled(checkout, cart, version),
    };
    outbox::append(
        txn,
        TenantId(row.tenant_id),
        &[settled],
        from_millis(now, "settled at")?,
    )
    .await?;
    Ok(Some(version))
}

/// Reads a checkout for a state change: finds its cart, takes the cart lock, then reads the
/// row again (the first read may predate a change another transaction committed while we
/// waited for the lock).
async fn lock_checkout(
    txn: &DatabaseTransaction,
    tenant: TenantId,
    id: CheckoutId,
) -> Result<Option<checkouts::Model>, StoreError> {
    let Some(row) = find_checkout(txn, tenant, id).await? else {
        return Ok(None);
    };
    lock_cart(txn, row.cart_id).await?;
    find_checkout(txn, tenant, id).await
}

/// What `begin` holds of one sku: every unit the lines want, given what the cart's line
/// holds (just released) had of it.
struct Wanted<'a> {
    sku: &'a Sku,
    quantity: i64,
    line_ids: Vec<LineId>,
}

#[async_trait]
impl CheckoutRepository for SqlCheckoutRepository {
    /// `cart` must be the snapshot's cart, of `tenant`, frozen (`checking_out`); anything
    /// else is `Internal` (a caller bug). `wanted` may list a sku more than once (quantities
    /// add up); quantities of 0 hold nothing. Shortages come sorted by sku, every short sku
    /// listed, `available` counting the cart's own line holds (released by the checkout).
    /// The stored snapshot is `snapshot` with `reservations` set to what was held.
    #[tracing::instrument(name = "db.checkouts.begin", level = "debug", skip_all, fields(tenant_id = %tenant, cart_id = %cart.id, checkout_id = %snapshot.checkout_id))]
    async fn begin(
        &self,
        tenant: TenantId,
        cart: &Cart,
        stored: &Cart,
        snapshot: &CheckoutSnapshot,
        wanted: &[(Sku, u32, Vec<LineId>)],
        seal: Option<Seal<'_>>,
    ) -> Result<BeginCheckout, StoreError> {
        if cart.tenant_id != tenant || snapshot.cart_id != cart.id {
            return Err(StoreError::Internal(format!(
                "checkout {} does not belong to cart {} of tenant {tenant}",
                snapshot.checkout_id, cart.id
            )));
        }
        if cart.status != CartStatus::CheckingOut {
            return Err(StoreError::Internal(format!(
                "a checkout needs its cart frozen (`checking_out`), not `{}`",
                cart.status
            )));
        }
        let mut by_sku: BTreeMap<&str, Wanted<'_>> = BTreeMap::new();
        for (sku, quantity, line_ids) in wanted.iter().filter(|(_, q, _)| *q > 0) {
            let entry = by_sku.entry(sku.as_str()).or_insert(Wanted {
                sku,
                quantity: 0,
                line_ids: Vec::new(),
            });
            entry.quantity += i64::from(*quantity);
            for line in line_ids {
                if !entry.line_ids.contains(line) {
                    entry.line_ids.push(*line);
                }
            }
        }
        let expires_at = to_millis(snapshot.expires_at);
        let now = to_millis(snapshot.validated_at);

        let txn = self.begin_write().await?;
        let result = async {
            // Before the cart lock: a second request with the key waits here for the first
            // and then fails, instead of queueing for the cart.
            seal_opt(&txn, seal).await?;
            lock_cart(&txn, cart.id.0).await?;
            // The first write: a moved version changes nothing.
            save_in(&txn, cart, stored).await?;

            // The line holds give way to the checkout's: count what they had per sku, then
            // one pass over the skus in order holds (or gives back) only the difference.
            let released = take_line_holds(&txn, tenant.0, cart.id.0).await?;
            let mut had: BTreeMap<&str, i64> = BTreeMap::new();
            for row in &released {
                *had.entry(row.sku.as_str()).or_insert(0) += row.quantity;
            }
            let skus: BTreeSet<&str> = by_sku.keys().chain(had.keys()).copied().collect();
            let mut reservations: Vec<(&Sku, i64)> = Vec::new();
            let mut low_stock = LowStock::default();
            let mut shortages = Vec::new();
            for sku in skus {
                let want = by_sku.get(sku).map_or(0, |w| w.quantity);
                let have = had.get(sku).copied().unwrap_or(0);
                let wanted = by_sku.get(sku);
                if want > have {
                    if try_hold(&txn, tenant.0, sku, want - have, &mut low_stock).await? {
                        if let Some(w) = wanted {
                            reservations.push((w.sku, want));
                        }
                    } else if let Some(free) = free_stock(&txn, tenant.0, sku).await?
                        && let Some(w) = wanted
                    {
                        shortages.push(Shortage {
                            sku: w.sku.clone(),
                            requested: u32::try_from(want).unwrap_or(u32::MAX),
                            available: free + have,
                            line_ids: w.line_ids.clone(),
                        });
                    }
                    // else untracked: nothing to hold.
                } else {
                    release(&txn, tenant.0, sku, have - want).await?;
                    if let Some(w) = wanted {
                        reservations.push((w.sku, want));
                    }
                }
            }
            if !shortages.is_empty() {
                return Ok(End::Rollback(BeginCheckout::Shortages(shortages)));
            }

            let holds: Vec<stock_holds::ActiveModel> = reservations
                .iter()
                .map(|(sku, quantity)| {
                    stock_holds::Model {
                        id: Uuid::now_v7(),
                        tenant_id: tenant.0,
                        sku: sku.as_str().to_owned(),
                        quantity: *quantity,
                        kind: CHECKOUT.to_owned(),
                        cart_id: cart.id.0,
                        line_id: None,
                        checkout_id: Some(snapshot.checkout_id.0),
                        expires_at,
                        created_at: now,
                    }
                    .into_active_model()
                })
                .collect();
            if !holds.is_empty() {
                stock_holds::Entity::insert_many(holds)
                    .exec_without_returning(&txn)
                    .await
                    .map_err(db_err)?;
            }

            let mut stored = snapshot.clone();
            stored.reservations = reservations
                .iter()
                .map(|(sku, quantity)| {
                    Ok(SnapshotReservation {
                        sku: (*sku).clone(),
                        quantity: u32::try_from(*quantity).map_err(|_| {
                            StoreError::Internal(format!("{quantity} units of {sku} is too many"))
                        })?,
                    })
                })
                .collect::<Result<_, StoreError>>()?;
            checkouts::Entity::insert(
                checkouts::Model {
                    id: stored.checkout_id.0,
                    tenant_id: tenant.0,
                    cart_id: cart.id.0,
                    cart_version: stored.cart_version,
                    status: CheckoutStatus::Pending.as_str().to_owned(),
                    snapshot: to_json(&stored, "checkout snapshot")?,
                    order_id: None,
                    expires_at,
                    created_at: now,
                    updated_at: now,
                }
                .into_active_model(),
            )
            .exec_without_returning(&txn)
            .await
            .map_err(db_err)?;
            let mut events = vec![event::checkout_started(&stored)];
            events.extend_from_slice(low_stock.events());
            outbox::append(&txn, tenant, &events, snapshot.validated_at).await?;
            Ok(End::Commit(BeginCheckout::Started(stored)))
        }
        .await;
        finish(txn, result).await
    }

    /// As stored: a pending checkout past its expiry reads `pending` until a complete,
    /// cancel or sweep expires it.
    #[tracing::instrument(name = "db.checkouts.get", level = "debug", skip_all, fields(tenant_id = %tenant, checkout_id = %id))]
    async fn get(&self, tenant: TenantId, id: CheckoutId) -> Result<Option<Checkout>, StoreError> {
        find_checkout(&self.db, tenant, id)
            .await?
            .map(checkout_from_row)
            .transpose()
    }

    #[tracing::instrument(name = "db.checkouts.get_with_owner", level = "debug", skip_all, fields(tenant_id = %tenant, checkout_id = %id))]
    async fn get_with_owner(
        &self,
        tenant: TenantId,
        id: CheckoutId,
    ) -> Result<Option<(Checkout, Option<CartOwner>)>, StoreError> {
        let Some((row, cart)) = checkouts::Entity::find_by_id(id.0)
            .filter(checkouts::Column::TenantId.eq(tenant.0))
            .find_also_related(carts::Entity)
            .one(&self.db)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        let owner = cart.as_ref().map(owner_from_row).transpose()?;
        Ok(Some((checkout_from_row(row)?, owner)))
    }

    /// `order` must be made from this checkout (its `checkout_id` and `tenant_id`). Every
    /// later call answers the first order, whatever `order` it passes.
    #[tracing::instrument(name = "db.checkouts.complete", level = "debug", skip_all, fields(tenant_id = %tenant, checkout_id = %id))]
    async fn complete(
        &self,
        tenant: TenantId,
        id: CheckoutId,
        order: &Order,
        now: DateTime<Utc>,
    ) -> Result<CompleteCheckout, StoreError> {
        if order.checkout_id != id || order.tenant_id != tenant {
            return Err(StoreError::Internal(format!(
                "order {} is not made from checkout {id} of tenant {tenant}",
                order.order_id
            )));
        }
        let body = to_json(order, "order")?;
        let now = to_millis(now);
        let txn = self.begin_write().await?;
        let result = async {
            let Some(row) = lock_checkout(&txn, tenant, id).await? else {
                return Ok(End::Rollback(Some(CompleteCheckout::NotFound)));
            };
            match parse_status(&row)? {
                CheckoutStatus::Completed => {
                    let order = stored_order(&txn, tenant, id).await?;
                    return Ok(End::Rollback(Some(CompleteCheckout::AlreadyCompleted(
                        order,
                    ))));
                }
                CheckoutStatus::Cancelled => {
                    return Ok(End::Rollback(Some(CompleteCheckout::Cancelled)));
                }
                CheckoutStatus::Expired => {
                    return Ok(End::Rollback(Some(CompleteCheckout::Expired)));
                }
                CheckoutStatus::Pending => {}
            }
            if now > row.expires_at {
                return Ok(
                    match settle(&txn, &row, CheckoutStatus::Expired, None, now).await? {
                        Some(_) => End::Commit(Some(CompleteCheckout::Expired)),
                        None => End::Rollback(None),
                    },
                );
            }

            let updated = checkouts::Entity::update_many()
                .col_expr(
                    checkouts::Column::Status,
                    Expr::value(CheckoutStatus::Completed.as_str()),
                )
                .col_expr(
                    checkouts::Column::OrderId,
                    Expr::value(Some(order.order_id.0)),
                )
                .col_expr(checkouts::Column::UpdatedAt, Expr::value(now))
                .filter(checkouts::Column::Id.eq(id.0))
                .filter(checkouts::Column::TenantId.eq(tenant.0))
                .filter(checkouts::Column::Status.eq(CheckoutStatus::Pending.as_str()))
                .exec(&txn)
                .await
                .map_err(db_err)?;
            if updated.rows_affected == 0 {
                return Ok(End::Rollback(None));
            }

            // Reservations become decrements, in sku order.
            let committed = take_checkout_holds(&txn, &row).await?;
            for ((tenant, sku), quantity) in stock::per_sku(&committed) {
                stock::commit(&txn, tenant, &sku, quantity).await?;
            }

            // The cart is converted; the guest's proof of ownership comes back from it and
            // goes with the order, which outlives the cart.
            let converted = carts::Entity::update_many()
                .col_expr(
                    carts::Column::Status,
                    Expr::value(CartStatus::Converted.as_str()),
                )
                .col_expr(carts::Column::ActiveCustomerId, Expr::value(None::<String>))
                .col_expr(
                    carts::Column::Version,
                    Expr::col(carts::Column::Version).add(1),
                )
                .col_expr(carts::Column::UpdatedAt, Expr::value(now))
                .filter(carts::Column::Id.eq(row.cart_id))
                .filter(carts::Column::TenantId.eq(tenant.0))
                .filter(carts::Column::Status.eq(CartStatus::CheckingOut.as_str()))
                .exec_with_returning(&txn)
                .await
                .map_err(db_err)?;
            let cart_token_hash = match converted.into_iter().next() {
                Some(cart) => cart.cart_token_hash,
                None => {
                    tracing::warn!(
                        checkout_id = %id,
                        cart_id = %row.cart_id,
                        "the cart of a completed checkout was not checking out; left as it is"
                    );
                    let token: Option<Option<String>> = carts::Entity::find_by_id(row.cart_id)
                        .select_only()
                        .column(carts::Column::CartTokenHash)
                        .into_tuple()
                        .one(&txn)
                        .await
                        .map_err(db_err)?;
                    token.flatten()
                }
            };
            let inserted = orders::Entity::insert(
                orders::Model {
                    id: order.order_id.0,
                    tenant_id: tenant.0,
                    checkout_id: id.0,
                    cart_id: row.cart_id,
                    body: body.clone(),
                    created_at: to_millis(order.created_at),
                    cart_token_hash,
                    customer_id: order.customer_id.clone(),
                }
                .into_active_model(),
            )
            .exec_without_returning(&txn)
            .await;
            match inserted {
                Ok(_) => {}
                // Another order for this checkout got in first.
                Err(e) => match db_err(e) {
                    StoreError::UniqueViolation(_) => {
                        return Ok(End::Rollback(None));
                    }
                    other => return Err(other),
                },
            }
            outbox::append(
                &txn,
                tenant,
                &event::checkout_completed(order),
                order.created_at,
            )
            .await?;
            Ok(End::Commit(Some(CompleteCheckout::Completed(
                order.clone(),
            ))))
        }
        .await;
        match finish(txn, result).await? {
            Some(outcome) => Ok(outcome),
            // Someone else settled the checkout first: answer from what they stored.
            None => self.settled_answer(tenant, id).await,
        }
    }

    #[tracing::instrument(name = "db.checkouts.cancel", level = "debug", skip_all, fields(tenant_id = %tenant, checkout_id = %id))]
    async fn cancel(
        &self,
        tenant: TenantId,
        id: CheckoutId,
        now: DateTime<Utc>,
    ) -> Result<CancelCheckout, StoreError> {
        let now = to_millis(now);
        let txn = self.begin_write().await?;
        let result = async {
            let Some(row) = lock_checkout(&txn, tenant, id).await? else {
                return Ok(End::Rollback(CancelCheckout::NotFound));
            };
            let answer = match parse_status(&row)? {
                CheckoutStatus::Completed => CancelCheckout::Completed,
                CheckoutStatus::Cancelled => CancelCheckout::AlreadyCancelled,
                CheckoutStatus::Expired => CancelCheckout::Expired,
                CheckoutStatus::Pending => {
                    let (status, expired) = if now > row.expires_at {
                        (CheckoutStatus::Expired, true)
                    } else {
                        (CheckoutStatus::Cancelled, false)
                    };
                    return match settle(&txn, &row, status, None, now).await? {
                        Some(_) if expired => Ok(End::Commit(CancelCheckout::Expired)),
                        Some(cart_version) => {
                            Ok(End::Commit(CancelCheckout::Cancelled { cart_version }))
                        }
                        // Cannot happen under the cart lock; answer as if it had.
                        None => Err(StoreError::Unavailable(format!(
                            "checkout {id} is being settled concurrently; retry"
                        ))),
                    };
                }
            };
            Ok(End::Rollback(answer))
        }
        .await;
        finish(txn, result).await
    }

    #[tracing::instrument(name = "db.checkouts.order", level = "debug", skip_all, fields(tenant_id = %tenant, order_id = %id))]
    async fn order(
        &self,
        tenant: TenantId,
        id: OrderId,
    ) -> Result<Option<(Order, Option<CartOwner>)>, StoreError> {
        let Some(row) = orders::Entity::find_by_id(id.0)
            .filter(orders::Column::TenantId.eq(tenant.0))
            .one(&self.db)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        let order: Order = from_json(&row.body, "order")?;
        let owner = match (&order.customer_id, row.cart_token_hash) {
            (Some(customer), _) => Some(CartOwner::Customer(customer.clone())),
            (None, Some(token_hash)) => Some(CartOwner::Guest { token_hash }),
            (None, None) => None,
        };
        Ok(Some((order, owner)))
    }

    #[tracing::instrument(name = "db.checkouts.sweep", level = "debug", skip_all)]
    async fn sweep(&self, now: DateTime<Utc>) -> Result<SweepReport, StoreError> {
        self.sweep_expired(to_millis(now)).await
    }
}
