//! The stock seam: levels per sku and the holds of `reserve` lines on them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{Actor, CartId, LineId, Shortage, Sku, StockLevel, TenantId};
use crate::error::StoreError;

// A domain value now (the claim rules compute it); still a port type by this path.
pub use crate::domain::WantedHold;

/// A reserve line's hold, as the cart read shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LineHold {
    pub line_id: LineId,
    pub sku: Sku,
    pub quantity: u32,
    pub expires_at: DateTime<Utc>,
}

/// Stock per tenant and sku, and the holds on it. Every change is atomic in the database
/// (`UPDATE … SET reserved = reserved + q WHERE on_hand - reserved >= q`), never a
/// read-then-write, so it is correct across nodes.
#[async_trait]
pub trait InventoryRepository: Send + Sync {
    /// Sets a sku's on-hand count, creating its record (tracking starts). Refused with
    /// `Err(reserved)` inside `Ok` when `on_hand` is below what is currently held. A set
    /// count is audited (`before` null when the sku was untracked).
    async fn set_on_hand(
        &self,
        tenant: TenantId,
        sku: &Sku,
        on_hand: i64,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Result<StockLevel, i64>, StoreError>;
    async fn get(&self, tenant: TenantId, sku: &Sku) -> Result<Option<StockLevel>, StoreError>;
    /// The tracked skus among `skus`, in one query.
    async fn get_many(&self, tenant: TenantId, skus: &[Sku])
    -> Result<Vec<StockLevel>, StoreError>;

    /// Makes the cart's reserve-line holds exactly `wanted` (lines not listed release theirs),
    /// all expiring at `expires_at`, in one transaction: either every hold fits the available
    /// stock or nothing changes and the shortages are returned. Untracked skus hold nothing.
    async fn sync_line_holds(
        &self,
        tenant: TenantId,
        cart: CartId,
        wanted: &[WantedHold],
        expires_at: DateTime<Utc>,
    ) -> Result<Vec<Shortage>, StoreError>;
    /// The cart's current line holds.
    async fn line_holds(&self, tenant: TenantId, cart: CartId)
    -> Result<Vec<LineHold>, StoreError>;
    /// Units the cart's pending checkout reserves, per sku (empty when it has none).
    async fn checkout_holds(
        &self,
        tenant: TenantId,
        cart: CartId,
    ) -> Result<Vec<(Sku, u32)>, StoreError>;
}
