//! Checkout (SPEC §4): a cart's soft state turned into a binding, immutable snapshot with
//! its stock held; an order made from it exactly once; expiry of what was left behind.

use chrono::Duration;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::domain::checkout::{SnapshotFee, SnapshotFulfillment, SnapshotLine, SnapshotPlugin};
use crate::domain::{
    Availability, Cart, CartId, Checkout, CheckoutId, CheckoutSnapshot, CheckoutStatus, Judgement,
    LineId, Order, OrderId, Replay, Severity, Sku, Tenant, Violation,
};
use crate::error::{CoreError, PriceChange, StoreError};
use crate::ports::{
    BeginCheckout, CancelCheckout, CartCache, CartRepository, CheckoutRepository, Clock,
    CompleteCheckout, Metrics, NoMetrics, ReservationEvent, SweepReport,
};
use crate::service::assemble::Priced;
use crate::service::mutate::{Attempt, retry_on_version_conflict};
use crate::service::shopper::Owned;
use crate::service::{CartService, Precondition, RecentInputs, Shopper};

#[derive(Clone)]
pub struct CheckoutService {
    /// Prices the cart exactly as a cart write does (a cart use case, not a port).
    pricing: CartService,
    carts: Arc<dyn CartRepository>,
    checkouts: Arc<dyn CheckoutRepository>,
    cache: Arc<dyn CartCache>,
    clock: Arc<dyn Clock>,
    recent: Arc<RecentInputs>,
    metrics: Arc<dyn Metrics>,
}

impl CheckoutService {
    /// `pricing` and the ports are the ones the cart service was built with (the same
    /// repository, cache, clock and [`RecentInputs`]), so a checkout sees what carts see.
    pub fn new(
        pricing: CartService,
        carts: Arc<dyn CartRepository>,
        checkouts: Arc<dyn CheckoutRepository>,
        cache: Arc<dyn CartCache>,
        clock: Arc<dyn Clock>,
        recent: Arc<RecentInputs>,
    ) -> Self {
        Self {
            pricing,
            carts,
            checkouts,
            cache,
            clock,
            recent,
            metrics: Arc::new(NoMetrics),
        }
    }

    /// Reports reservations to `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<dyn Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Validates, prices and holds the cart, and freezes it behind an immutable snapshot.
    #[tracing::instrument(skip_all, fields(tenant_id = %shopper.tenant.id, cart_id = %id))]
    pub async fn begin(
        &self,
        shopper: &Shopper,
        id: CartId,
        accept_price_changes: bool,
        pre: Precondition,
    ) -> Result<Checkout, CoreError> {
        retry_on_version_conflict(|| self.try_begin(shopper, id, accept_price_changes, pre)).await
    }

