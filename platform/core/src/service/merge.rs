//! Login as convergence (SPEC §3): a guest cart merged into the signed-in customer's cart,
//! or adopted as theirs; every line of either cart gets an outcome in the answer.

use std::collections::HashMap;

use chrono::Duration;

use super::mutate::{Attempt, emit, load_for_write, retry_on_version_conflict};
use super::{CartService, Precondition, Shopper};
use crate::domain::claim::{claim_of, wanted_holds};
use crate::domain::event;
use crate::domain::merge::{self, LineOutcome};
use crate::domain::{
    Cart, CartEvent, CartId, CartOwner, CartStatus, CartView, CatalogItem, ClaimPolicy,
    MergePolicy, Sku, Tenant,
};
use crate::error::{CoreError, StoreError};
use crate::ports::MergeRecord;

/// A merge's answer: the merged cart and what happened to every line.
#[derive(Debug, Clone)]
pub struct MergeResult {
    pub cart: CartView,
    pub outcomes: Vec<LineOutcome>,
    pub policy: MergePolicy,
    /// This source was merged before; the first merge's outcomes are answered again.
    pub replayed: bool,
    /// Where the guest cart stands after the merge.
    pub source: MergeSource,
}

/// The guest cart after a merge: `merged` when absorbed; still `active` when its lines were
/// of another order type and stayed in it (`left_in_source`), so the storefront can offer
/// it to the shopper; the adopted cart itself after an adoption.
#[derive(Debug, Clone)]
pub struct MergeSource {
    pub cart_id: CartId,
    pub status: CartStatus,
    pub order_type: Option<String>,
    /// Lines it holds now that the merge did not take.
    pub lines_left: usize,
}

impl MergeSource {
    fn of(cart: &Cart, status: CartStatus, lines_left: usize) -> Self {
        Self {
            cart_id: cart.id,
            status,
            order_type: cart.order_type.clone(),
            lines_left,
        }
    }
}

impl CartService {
    /// Merges a guest cart (proven by its token) into the signed-in customer's cart
    /// (`target`), under `policy` or the tenant's default. Merging a guest cart into itself
    /// adopts it: it becomes the customer's cart, if they have no live cart yet. Merging the
    /// same source again answers the first result. A guest cart of another order type than
    /// the (non-empty) customer cart is left apart: nothing moves, it stays active, and
    /// its lines are `left_in_source` (see [`Cart::absorb`]).
    #[tracing::instrument(skip_all, fields(tenant_id = %shopper.tenant.id, cart_id = %target, source = %source))]
    pub async fn merge(
        &self,
        shopper: &Shopper,
        target: CartId,
        source: CartId,
        source_token: &str,
        policy: Option<MergePolicy>,
        pre: Precondition,
    ) -> Result<MergeResult, CoreError> {
        let tenant = &shopper.tenant;
        let customer = shopper
            .customer_id
            .clone()
            .ok_or(CoreError::Unauthenticated(
                "a merge is made for a signed-in customer: send their customer token as Authorization: Bearer <JWT>",
            ))?;
        let policy = policy.unwrap_or(tenant.config.merge_policy);
        let guest = Shopper {
            tenant: tenant.clone(),
            customer_id: None,
            cart_token: Some(source_token.to_owned()),
            // A merge never seals: it replays by itself (the merge record is its receipt).
            receipt: None,
        };
        if target == source {
            return self.adopt(shopper, &guest, source, &customer, pre).await;
        }
        retry_on_version_conflict(|| self.try_merge(shopper, &guest, target, source, policy, pre))
            .await
    }

