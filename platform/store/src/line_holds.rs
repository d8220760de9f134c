//! A cart's line holds following its `reserve` lines, inside a transaction that holds the
//! cart's lock: the one rule used by [`InventoryRepository::sync_line_holds`] and by a cart
//! save that moves holds ([`CartRepository::save_holding`]).
//!
//! [`InventoryRepository::sync_line_holds`]: trolley_core::ports::InventoryRepository::sync_line_holds
//! [`CartRepository::save_holding`]: trolley_core::ports::CartRepository::save_holding

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
};
use trolley_core::StoreError;
use trolley_core::domain::{
    Cart, CartId, CartStatus, LineId, NewEvent, Seal, Shortage, Sku, TenantId, WantedHold,
};
use uuid::Uuid;

use crate::carts::save_in;
use crate::convert::to_millis;
use crate::entity::stock_holds;
use crate::error::db_err;
use crate::idempotency::seal_opt;
use crate::outbox;
use crate::stock::{
    End, LINE, LowStock, cart_line_holds, delete_holds, finish, free_stock, lock_cart, release,
    try_hold,
};
use crate::write_turns::begin_write;

/// What one line wants, after merging repeats of a line (their quantities add up).
struct Want {
    sku: String,
    quantity: i64,
}

/// How a sync ended.
pub(crate) enum Synced {
    /// The holds follow the lines; the low-stock events it raised are to be appended.
    Held(Vec<NewEvent>),
    /// Some skus are short: the caller rolls back, nothing is held.
    Short(Vec<Shortage>),
}