    /// One attempt of [`Self::begin`].
    async fn try_begin(
        &self,
        shopper: &Shopper,
        id: CartId,
        accept_price_changes: bool,
        pre: Precondition,
    ) -> Result<Attempt<Checkout>, CoreError> {
        let tenant = &shopper.tenant;
        // The cart with the catalog, stock and holds of its skus, in one read: the snapshot
        // is priced and checked from them.
        let (cart, rows) = self
            .pricing
            .load_for_write_with_rows(shopper, id, pre, &[])
            .await?;
        cart.ensure_active()?;
        if cart.lines.is_empty() {
            return Err(CoreError::CartEmpty);
        }
        let in_review: Vec<LineId> = cart
            .lines
            .iter()
            .filter(|l| l.needs_review())
            .map(|l| l.id)
            .collect();
        if !in_review.is_empty() {
            return Err(CoreError::ReviewRequired {
                line_ids: in_review,
            });
        }
        let priced = self.pricing.price_from(tenant, &cart, &rows).await?;
        let view = &priced.view;
        if let Judgement::Unavailable {
            order_type,
            failure,
            run_id,
        } = &view.judgement
        {
            // Failing open is for reads; a binding snapshot needs the order type's word.
            return Err(CoreError::PluginFailed {
                order_type: order_type.clone(),
                source: failure.clone(),
                run_id: *run_id,
            });
        }
        let mut violations: Vec<Violation> = view
            .violations
            .iter()
            .filter(|v| matches!(v.severity, Severity::Reject | Severity::BlockCheckout))
            .cloned()
            .collect();
        violations.extend(
            view.lines
                .iter()
                .filter(|l| l.availability == Availability::Unavailable)
                .map(|l| Violation {
                    code: "trolley.item_unavailable".into(),
                    message: format!("{} is no longer sold", l.sku),
                    line_id: Some(l.line_id),
                    severity: Severity::BlockCheckout,
                    field: None,
                }),
        );
        if !violations.is_empty() {
            return Err(CoreError::ValidationFailed { violations });
        }
        let changes: Vec<PriceChange> = view
            .lines
            .iter()
            .filter(|l| l.price_changed)
            .map(|l| PriceChange {
                line_id: l.line_id,
                sku: l.sku.to_string(),
                was: l.added_unit_price,
                now: l.unit_price,
            })
            .collect();
        if !changes.is_empty() && !accept_price_changes {
            return Err(CoreError::PriceChanged { changes });
        }

        let now = self.clock.now_millis();
        let expires_at = now + Duration::minutes(i64::from(tenant.config.checkout_ttl_minutes));
        let snapshot = snapshot(&cart, &priced, now, expires_at);
        // The lines take the prices the snapshot binds: accepted once, not asked again.
        // `cart` stays as read: the write is conditional on it.
        let frozen = cart.clone().frozen_for_checkout(now, &priced.catalog);
        let mut wanted: BTreeMap<Sku, (u32, Vec<LineId>)> = BTreeMap::new();
        for line in &frozen.lines {
            let entry = wanted.entry(line.sku().clone()).or_default();
            entry.0 += line.quantity.get();
            entry.1.push(line.id);
        }
        let wanted: Vec<(Sku, u32, Vec<LineId>)> = wanted
            .into_iter()
            .map(|(sku, (q, lines))| (sku, q, lines))
            .collect();
        let replay = Replay::Checkout(snapshot.checkout_id);
        match self
            .checkouts
            .begin(
                tenant.id,
                &frozen,
                &cart,
                &snapshot,
                &wanted,
                shopper.seal(&replay),
            )
            .await
        {
            Ok(BeginCheckout::Started(snapshot)) => {
                self.cache.put(&frozen, None).await;
                self.pricing.announce(tenant.id, id, frozen.version);
                self.recent
                    .forget_stock(tenant.id, wanted.iter().map(|(sku, _, _)| sku));
                self.metrics.reservations(ReservationEvent::Held, 1);
                tracing::info!(checkout_id = %snapshot.checkout_id, total = %snapshot.total, "checkout started");
                Ok(Attempt::Done(Checkout {
                    tenant_id: tenant.id,
                    snapshot,
                    status: CheckoutStatus::Pending,
                    order_id: None,
                }))
            }
            Ok(BeginCheckout::Shortages(shortages)) => {
                Err(CoreError::InsufficientStock { shortages })
            }
            Err(StoreError::VersionConflict) => {
                self.cache.invalidate(tenant.id, id).await;
                Ok(Attempt::Lost)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The checkout, for the shopper who owns its cart.
    /// The checkout and its cart's owner are read together (one round trip); a checkout
    /// whose cart is gone is not found.
    pub async fn get(&self, shopper: &Shopper, id: CheckoutId) -> Result<Checkout, CoreError> {
        let (checkout, owner) = self
            .checkouts
            .get_with_owner(shopper.tenant.id, id)
            .await?
            .ok_or(CoreError::CheckoutNotFound)?;
        let owner = owner.ok_or(CoreError::CheckoutNotFound)?;
        shopper.authorize_owner(&owner, Owned::Checkout)?;
        Ok(checkout)
    }

    /// A checkout, for the tenant's admin: no cart token needed. Another tenant's id, like
    /// an unknown one, is not found.
    pub async fn checkout_for_tenant(
        &self,
        tenant: &Tenant,
        id: CheckoutId,
    ) -> Result<Checkout, CoreError> {
        self.checkouts
            .get(tenant.id, id)
            .await?
            .ok_or(CoreError::CheckoutNotFound)
    }

    /// Turns the snapshot into an order exactly once.
    #[tracing::instrument(skip_all, fields(tenant_id = %shopper.tenant.id, checkout_id = %id))]
    pub async fn complete(
        &self,
        shopper: &Shopper,
        id: CheckoutId,
    ) -> Result<(Order, bool), CoreError> {
        let checkout = self.get(shopper, id).await?;
        let snap = &checkout.snapshot;
        let now = self.clock.now_millis();
        let order = Order {
            order_id: OrderId::new(),
            tenant_id: shopper.tenant.id,
            checkout_id: id,
            cart_id: snap.cart_id,
            customer_id: snap.customer_id.clone(),
            status: "placed".into(),
            currency: snap.currency.clone(),
            lines: snap.lines.clone(),
            fees: snap.fees.clone(),
            subtotal: snap.subtotal,
            total: snap.total,
            context: snap.context.clone(),
            created_at: now,
        };
        let outcome = self
            .checkouts
            .complete(shopper.tenant.id, id, &order, now)
            .await?;
        self.recent
            .forget_stock(shopper.tenant.id, snap.lines.iter().map(|l| &l.sku));
        self.cache.invalidate(shopper.tenant.id, snap.cart_id).await;
        self.pricing.announce(shopper.tenant.id, snap.cart_id, 0);
        match outcome {
            CompleteCheckout::Completed(order) => {
                self.metrics.reservations(ReservationEvent::Sold, 1);
                tracing::info!(order_id = %order.order_id, "order placed");
                Ok((order, true))
            }
            CompleteCheckout::AlreadyCompleted(order) => Ok((order, false)),
            CompleteCheckout::Expired => Err(CoreError::CheckoutExpired),
            CompleteCheckout::Cancelled => Err(CoreError::CheckoutCancelled),
            CompleteCheckout::NotFound => Err(CoreError::CheckoutNotFound),
        }
    }

    /// Releases the holds and unfreezes the cart.
    #[tracing::instrument(skip_all, fields(tenant_id = %shopper.tenant.id, checkout_id = %id))]
    pub async fn cancel(&self, shopper: &Shopper, id: CheckoutId) -> Result<Checkout, CoreError> {
        let checkout = self.get(shopper, id).await?;
        let now = self.clock.now_millis();
        let outcome = self.checkouts.cancel(shopper.tenant.id, id, now).await?;
        self.recent.forget_stock(
            shopper.tenant.id,
            checkout.snapshot.lines.iter().map(|l| &l.sku),
        );
        self.cache
            .invalidate(shopper.tenant.id, checkout.snapshot.cart_id)
            .await;
        self.pricing
            .announce(shopper.tenant.id, checkout.snapshot.cart_id, 0);
        match outcome {
            CancelCheckout::Cancelled { .. } => {
                self.metrics.reservations(ReservationEvent::Released, 1);
                Ok(Checkout {
                    status: CheckoutStatus::Cancelled,
                    ..checkout
                })
            }
            CancelCheckout::AlreadyCancelled => Ok(Checkout {
                status: CheckoutStatus::Cancelled,
                ..checkout
            }),
            CancelCheckout::Completed => Err(CoreError::CheckoutCompleted),
            CancelCheckout::Expired => Err(CoreError::CheckoutExpired),
            CancelCheckout::NotFound => Err(CoreError::CheckoutNotFound),
        }
    }

    /// An order, for the shopper who owns it. The owner is kept with the order, so the
    /// order stays readable after retention deleted its cart and checkout.
    pub async fn order_for_shopper(
        &self,
        shopper: &Shopper,
        id: OrderId,
    ) -> Result<Order, CoreError> {
        let (order, owner) = self
            .checkouts
            .order(shopper.tenant.id, id)
            .await?
            .ok_or(CoreError::OrderNotFound)?;
        match owner {
            Some(owner) => shopper.authorize_owner(&owner, Owned::Order)?,
            None => self.authorize_order(shopper, order.cart_id).await?,
        }
        Ok(order)
    }

    /// An order, for the tenant's admin.
    pub async fn order_for_tenant(&self, tenant: &Tenant, id: OrderId) -> Result<Order, CoreError> {
        self.checkouts
            .order(tenant.id, id)
            .await?
            .map(|(order, _)| order)
            .ok_or(CoreError::OrderNotFound)
    }

    /// Releases expired holds, expires stale checkouts and idle carts. Safe on every node.
    pub async fn sweep(&self) -> Result<SweepReport, CoreError> {
        let report = self.checkouts.sweep(self.clock.now_millis()).await?;
        for (tenant, cart) in &report.carts_touched {
            self.cache.invalidate(*tenant, *cart).await;
            self.pricing.announce(*tenant, *cart, 0);
        }
        self.metrics
            .reservations(ReservationEvent::Expired, report.checkouts_expired);
        self.metrics
            .reservations(ReservationEvent::LineHoldExpired, report.holds_released);
        if report.holds_released + report.checkouts_expired + report.carts_expired > 0 {
            tracing::info!(
                holds_released = report.holds_released,
                checkouts_expired = report.checkouts_expired,
                carts_expired = report.carts_expired,
                "expiry sweep"
            );
        }
        Ok(report)
    }

    /// The shopper must own the order's cart (whatever state it is in now); a cart gone
    /// (and an order kept without its owner) is not found.
    async fn authorize_order(&self, shopper: &Shopper, cart: CartId) -> Result<(), CoreError> {
        let cart = self
            .carts
            .load(shopper.tenant.id, cart)
            .await?
            .ok_or(CoreError::OrderNotFound)?;
        shopper.authorize_owner(&cart.owner, Owned::Order)
    }
}

fn snapshot(
    cart: &Cart,
    priced: &Priced,
    now: chrono::DateTime<chrono::Utc>,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> CheckoutSnapshot {
    let view = &priced.view;
    let lines = view
        .lines
        .iter()
        .map(|l| SnapshotLine {
            line_id: l.line_id,
            sku: l.sku.clone(),
            title: l.title.clone(),
            quantity: l.quantity,
            unit_price: l.unit_price,
            price_revision: priced
                .catalog
                .get(&l.sku)
                .map_or(0, |item| item.price_revision),
            line_total: l.line_total,
            attributes: l.attributes.as_map().clone(),
            seller: l.seller.clone(),
            fulfillment: l.fulfillment.clone(),
        })
        .collect();
    CheckoutSnapshot {
        checkout_id: CheckoutId::new(),
        cart_id: cart.id,
        cart_version: cart.version,
        currency: cart.currency.code().to_owned(),
        lines,
        fees: view
            .fees
            .iter()
            .map(|f| SnapshotFee {
                code: f.code.clone(),
                label: f.label.clone(),
                amount: f.amount,
            })
            .collect(),
        subtotal: view.subtotal,
        total: view.total,
        fulfillment: view.fulfillment.as_ref().map(|f| SnapshotFulfillment {
            allowed_modes: f.allowed_modes.clone(),
            lead_time_minutes: f.lead_time_minutes,
            requirements: f.requirements.clone(),
            max_distance_km: f.max_distance_km,
            notes: f.notes.clone(),
        }),
        plugin: match &view.judgement {
            Judgement::Judged(by) => Some(SnapshotPlugin {
                order_type: by.order_type.clone(),
                plugin_id: by.plugin_id.0,
                version: by.version.clone(),
                sha256: by.sha256.clone(),
            }),
            _ => None,
        },
        reservations: Vec::new(),
        customer_id: cart.owner.customer_id().map(str::to_owned),
        context: cart.context.clone(),
        validated_at: now,
        expires_at,
    }
}
