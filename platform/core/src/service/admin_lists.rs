//! The tenant admin's lists and the console's overview (SPEC §12), for the HTTP API and
//! the in-process console alike: both get the same limits, cursors and filter rules.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::assemble::Inputs;
use super::carts::CartService;
use crate::domain::listing::{
    CartDetail, CartFilter, CartSummary, CatalogFilter, CheckoutFilter, CheckoutSummary,
    EventFilter, InventoryFilter, ListKind, MAX_FILTER_LEN, OrderFilter, OrderSummary,
    OverviewCounts, Page, PageRequest,
};
use crate::domain::{CartId, CatalogItem, Event, Sku, StockLevel, Tenant};
use crate::error::CoreError;
use crate::ports::AdminListRepository;

/// The only status an order has.
const ORDER_STATUS_PLACED: &str = "placed";

#[derive(Clone)]
pub struct AdminLists {
    lists: Arc<dyn AdminListRepository>,
    /// The storefront's read path, so a cart's detail is assembled exactly as the shopper
    /// sees it.
    carts: CartService,
}

impl AdminLists {
    pub fn new(lists: Arc<dyn AdminListRepository>, carts: CartService) -> Self {
        Self { lists, carts }
    }

    /// The catalog by sku.
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant.id))]
    pub async fn catalog_items(
        &self,
        tenant: &Tenant,
        filter: CatalogFilter,
        page: &PageRequest,
    ) -> Result<Page<CatalogItem>, CoreError> {
        let filter = CatalogFilter {
            q: text("q", filter.q)?,
            category: text("category", filter.category)?,
            seller: text("seller", filter.seller)?,
        };
        let (limit, keyset) = page.keyset::<Sku>(ListKind::CatalogItems)?;
        let rows = self.lists.catalog_items(tenant.id, &filter, keyset).await?;
        Ok(Page::of(ListKind::CatalogItems, rows, limit, |i| {
            i.sku.clone()
        }))
    }

    /// Tracked stock by sku.
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant.id))]
    pub async fn inventory(
        &self,
        tenant: &Tenant,
        filter: InventoryFilter,
        page: &PageRequest,
    ) -> Result<Page<StockLevel>, CoreError> {
        let filter = InventoryFilter {
            q: text("q", filter.q)?,
            available_below: filter.available_below,
        };
        let (limit, keyset) = page.keyset::<Sku>(ListKind::Inventory)?;
        let rows = self.lists.inventory(tenant.id, &filter, keyset).await?;
        Ok(Page::of(ListKind::Inventory, rows, limit, |l| {
            l.sku.clone()
        }))
    }

    /// Carts, newest first (by id: UUID v7, creation order).
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant.id))]
    pub async fn carts(
        &self,
        tenant: &Tenant,
        filter: CartFilter,
        page: &PageRequest,
    ) -> Result<Page<CartSummary>, CoreError> {
        let filter = CartFilter {
            customer_id: text("customer_id", filter.customer_id)?,
            order_type: text("order_type", filter.order_type)?,
            ..filter
        };
        let (limit, keyset) = page.keyset::<Uuid>(ListKind::Carts)?;
        let rows = self.lists.carts(tenant.id, &filter, keyset).await?;
        Ok(Page::of(ListKind::Carts, rows, limit, |c| c.cart_id.0))
    }

    /// Checkouts, newest first.
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant.id))]
    pub async fn checkouts(
        &self,
        tenant: &Tenant,
        filter: CheckoutFilter,
        page: &PageRequest,
    ) -> Result<Page<CheckoutSummary>, CoreError> {
        let (limit, keyset) = page.keyset::<Uuid>(ListKind::Checkouts)?;
        let rows = self.lists.checkouts(tenant.id, &filter, keyset).await?;
        Ok(Page::of(ListKind::Checkouts, rows, limit, |c| {
            c.checkout_id.0
        }))
    }

    /// Orders, newest first.
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant.id))]
    pub async fn orders(
        &self,
        tenant: &Tenant,
        filter: OrderFilter,
        page: &PageRequest,
    ) -> Result<Page<OrderSummary>, CoreError> {
        let status = text("status", filter.status)?;
        if let Some(status) = status.as_deref()
            && status != ORDER_STATUS_PLACED
        {
            return Err(CoreError::InvalidFilter(format!(
                "status `{status}` is not an order status: orders are `{ORDER_STATUS_PLACED}`"
            )));
        }
        let filter = OrderFilter {
            status,
            customer_id: text("customer_id", filter.customer_id)?,
            placed_since: filter.placed_since,
        };
        let (limit, keyset) = page.keyset::<Uuid>(ListKind::Orders)?;
        let rows = self.lists.orders(tenant.id, &filter, keyset).await?;
        Ok(Page::of(ListKind::Orders, rows, limit, |o| o.order_id.0))
    }

    /// One subject's events still in the outbox, in sequence order.
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant.id))]
    pub async fn events(
        &self,
        tenant: &Tenant,
        filter: &EventFilter,
        page: &PageRequest,
    ) -> Result<Page<Event>, CoreError> {
        if filter.subject.id.is_empty() || filter.subject.id.chars().count() > MAX_FILTER_LEN {
            return Err(CoreError::InvalidFilter(format!(
                "subject_id must be 1-{MAX_FILTER_LEN} characters"
            )));
        }
        let (limit, keyset) = page.keyset::<i64>(ListKind::Events)?;
        let rows = self
            .lists
            .events(tenant.id, &filter.subject, keyset)
            .await?;
        Ok(Page::of(ListKind::Events, rows, limit, |e| e.sequence))
    }

    /// What support needs about one cart: the view the shopper gets, plus its lifecycle
    /// and held stock. Reading it neither renews the cart's expiry (an admin looking is not
    /// a shopper coming back) nor needs the cart's token.
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant.id, cart_id = %id))]
    pub async fn cart_detail(&self, tenant: &Tenant, id: CartId) -> Result<CartDetail, CoreError> {
        let (cart, judged) = match self.carts.cache.get(tenant.id, id).await {
            Some(cached) => (cached.cart, cached.judged),
            None => (
                self.carts
                    .carts
                    .load(tenant.id, id)
                    .await?
                    .ok_or(CoreError::CartNotFound)?,
                None,
            ),
        };
        // The cache is keyed by tenant already; this guards a foreign cart all the same.
        if cart.tenant_id != tenant.id {
            return Err(CoreError::CartNotFound);
        }
        let priced = self
            .carts
            .price_with(tenant, &cart, Inputs::Recent, judged.as_ref())
            .await?;
        let holds = self.lists.cart_holds(tenant.id, id).await?;
        Ok(CartDetail {
            view: priced.view,
            created_at: cart.created_at,
            updated_at: cart.updated_at,
            merged_into: cart.merged_into,
            holds,
        })
    }

    /// The console's front page: one COUNT each.
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant.id))]
    pub async fn overview_counts(
        &self,
        tenant: &Tenant,
        since: DateTime<Utc>,
    ) -> Result<OverviewCounts, CoreError> {
        Ok(self.lists.overview_counts(tenant.id, since).await?)
    }
}

/// A text filter, trimmed; empty is no filter.
fn text(name: &str, value: Option<String>) -> Result<Option<String>, CoreError> {
    let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > MAX_FILTER_LEN {
        return Err(CoreError::InvalidFilter(format!(
            "{name} must be at most {MAX_FILTER_LEN} characters"
        )));
    }
    Ok(Some(value))
}
