//! The cart seam: durable, versioned carts and the merges that absorbed some of them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    Cart, CartId, CatalogItem, NewEvent, Seal, Shortage, Sku, StockLevel, TenantId, WantedHold,
};
use crate::error::StoreError;
use crate::ports::LineHold;

#[async_trait]
pub trait CartRepository: Send + Sync {
    /// Inserts a new cart (with `seal`'s idempotency record, in the same transaction). A
    /// customer who already has a live cart gets [`StoreError::UniqueViolation`]; a sealed
    /// key already bound gets [`StoreError::IdempotencyKeyTaken`].
    /// `events` go to the outbox in the same transaction.
    async fn insert_emitting(
        &self,
        cart: &Cart,
        seal: Option<Seal<'_>>,
        events: &[NewEvent],
    ) -> Result<(), StoreError>;
    /// [`Self::insert_emitting`] raising no event (fixtures and tests only: every change a
    /// user makes raises its events).
    async fn insert(&self, cart: &Cart, seal: Option<Seal<'_>>) -> Result<(), StoreError> {
        self.insert_emitting(cart, seal, &[]).await
    }
    async fn load(&self, tenant: TenantId, id: CartId) -> Result<Option<Cart>, StoreError>;
    /// What a write reads before it decides: the cart (as [`Self::load`]) with the catalog
    /// items and stock levels of its lines' skus and of `also` (the skus the write may
    /// add), from one snapshot. On PostgreSQL it is one statement: a write's reads were
    /// three round trips (cart, catalog, stock) before its save (issue 14), and from one
    /// snapshot a cart is never priced with rows older or newer than it. `None` when the
    /// tenant has no such cart.
    async fn load_with_rows(
        &self,
        tenant: TenantId,
        id: CartId,
        also: &[Sku],
    ) -> Result<Option<CartWithRows>, StoreError>;
    /// Up to `limit` of the tenant's active carts of `order_type` that have lines, most
    /// recently changed first: what a plugin trial evaluates when no cart is named.
    async fn recent_of_order_type(
        &self,
        tenant: TenantId,
        order_type: &str,
        limit: u32,
    ) -> Result<Vec<Cart>, StoreError>;
    /// The customer's live (active or checking out) cart.
    async fn find_live_for_customer(
        &self,
        tenant: TenantId,
        customer_id: &str,
    ) -> Result<Option<Cart>, StoreError>;
    /// Writes `cart` (and `seal`'s idempotency record, in the same transaction) if the
    /// stored version is still `stored.version`, else [`StoreError::VersionConflict`]
    /// and nothing is written. `stored` is the cart as it was read: its lines are what the
    /// database holds at that version, so only the difference is written, without reading
    /// the lines again.
    /// `events` go to the outbox in the same transaction.
    async fn save_emitting(
        &self,
        cart: &Cart,
        stored: &Cart,
        seal: Option<Seal<'_>>,
        events: &[NewEvent],
    ) -> Result<(), StoreError>;
    /// [`Self::save_emitting`] of a change whose `reserve` lines hold stock: in the same
    /// transaction the cart's line holds become what `holds` asks, expiring at
    /// `hold_until` (the rules of [`InventoryRepository::sync_line_holds`]; a cart saved as
    /// anything but `active` releases its holds and takes none). All or nothing: a lost
    /// race is [`StoreError::VersionConflict`], and when a sku is short the shortages come
    /// back and nothing is written (no cart, no hold, no event, no idempotency record).
    ///
    /// [`InventoryRepository::sync_line_holds`]: crate::ports::InventoryRepository::sync_line_holds
    async fn save_holding(
        &self,
        cart: &Cart,
        stored: &Cart,
        seal: Option<Seal<'_>>,
        events: &[NewEvent],
        holds: &[WantedHold],
        hold_until: DateTime<Utc>,
    ) -> Result<Vec<Shortage>, StoreError>;
    /// [`Self::save_emitting`] raising no event (tests only).
    async fn save(
        &self,
        cart: &Cart,
        stored: &Cart,
        seal: Option<Seal<'_>>,
    ) -> Result<(), StoreError> {
        self.save_emitting(cart, stored, seal, &[]).await
    }

    /// Writes a merge in one transaction: the target and the (now merged) source, each only
    /// if still at the version it was read at (`*_stored`), and the merge record. Either version moved →
    /// [`StoreError::VersionConflict`] and nothing is written.
    /// `events` go to the outbox in the same transaction.
    async fn save_merge_emitting(
        &self,
        target: &Cart,
        target_stored: &Cart,
        source: &Cart,
        source_stored: &Cart,
        record: &MergeRecord,
        events: &[NewEvent],
    ) -> Result<(), StoreError>;
    /// [`Self::save_merge_emitting`] raising no event (tests only).
    async fn save_merge(
        &self,
        target: &Cart,
        target_stored: &Cart,
        source: &Cart,
        source_stored: &Cart,
        record: &MergeRecord,
    ) -> Result<(), StoreError> {
        self.save_merge_emitting(target, target_stored, source, source_stored, record, &[])
            .await
    }

    /// The merge that absorbed `source`, if any.
    async fn merge_record(
        &self,
        tenant: TenantId,
        source: CartId,
    ) -> Result<Option<MergeRecord>, StoreError>;

    /// How many carts are `active`, across every tenant (for the active-carts gauge).
    async fn count_active(&self) -> Result<u64, StoreError>;

    /// A read's renewal of an active cart's idle deadline: one conditional UPDATE of
    /// `expires_at` only (`… WHERE status = 'active' AND expires_at < due_before AND
    /// expires_at > now`); the version, `updated_at` and the lines are untouched, so ETags
    /// and caches stay valid. `false` when it was not due any more (renewed or changed by
    /// someone else).
    async fn renew_expiry(
        &self,
        tenant: TenantId,
        id: CartId,
        renewal: &crate::domain::lifecycle::Renewal,
    ) -> Result<bool, StoreError>;
}

/// A cart as a write reads it, with the rows of its skus ([`CartRepository::load_with_rows`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CartWithRows {
    pub cart: Cart,
    /// The catalog items of the cart's line skus and the skus asked for, each sku at most
    /// once: a sku not in the catalog has none.
    pub items: Vec<CatalogItem>,
    /// Their stock levels, likewise: an untracked sku has none.
    pub levels: Vec<StockLevel>,
    /// What the cart's `reserve` lines hold now ([`InventoryRepository::line_holds`]).
    ///
    /// [`InventoryRepository::line_holds`]: crate::ports::InventoryRepository::line_holds
    pub line_holds: Vec<LineHold>,
    /// Units its pending checkout holds, per sku ([`InventoryRepository::checkout_holds`]).
    ///
    /// [`InventoryRepository::checkout_holds`]: crate::ports::InventoryRepository::checkout_holds
    pub checkout_holds: Vec<(Sku, u32)>,
}

/// A merge as remembered, so merging the same source again answers the first result.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeRecord {
    pub tenant_id: TenantId,
    pub source_cart_id: CartId,
    pub target_cart_id: CartId,
    pub policy: crate::domain::MergePolicy,
    pub outcomes: Vec<crate::domain::merge::LineOutcome>,
    pub created_at: DateTime<Utc>,
}
