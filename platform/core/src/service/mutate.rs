//! The write path, in one place: load for a write, apply a pure mutation, let the order
//! type judge it, check and hold stock (the claim rules are `domain::claim`), and save with
//! a conditional update (sealing the request's idempotency key in the same transaction),
//! retrying a lost race unless `If-Match` pinned a version. A cart's own changes read the
//! cart with the catalog and stock rows they decide with in one go
//! ([`CartService::load_for_write_with_rows`]). The loader ([`load_for_write`]) and the
//! retry ([`retry_on_version_conflict`]) are shared with merge and checkout, so every
//! optimistic write retries the same way.

use std::future::Future;

use chrono::Duration;

use super::assemble::{Held, Priced, Rows};
use super::{CartService, Precondition, Shopper};
use crate::domain::cart::Rules;
use crate::domain::claim::{grown_lines, releases, soft_shortages, wanted_holds};
use crate::domain::{Cart, CartEvent, CartId, CartView, Changed, Replay, Sku, event, rejection};
use crate::error::{CoreError, StoreError};
use crate::ports::{CartRepository, CartWithRows};

/// How many times an optimistic write (a mutation, a merge, a checkout start) re-reads and
/// re-applies after losing a race. Every lost race means another writer won, so the cart
/// always makes progress; the bound only stops a pathological storm from holding a worker
/// forever.
pub(crate) const MAX_ATTEMPTS: usize = 100;

/// How one attempt of an optimistic write ended.
pub(crate) enum Attempt<T> {
    /// The write is over: stored, or refused, or nothing needed storing.
    Done(T),
    /// The conditional save found the version moved (another writer won): start over
    /// from the stored state.
    Lost,
}

/// Runs `attempt` until it is [`Attempt::Done`] or fails, at most [`MAX_ATTEMPTS`] times
/// ([`CoreError::Contention`] after that). Each attempt loads afresh through
/// [`load_for_write`] (or [`CartService::load_for_write_with_rows`]), which judge `If-Match`
/// on what they load: a write pinned to a version
/// that loses a race answers 412 on its next attempt instead of applying on top of the
/// winner.
pub(crate) async fn retry_on_version_conflict<T, F, Fut>(mut attempt: F) -> Result<T, CoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Attempt<T>, CoreError>>,
{
    for _ in 0..MAX_ATTEMPTS {
        match attempt().await? {
            Attempt::Done(answer) => return Ok(answer),
            Attempt::Lost => tracing::debug!("lost a race on the cart version; retrying"),
        }
    }
    Err(CoreError::Contention)
}

/// Reads a cart for a write: from the database, never the cache (the conditional update
/// would catch a stale cache anyway, but `If-Match` must be judged on the truth), then
/// authorizes the caller and checks `If-Match` ([`check_write`]).
pub(crate) async fn load_for_write(
    carts: &dyn CartRepository,
    shopper: &Shopper,
    id: CartId,
    pre: Precondition,
) -> Result<Cart, CoreError> {
    let cart = carts
        .load(shopper.tenant.id, id)
        .await?
        .ok_or(CoreError::CartNotFound)?;
    check_write(shopper, &cart, pre)?;
    Ok(cart)
}

/// May `shopper` write `cart` as just loaded: are they its owner, and is it at the version
/// their `If-Match` insists on.
fn check_write(shopper: &Shopper, cart: &Cart, pre: Precondition) -> Result<(), CoreError> {
    shopper.authorize(cart)?;
    if let Some(expected) = pre.if_match
        && expected != cart.version
    {
        return Err(CoreError::PreconditionFailed {
            current_version: cart.version,
        });
    }
    Ok(())
}

/// Domain events go to the structured log for now; metrics and an outbox read them later.
pub(super) fn emit(cart: &Cart, events: &[CartEvent]) {
    for event in events {
        tracing::info!(
            tenant_id = %cart.tenant_id,
            cart_id = %cart.id,
            version = cart.version,
            event = ?event,
            "cart event"
        );
    }
}

