//! The tenant admin's lists (SPEC §12): keyset pages of what the tenant has, read-only.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::listing::{
    CartFilter, CartHold, CartSummary, CatalogFilter, CheckoutFilter, CheckoutSummary,
    InventoryFilter, Keyset, OrderFilter, OrderSummary, OverviewCounts,
};
use crate::domain::{CartId, CatalogItem, Event, Sku, StockLevel, Subject, TenantId};
use crate::error::StoreError;

/// Every method reads only `tenant`'s rows and answers at most `page.take` of them, after
/// `page.after` in the list's order.
#[async_trait]
pub trait AdminListRepository: Send + Sync {
    /// By sku, ascending.
    async fn catalog_items(
        &self,
        tenant: TenantId,
        filter: &CatalogFilter,
        page: Keyset<Sku>,
    ) -> Result<Vec<CatalogItem>, StoreError>;
    /// By sku, ascending.
    async fn inventory(
        &self,
        tenant: TenantId,
        filter: &InventoryFilter,
        page: Keyset<Sku>,
    ) -> Result<Vec<StockLevel>, StoreError>;
    /// Newest first: by id (UUID v7, so creation order) descending; `after` is the last id
    /// of the previous page.
    async fn carts(
        &self,
        tenant: TenantId,
        filter: &CartFilter,
        page: Keyset<Uuid>,
    ) -> Result<Vec<CartSummary>, StoreError>;
    /// Newest first, by id descending.
    async fn checkouts(
        &self,
        tenant: TenantId,
        filter: &CheckoutFilter,
        page: Keyset<Uuid>,
    ) -> Result<Vec<CheckoutSummary>, StoreError>;
    /// Newest first, by id descending.
    async fn orders(
        &self,
        tenant: TenantId,
        filter: &OrderFilter,
        page: Keyset<Uuid>,
    ) -> Result<Vec<OrderSummary>, StoreError>;
    /// The subject's outbox events still kept, by sequence ascending.
    async fn events(
        &self,
        tenant: TenantId,
        subject: &Subject,
        page: Keyset<i64>,
    ) -> Result<Vec<Event>, StoreError>;
    /// The stock the cart holds (line holds and checkout reservations), by sku.
    async fn cart_holds(&self, tenant: TenantId, cart: CartId)
    -> Result<Vec<CartHold>, StoreError>;
    /// One COUNT each: live carts, pending checkouts, orders placed at or after `since`.
    async fn overview_counts(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<OverviewCounts, StoreError>;
}