/// Makes the cart's line holds what `wanted` asks (only the difference is held or given
/// back, sku by sku in order); with `holds_allowed` false (a cart no longer `active`) every
/// line hold is released and none taken. The caller holds the cart's lock
/// ([`crate::stock::lock_cart`]) and rolls back on [`Synced::Short`].
pub(crate) async fn sync_in(
    txn: &DatabaseTransaction,
    tenant: TenantId,
    cart: CartId,
    wanted: &[WantedHold],
    expires_at: DateTime<Utc>,
    holds_allowed: bool,
) -> Result<Synced, StoreError> {
    let expires_at = to_millis(expires_at);
    // What each line wants, and per sku: units wanted, the lines asking, the Sku.
    let mut lines: BTreeMap<Uuid, Want> = BTreeMap::new();
    let mut skus: BTreeMap<String, (i64, Vec<LineId>, Sku)> = BTreeMap::new();
    if holds_allowed {
        for w in wanted.iter().filter(|w| w.quantity > 0) {
            let quantity = i64::from(w.quantity);
            let line = lines.entry(w.line_id.0).or_insert(Want {
                sku: w.sku.as_str().to_owned(),
                quantity: 0,
            });
            if line.sku != w.sku.as_str() {
                return Err(StoreError::Internal(format!(
                    "line {} is wanted with two skus",
                    w.line_id
                )));
            }
            line.quantity += quantity;
            let entry = skus
                .entry(w.sku.as_str().to_owned())
                .or_insert_with(|| (0, Vec::new(), w.sku.clone()));
            entry.0 += quantity;
            if !entry.1.contains(&w.line_id) {
                entry.1.push(w.line_id);
            }
        }
    }

    let existing = cart_line_holds(txn, tenant.0, cart.0).await?;
    let mut held: BTreeMap<String, i64> = BTreeMap::new();
    for row in &existing {
        *held.entry(row.sku.clone()).or_insert(0) += row.quantity;
    }

    // One pass over the skus in order: hold or release only the difference.
    let all: BTreeSet<&String> = skus.keys().chain(held.keys()).collect();
    let mut tracked: BTreeSet<String> = BTreeSet::new();
    let mut low_stock = LowStock::default();
    let mut shortages = Vec::new();
    for sku in all {
        let want = skus.get(sku).map_or(0, |(q, _, _)| *q);
        let have = held.get(sku).copied().unwrap_or(0);
        if want > have {
            if try_hold(txn, tenant.0, sku, want - have, &mut low_stock).await? {
                tracked.insert(sku.clone());
            } else if let Some(free) = free_stock(txn, tenant.0, sku).await?
                && let Some((_, line_ids, sku)) = skus.get(sku)
            {
                shortages.push(Shortage {
                    sku: sku.clone(),
                    requested: u32::try_from(want).unwrap_or(u32::MAX),
                    available: free + have,
                    line_ids: line_ids.clone(),
                });
            }
            // else untracked: nothing to hold.
        } else {
            release(txn, tenant.0, sku, have - want).await?;
            if want > 0 {
                tracked.insert(sku.clone());
            }
        }
    }
    if !shortages.is_empty() {
        return Ok(Synced::Short(shortages));
    }

    // The rows follow: keep (resize, renew) each line's hold, drop the rest.
    let mut stale = Vec::new();
    let mut kept: BTreeSet<Uuid> = BTreeSet::new();
    for row in existing {
        let keep = row.line_id.and_then(|line| {
            lines
                .get(&line)
                .filter(|w| w.sku == row.sku && tracked.contains(&w.sku))
                .map(|w| (line, w.quantity))
        });
        match keep {
            Some((line, quantity)) if kept.insert(line) => {
                if row.quantity != quantity || row.expires_at != expires_at {
                    stock_holds::Entity::update_many()
                        .col_expr(stock_holds::Column::Quantity, Expr::value(quantity))
                        .col_expr(stock_holds::Column::ExpiresAt, Expr::value(expires_at))
                        .filter(stock_holds::Column::Id.eq(row.id))
                        .exec(txn)
                        .await
                        .map_err(db_err)?;
                }
            }
            _ => stale.push(row),
        }
    }
    let stale_count = stale.len();
    if delete_holds(txn, stale, None).await?.len() != stale_count {
        return Err(StoreError::Internal(
            "a line hold vanished while its cart was locked".into(),
        ));
    }
    let now = to_millis(Utc::now());
    let new_rows: Vec<stock_holds::ActiveModel> = lines
        .iter()
        .filter(|(line, w)| !kept.contains(*line) && tracked.contains(&w.sku))
        .map(|(line, w)| {
            stock_holds::Model {
                id: Uuid::now_v7(),
                tenant_id: tenant.0,
                sku: w.sku.clone(),
                quantity: w.quantity,
                kind: LINE.to_owned(),
                cart_id: cart.0,
                line_id: Some(*line),
                checkout_id: None,
                expires_at,
                created_at: now,
            }
            .into_active_model()
        })
        .collect();
    if !new_rows.is_empty() {
        stock_holds::Entity::insert_many(new_rows)
            .exec_without_returning(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(Synced::Held(low_stock.events().to_vec()))
}

/// [`CartRepository::save_holding`]: the cart's idempotency seal, lock, conditional save,
/// holds and events in one transaction.
///
/// [`CartRepository::save_holding`]: trolley_core::ports::CartRepository::save_holding
pub(crate) async fn save_holding(
    db: &DatabaseConnection,
    cart: &Cart,
    stored: &Cart,
    seal: Option<Seal<'_>>,
    events: &[NewEvent],
    holds: &[WantedHold],
    hold_until: DateTime<Utc>,
) -> Result<Vec<Shortage>, StoreError> {
    let txn = begin_write(db).await?;
    let result = async {
        // As a checkout start: a second request with the key waits here for the first.
        seal_opt(&txn, seal).await?;
        lock_cart(&txn, cart.id.0).await?;
        // The conditional save first: a moved version changes nothing, holds included.
        save_in(&txn, cart, stored).await?;
        let holds_allowed = cart.status == CartStatus::Active;
        match sync_in(
            &txn,
            cart.tenant_id,
            cart.id,
            holds,
            hold_until,
            holds_allowed,
        )
        .await?
        {
            Synced::Held(low_stock) => {
                outbox::append(&txn, cart.tenant_id, events, cart.updated_at).await?;
                outbox::append(&txn, cart.tenant_id, &low_stock, Utc::now()).await?;
                Ok(End::Commit(Vec::new()))
            }
            Synced::Short(shortages) => Ok(End::Rollback(shortages)),
        }
    }
    .await;
    finish(txn, result).await
}