impl CartService {
    /// [`load_for_write`], reading with the cart the catalog items and stock levels of its
    /// skus and of `adds` (the skus the write may add) in one go
    /// ([`CartRepository::load_with_rows`]: one statement on PostgreSQL, one snapshot), so a
    /// write has read all it decides with in one round trip. A missing cart (or another
    /// tenant's) is 404 and a caller who may not write it is refused before anything is
    /// made of the rows, whatever the skus.
    pub(super) async fn load_for_write_with_rows(
        &self,
        shopper: &Shopper,
        id: CartId,
        pre: Precondition,
        adds: &[Sku],
    ) -> Result<(Cart, Rows), CoreError> {
        let tenant = shopper.tenant.id;
        let start = self.recent.before_read();
        let CartWithRows {
            cart,
            items,
            levels,
            line_holds,
            checkout_holds,
        } = self
            .carts
            .load_with_rows(tenant, id, adds)
            .await?
            .ok_or(CoreError::CartNotFound)?;
        check_write(shopper, &cart, pre)?;
        let skus = cart.lines.iter().map(|l| l.sku()).chain(adds).cloned();
        let held = Held {
            cart: cart.id,
            line_holds,
            checkout_holds,
        };
        let rows = self.rows_read(start, tenant, skus.collect(), items, levels, Some(held));
        Ok((cart, rows))
    }

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
        let (view, _) = self.mutate_from(shopper, id, pre, &[], None, apply).await?;
        Ok(view)
    }

    /// [`Self::mutate`] of a change that may add lines of `adds`, with the first attempt
    /// working on `loaded` when the caller has already read the cart and its rows through
    /// [`Self::load_for_write_with_rows`]; also answers the events of the change that was
    /// stored (none when nothing changed). Every attempt reads the cart and the rows of its
    /// skus and of `adds` together.
    pub(super) async fn mutate_from<F>(
        &self,
        shopper: &Shopper,
        id: CartId,
        pre: Precondition,
        adds: &[Sku],
        mut loaded: Option<(Cart, Rows)>,
        apply: F,
    ) -> Result<(CartView, Vec<CartEvent>), CoreError>
    where
        F: Fn(Cart, &Rules) -> Result<Changed, CoreError>,
    {
        let apply = &apply;
        retry_on_version_conflict(|| {
            let loaded = loaded.take();
            async move {
                let (cart, rows) = match loaded {
                    Some(loaded) => loaded,
                    None => {
                        self.load_for_write_with_rows(shopper, id, pre, adds)
                            .await?
                    }
                };
                self.try_mutation(shopper, id, cart, rows, apply).await
            }
        })
        .await
    }

    /// One attempt of [`Self::mutate_from`] on the cart as loaded, with the rows read with it.
    async fn try_mutation<F>(
        &self,
        shopper: &Shopper,
        id: CartId,
        cart: Cart,
        rows: Rows,
        apply: &F,
    ) -> Result<Attempt<(CartView, Vec<CartEvent>)>, CoreError>
    where
        F: Fn(Cart, &Rules) -> Result<Changed, CoreError>,
    {
        let tenant = &shopper.tenant;
        let rules = self.rules(tenant, &cart);
        // The cart as read: the save is conditional on it, and it tells a rejection this
        // change causes from one the cart already had.
        let before = cart.clone();
        let changed = apply(cart, &rules)?;
        if changed.events.is_empty() {
            let view = self.assemble(tenant, &changed.cart).await?;
            return Ok(Attempt::Done((view, Vec::new())));
        }
        // The order type judges the cart as it would be; a `reject` it is to blame for
        // refuses a change that adds to the cart, and nothing is stored (the rule is in
        // `domain::rejection`). Removals are never refused: they can only help.
        // The catalog and stock rows of every sku involved, read with the cart: both the
        // cart after and the cart before are priced from them (a sku the change added
        // without announcing it in `adds` is read then).
        let mut priced = self.price_from(tenant, &changed.cart, &rows).await?;
        let grown = grown_lines(&changed.events);
        if !grown.is_empty() {
            let after = priced.view.rejections();
            if !after.is_empty() {
                let prior = if rejection::needs_prior(&after, &grown) {
                    self.price_from(tenant, &before, &rows)
                        .await?
                        .view
                        .rejections()
                } else {
                    Vec::new()
                };
                let violations = rejection::refusing(&after, &prior, &grown);
                if !violations.is_empty() {
                    return Err(CoreError::ValidationFailed { violations });
                }
            }
            // `soft` lines are checked against stock when they grow; nothing is held.
            let shortages = soft_shortages(&changed.cart, &priced.catalog, &priced.stock, &grown);
            if !shortages.is_empty() {
                return Err(CoreError::InsufficientStock { shortages });
            }
        }
        // `reserve` lines hold their stock: the holds follow the lines (and renew with
        // every change), all or nothing, in the transaction that saves the cart.
        let wanted = wanted_holds(&changed.cart, &priced.catalog, &priced.stock);
        let replay = Replay::Cart(id);
        let seal = shopper.seal(&replay);
        let saved = if !wanted.is_empty() || releases(&changed.events) {
            let until = rules.now + Duration::minutes(i64::from(tenant.config.reserve_ttl_minutes));
            // The cart is shown as the save leaves it, holds included: priced from the rows
            // read, moved by this change's holds (the save writes exactly that or nothing).
            let after = rows.after_holds(id, &wanted, until).ok_or_else(|| {
                StoreError::Internal("a write's rows were read without its cart's holds".into())
            })?;
            priced = self.price_from(tenant, &changed.cart, &after).await?;
            let events = event::cart_changed(&priced.view, &changed.events);
            let saved = self
                .carts
                .save_holding(&changed.cart, &before, seal, &events, &wanted, until)
                .await;
            // Held or released (or maybe, on an error): reads must see it at once.
            self.recent
                .forget_stock(tenant.id, changed.cart.lines.iter().map(|l| l.sku()));
            match saved {
                Ok(shortages) if !shortages.is_empty() => {
                    return Err(CoreError::InsufficientStock { shortages });
                }
                other => other.map(drop),
            }
        } else {
            let events = event::cart_changed(&priced.view, &changed.events);
            self.carts
                .save_emitting(&changed.cart, &before, seal, &events)
                .await
        };
        let Priced { view, fresh, .. } = priced;
        match saved {
            Ok(()) => {
                emit(&changed.cart, &changed.events);
                self.cache.put(&changed.cart, fresh.as_ref()).await;
                self.announce(tenant.id, id, changed.cart.version);
                Ok(Attempt::Done((view, changed.events)))
            }
            Err(StoreError::VersionConflict) => {
                self.cache.invalidate(tenant.id, id).await;
                Ok(Attempt::Lost)
            }
            Err(e) => Err(e.into()),
        }
    }
}
