//! The checkout seam: snapshots, their reservations, orders, and the expiry sweep.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    Cart, CartId, CartOwner, Checkout, CheckoutId, CheckoutSnapshot, LineId, Order, OrderId, Seal,
    Shortage, Sku, TenantId,
};
use crate::error::StoreError;

/// The outcome of starting a checkout.
// Made once per checkout and matched at once: boxing the snapshot would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum BeginCheckout {
    /// The snapshot as stored, its `reservations` filled with what was actually held
    /// (untracked skus hold nothing).
    Started(CheckoutSnapshot),
    /// Nothing was held and nothing changed.
    Shortages(Vec<Shortage>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum CompleteCheckout {
    /// This call made the order.
    Completed(Order),
    /// An earlier call made it; here it is again.
    AlreadyCompleted(Order),
    /// The snapshot expired (its holds are released now if they were not already).
    Expired,
    Cancelled,
    NotFound,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CancelCheckout {
    /// Holds released, cart unfrozen (at this version).
    Cancelled {
        cart_version: i64,
    },
    AlreadyCancelled,
    Completed,
    Expired,
    NotFound,
}

/// What one sweep did: expiry (by the [`CheckoutRepository`]) and retention (by the
/// sweep use case).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepReport {
    /// Reserve-line holds past their expiry, released.
    pub holds_released: u64,
    /// Pending checkouts past their expiry: holds released, carts unfrozen.
    pub checkouts_expired: u64,
    /// Idle carts past their TTL: expired, holds released.
    pub carts_expired: u64,
    /// Ended carts past their tenant's retention, deleted with their lines.
    pub carts_deleted: u64,
    /// Ended checkouts past their tenant's retention, deleted (orders stay).
    pub checkouts_deleted: u64,
    /// Idempotency records past their 24 h, deleted.
    pub idempotency_records_purged: u64,
    /// Every cart whose stored state changed (for cache invalidation).
    pub carts_touched: Vec<(TenantId, CartId)>,
}

/// Checkout snapshots, their reservations, and orders.
#[async_trait]
pub trait CheckoutRepository: Send + Sync {
    /// One transaction: `cart` (status `checking_out`, next version) written if `stored` (the
    /// cart as read) is still the stored version; the cart's line holds released; every tracked sku in `wanted`
    /// (sku, quantity, the lines asking) reserved until `snapshot.expires_at`, all or nothing;
    /// the snapshot stored `pending`; `seal`'s idempotency record written beside them. A
    /// moved version → `VersionConflict`.
    async fn begin(
        &self,
        tenant: TenantId,
        cart: &Cart,
        stored: &Cart,
        snapshot: &CheckoutSnapshot,
        wanted: &[(Sku, u32, Vec<LineId>)],
        seal: Option<Seal<'_>>,
    ) -> Result<BeginCheckout, StoreError>;
    async fn get(&self, tenant: TenantId, id: CheckoutId) -> Result<Option<Checkout>, StoreError>;
    /// [`Self::get`] with the owner of the checkout's cart (`None` once the cart is gone),
    /// in one read: what authorizing a shopper's checkout needs.
    async fn get_with_owner(
        &self,
        tenant: TenantId,
        id: CheckoutId,
    ) -> Result<Option<(Checkout, Option<CartOwner>)>, StoreError>;
    /// Exactly once, in one transaction: a pending, unexpired checkout becomes `completed`,
    /// its reservations become stock decrements (`on_hand -= q, reserved -= q`), `order` is
    /// stored and the cart becomes `converted`. A pending checkout past its expiry is
    /// expired instead (holds released, cart unfrozen).
    async fn complete(
        &self,
        tenant: TenantId,
        id: CheckoutId,
        order: &Order,
        now: DateTime<Utc>,
    ) -> Result<CompleteCheckout, StoreError>;
    /// Releases the holds and unfreezes the cart (back to `active`, version + 1).
    async fn cancel(
        &self,
        tenant: TenantId,
        id: CheckoutId,
        now: DateTime<Utc>,
    ) -> Result<CancelCheckout, StoreError>;
    /// The order, and who may read it: the owner of its cart when it was placed, kept
    /// with the order so it outlives the cart (`None` only for an order whose owner was
    /// never recorded: its cart is then the proof).
    async fn order(
        &self,
        tenant: TenantId,
        id: OrderId,
    ) -> Result<Option<(Order, Option<CartOwner>)>, StoreError>;
    /// Releases expired line holds, expires pending checkouts past their expiry (holds
    /// released, carts back to `active`), and expires idle `active` carts past their
    /// `expires_at` (holds released). Every step is a conditional update, so sweeps on
    /// several nodes at once never release anything twice.
    async fn sweep(&self, now: DateTime<Utc>) -> Result<SweepReport, StoreError>;
}