    /// One attempt of [`Self::merge`] of `source` into `target` (two different carts).
    async fn try_merge(
        &self,
        shopper: &Shopper,
        guest: &Shopper,
        target: CartId,
        source: CartId,
        policy: MergePolicy,
        pre: Precondition,
    ) -> Result<Attempt<MergeResult>, CoreError> {
        let tenant = &shopper.tenant;
        let target_cart = load_for_write(self.carts.as_ref(), shopper, target, pre).await?;
        let source_cart = self
            .carts
            .load(tenant.id, source)
            .await?
            .ok_or(CoreError::CartNotFound)?;
        guest.authorize(&source_cart)?;
        if source_cart.status == CartStatus::Merged
            && let Some(record) = self.carts.merge_record(tenant.id, source).await?
            && record.target_cart_id == target
        {
            // Idempotent: the first merge's answer, with the cart as it is now.
            return Ok(Attempt::Done(MergeResult {
                cart: self.assemble(tenant, &target_cart).await?,
                outcomes: record.outcomes,
                policy: record.policy,
                replayed: true,
                source: MergeSource::of(&source_cart, CartStatus::Merged, 0),
            }));
        }
        let mut skus: Vec<Sku> = source_cart.lines.iter().map(|l| l.sku().clone()).collect();
        skus.sort();
        skus.dedup();
        let catalog: HashMap<Sku, CatalogItem> = self
            .catalog
            .get_many(tenant.id, &skus)
            .await?
            .into_iter()
            .map(|i| (i.sku.clone(), i))
            .collect();
        // Stock-checked skus (soft, reserve) cap what the merge may add.
        let stock: HashMap<Sku, i64> = self
            .inventory
            .get_many(tenant.id, &skus)
            .await?
            .into_iter()
            .filter(|level| {
                claim_of(&level.sku, &catalog, tenant.config.default_claim_policy)
                    != ClaimPolicy::Interest
            })
            .map(|level| (level.sku.clone(), level.available()))
            .collect();
        let rules = self.rules(tenant, &target_cart);
        // Both carts stay as read: the write is conditional on them.
        let merged = target_cart
            .clone()
            .absorb(&source_cart, policy, &catalog, &stock, &rules)?;
        let view = self.assemble(tenant, &merged.changed.cart).await?;
        if !merged.absorbed {
            // Another order type: nothing moved and nothing is written; the guest cart
            // stays active with its lines, and the answer says so line by line.
            self.metrics
                .merge_outcomes(policy.as_str(), &merge::counts(&merged.outcomes));
            tracing::info!(
                cart_id = %target,
                source = %source,
                "guest cart of another order type left apart"
            );
            return Ok(Attempt::Done(MergeResult {
                cart: view,
                outcomes: merged.outcomes,
                policy,
                replayed: false,
                source: MergeSource::of(&source_cart, source_cart.status, source_cart.lines.len()),
            }));
        }
        let absorbed = source_cart.clone().merged_into(target, rules.now);
        let record = MergeRecord {
            tenant_id: tenant.id,
            source_cart_id: source,
            target_cart_id: target,
            policy,
            outcomes: merged.outcomes.clone(),
            created_at: rules.now,
        };
        match self
            .carts
            .save_merge_emitting(
                &merged.changed.cart,
                &target_cart,
                &absorbed.cart,
                &source_cart,
                &record,
                &event::cart_changed(&view, &merged.changed.events),
            )
            .await
        {
            Ok(()) => {
                emit(&merged.changed.cart, &merged.changed.events);
                emit(&absorbed.cart, &absorbed.events);
                for event in &merged.changed.events {
                    if let CartEvent::CartMerged { policy, counts, .. } = event {
                        self.metrics.merge_outcomes(policy.as_str(), counts);
                    }
                }
                self.cache.put(&merged.changed.cart, None).await;
                self.cache.put(&absorbed.cart, None).await;
                self.announce(tenant.id, target, merged.changed.cart.version);
                self.announce(tenant.id, source, absorbed.cart.version);
                self.rehold_after_merge(tenant, &absorbed.cart, &merged.changed.cart)
                    .await;
                Ok(Attempt::Done(MergeResult {
                    cart: view,
                    outcomes: merged.outcomes,
                    policy,
                    replayed: false,
                    source: MergeSource::of(&absorbed.cart, absorbed.cart.status, 0),
                }))
            }
            Err(StoreError::VersionConflict) => {
                self.cache.invalidate(tenant.id, target).await;
                self.cache.invalidate(tenant.id, source).await;
                Ok(Attempt::Lost)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// After a merge the guest cart's holds go, and the customer cart's `reserve` lines
    /// (some of them just merged in) hold their stock. The merge is already committed, so
    /// a line that cannot be held now is not undone: the read shows it `out_of_stock` and
    /// checkout holds (or refuses) it for sure.
    async fn rehold_after_merge(&self, tenant: &Tenant, source: &Cart, target: &Cart) {
        let until = self.clock.now_millis()
            + Duration::minutes(i64::from(tenant.config.reserve_ttl_minutes));
        // Whatever happens below moves held stock of these skus.
        let touched = source.lines.iter().chain(&target.lines).map(|l| l.sku());
        self.recent.forget_stock(tenant.id, touched.clone());
        if let Err(e) = self
            .inventory
            .sync_line_holds(tenant.id, source.id, &[], until)
            .await
        {
            tracing::warn!(error = %e, "could not release a merged cart's holds; the sweeper will");
        }
        let wanted = match self.price(tenant, target).await {
            Ok(priced) => wanted_holds(target, &priced.catalog, &priced.stock),
            Err(e) => {
                tracing::warn!(error = %e, "could not price a merged cart to hold its stock");
                return;
            }
        };
        if wanted.is_empty() {
            return;
        }
        let synced = self
            .inventory
            .sync_line_holds(tenant.id, target.id, &wanted, until)
            .await;
        self.recent.forget_stock(tenant.id, touched);
        match synced {
            Ok(shortages) if !shortages.is_empty() => {
                tracing::info!(cart_id = %target.id, ?shortages, "merged reserve lines could not all be held");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not hold a merged cart's stock"),
        }
    }

    /// The guest cart becomes the customer's own (they have no live cart yet).
    async fn adopt(
        &self,
        shopper: &Shopper,
        guest: &Shopper,
        id: CartId,
        customer: &str,
        pre: Precondition,
    ) -> Result<MergeResult, CoreError> {
        let tenant = &shopper.tenant;
        if let Some(existing) = self
            .carts
            .find_live_for_customer(tenant.id, customer)
            .await?
        {
            if existing.id == id {
                // Adopted before: answer as a replay.
                let view = self.assemble(tenant, &existing).await?;
                let outcomes = kept_outcomes(&existing);
                return Ok(MergeResult {
                    cart: view,
                    outcomes,
                    policy: tenant.config.merge_policy,
                    replayed: true,
                    source: MergeSource::of(&existing, existing.status, 0),
                });
            }
            return Err(CoreError::InvalidInput(format!(
                "the customer already has cart {}; merge this guest cart into it",
                existing.id
            )));
        }
        let customer = customer.to_owned();
        let view = self
            .mutate(guest, id, pre, |mut cart, rules| {
                cart.ensure_active()?;
                cart.owner = CartOwner::Customer(customer.clone());
                Ok(cart.adopted(rules))
            })
            .await
            .map_err(|e| match e {
                // Another device adopted or created a cart for this customer meanwhile.
                CoreError::Store(StoreError::UniqueViolation(_)) => CoreError::Contention,
                other => other,
            })?;
        let cart = self
            .carts
            .load(tenant.id, id)
            .await?
            .ok_or(CoreError::CartNotFound)?;
        Ok(MergeResult {
            outcomes: kept_outcomes(&cart),
            cart: view,
            policy: tenant.config.merge_policy,
            replayed: false,
            source: MergeSource::of(&cart, cart.status, 0),
        })
    }
}

/// An adopted cart's lines: all kept as they were.
fn kept_outcomes(cart: &Cart) -> Vec<LineOutcome> {
    cart.lines
        .iter()
        .map(|l| LineOutcome {
            line_key: l.key.canonical(),
            sku: l.key.sku.to_string(),
            line_id: Some(l.id),
            outcome: crate::domain::merge::Outcome::KeptSource,
            target_quantity: None,
            source_quantity: Some(l.quantity.get()),
            quantity: l.quantity.get(),
            reason: Some("adopted".into()),
        })
        .collect()
}
