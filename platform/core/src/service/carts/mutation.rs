//! The write pipeline: load for a write, apply a pure mutation, let the order type judge
//! it, hold stock, and save with a conditional update (sealing the request's idempotency
//! key in the same transaction), retrying a lost race unless `If-Match` pinned a version.

use chrono::Duration;

use super::{CartService, MAX_ATTEMPTS, Precondition, Priced, Shopper, claim_of, emit};
use crate::domain::cart::Rules;
use crate::domain::{
    Cart, CartEvent, CartId, CartView, Changed, ClaimPolicy, LineId, Replay, rejection,
};
use crate::error::{CoreError, StoreError};
use crate::ports::WantedHold;

impl CartService {
    /// Load → authorize → check `If-Match` → apply → conditional save; on a lost race,
    /// start over from the stored state (or answer 412 if the caller pinned a version).
    pub(crate) async fn mutate<F>(
        &self,
        shopper: &Shopper,
        id: CartId,
        pre: Precondition,
        apply: F,
    ) -> Result<CartView, CoreError>
    where
        F: Fn(Cart, &Rules) -> Result<Changed, CoreError>,
    {
        let (view, _) = self.mutate_from(shopper, id, pre, None, apply).await?;
        Ok(view)
    }

    /// [`Self::mutate`], with the first attempt working on `loaded` when the caller has
    /// already read the cart through [`Self::load_for_write`]; also answers the events of
    /// the change that was stored (none when nothing changed).
    pub(super) async fn mutate_from<F>(
        &self,
        shopper: &Shopper,
        id: CartId,
        pre: Precondition,
        mut loaded: Option<Cart>,
        apply: F,
    ) -> Result<(CartView, Vec<CartEvent>), CoreError>
    where
        F: Fn(Cart, &Rules) -> Result<Changed, CoreError>,
    {
        let tenant = &shopper.tenant;
        for _ in 0..MAX_ATTEMPTS {
            let cart = match loaded.take() {
                Some(cart) => cart,
                None => self.load_for_write(shopper, id, pre).await?,
            };
            let rules = self.rules(tenant, &cart);
            // Kept to tell a rejection this change causes from one the cart already had.
            let before = cart.clone();
            let changed = apply(cart, &rules)?;
            if changed.events.is_empty() {
                return Ok((self.assemble(tenant, &changed.cart).await?, Vec::new()));
            }
            // The order type judges the cart as it would be; a `reject` it is to blame for
            // refuses a change that adds to the cart, and nothing is stored (the rule is in
            // `domain::rejection`). Removals are never refused: they can only help.
            let mut priced = self.price(tenant, &changed.cart).await?;
            let grown = grown_lines(&changed.events);
            if !grown.is_empty() {
                let after = priced.view.rejections();
                if !after.is_empty() {
                    let prior = if rejection::needs_prior(&after, &grown) {
                        self.price(tenant, &before).await?.view.rejections()
                    } else {
                        Vec::new()
                    };
                    let violations = rejection::refusing(&after, &prior, &grown);
                    if !violations.is_empty() {
                        return Err(CoreError::ValidationFailed { violations });
                    }
                }
                // `soft` lines are checked against stock when they grow; nothing is held.
                let shortages = soft_shortages(&changed.cart, &priced, &grown);
                if !shortages.is_empty() {
                    return Err(CoreError::InsufficientStock { shortages });
                }
            }
            // `reserve` lines hold their stock: the holds follow the lines (and renew with
            // every change), all or nothing, before the cart is written.
            let wanted = wanted_holds(&changed.cart, &priced);
            if !wanted.is_empty() || releases(&changed.events) {
                let until =
                    rules.now + Duration::minutes(i64::from(tenant.config.reserve_ttl_minutes));
                let synced = self
                    .inventory
                    .sync_line_holds(tenant.id, id, &wanted, until)
                    .await;
                // Held or released (or maybe, on an error): reads must see it at once.
                self.recent
                    .forget_stock(tenant.id, changed.cart.lines.iter().map(|l| l.sku()));
                let shortages = synced?;
                if !shortages.is_empty() {
                    return Err(CoreError::InsufficientStock { shortages });
                }
                priced = self.price(tenant, &changed.cart).await?;
            }
            let Priced { view, fresh, .. } = priced;
            let replay = Replay::Cart(id);
            match self
                .carts
                .save(&changed.cart, &before, shopper.seal(&replay))
                .await
            {
                Ok(()) => {
                    emit(&changed.cart, &changed.events);
                    self.cache.put(&changed.cart, fresh.as_ref()).await;
                    return Ok((view, changed.events));
                }
                Err(StoreError::VersionConflict) => {
                    self.cache.invalidate(tenant.id, id).await;
                    tracing::debug!("lost a race on the cart version; retrying");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(CoreError::Contention)
    }

    /// Reads a cart for a write: from the database, never the cache (the conditional update
    /// would catch a stale cache anyway, but `If-Match` must be judged on the truth), then
    /// authorizes the caller and checks `If-Match`.
    pub(crate) async fn load_for_write(
        &self,
        shopper: &Shopper,
        id: CartId,
        pre: Precondition,
    ) -> Result<Cart, CoreError> {
        let cart = self
            .carts
            .load(shopper.tenant.id, id)
            .await?
            .ok_or(CoreError::CartNotFound)?;
        shopper.authorize(&cart)?;
        if let Some(expected) = pre.if_match
            && expected != cart.version
        {
            return Err(CoreError::PreconditionFailed {
                current_version: cart.version,
            });
        }
        Ok(cart)
    }
}

/// Lines that a mutation added or raised.
fn grown_lines(events: &[CartEvent]) -> Vec<LineId> {
    events
        .iter()
        .filter_map(|e| match e {
            CartEvent::LineAdded { line_id, .. } => Some(*line_id),
            CartEvent::LineQuantityChanged { line_id, from, to } if to > from => Some(*line_id),
            _ => None,
        })
        .collect()
}

/// Whether a mutation may have dropped a line whose stock was held.
fn releases(events: &[CartEvent]) -> bool {
    events.iter().any(|e| {
        matches!(
            e,
            CartEvent::LineRemoved { .. }
                | CartEvent::CartCleared { .. }
                | CartEvent::CartReplaced(_)
                | CartEvent::ReviewResolved { .. }
                | CartEvent::LineQuantityChanged { .. }
        )
    })
}

/// Grown `soft` lines asking for more than is available.
fn soft_shortages(cart: &Cart, priced: &Priced, grown: &[LineId]) -> Vec<crate::domain::Shortage> {
    cart.lines
        .iter()
        .filter(|l| grown.contains(&l.id))
        .filter(|l| claim_of(l.sku(), &priced.catalog, &priced.stock) == ClaimPolicy::Soft)
        .filter_map(|l| {
            let level = priced.stock.levels.get(l.sku())?;
            (level.available() < i64::from(l.quantity.get())).then(|| crate::domain::Shortage {
                sku: l.sku().clone(),
                requested: l.quantity.get(),
                available: level.available(),
                line_ids: vec![l.id],
            })
        })
        .collect()
}

/// The holds the cart's `reserve` lines should have.
pub(crate) fn wanted_holds(cart: &Cart, priced: &Priced) -> Vec<WantedHold> {
    cart.lines
        .iter()
        .filter(|l| claim_of(l.sku(), &priced.catalog, &priced.stock) == ClaimPolicy::Reserve)
        .map(|l| WantedHold {
            line_id: l.id,
            sku: l.sku().clone(),
            quantity: l.quantity.get(),
        })
        .collect()
}
