//! The catalog as a storefront browses it (read-only, with the storefront key): what the
//! first page of a shop needs without an admin key or hard-coded skus.

use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::{CatalogItem, CatalogQuery, ShopItem, Sku, StockClass, StockLevel, Tenant};
use crate::error::CoreError;
use crate::ports::{CatalogRepository, InventoryRepository};

/// A page of items and where the next one starts (`None` on the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct ShopPage {
    pub items: Vec<ShopItem>,
    pub next: Option<Sku>,
}

#[derive(Clone)]
pub struct ShopCatalog {
    catalog: Arc<dyn CatalogRepository>,
    inventory: Arc<dyn InventoryRepository>,
}

impl ShopCatalog {
    /// Items per page when the caller does not say.
    pub const DEFAULT_LIMIT: u64 = 20;
    /// Most items one page may carry.
    pub const MAX_LIMIT: u64 = 100;

    pub fn new(
        catalog: Arc<dyn CatalogRepository>,
        inventory: Arc<dyn InventoryRepository>,
    ) -> Self {
        Self { catalog, inventory }
    }

    /// One page of the items matching `query`, in sku order: two queries (items, then the
    /// stock of those items).
    pub async fn page(
        &self,
        tenant: &Tenant,
        query: &CatalogQuery,
        limit: u64,
    ) -> Result<ShopPage, CoreError> {
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(CoreError::InvalidInput(format!(
                "limit must be between 1 and {}",
                Self::MAX_LIMIT
            )));
        }
        if query
            .search
            .as_ref()
            .is_some_and(|s| s.chars().count() > CatalogQuery::MAX_SEARCH)
        {
            return Err(CoreError::InvalidInput(format!(
                "q must be at most {} characters",
                CatalogQuery::MAX_SEARCH
            )));
        }
        // One more than asked tells whether another page follows.
        let mut items = self.catalog.list(tenant.id, query, limit + 1).await?;
        let more = items.len() as u64 > limit;
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next = if more {
            items.last().map(|i| i.sku.clone())
        } else {
            None
        };
        let skus: Vec<Sku> = items.iter().map(|i| i.sku.clone()).collect();
        let mut stock: HashMap<Sku, StockLevel> = self
            .inventory
            .get_many(tenant.id, &skus)
            .await?
            .into_iter()
            .map(|level| (level.sku.clone(), level))
            .collect();
        let items = items
            .into_iter()
            .map(|item| {
                let level = stock.remove(&item.sku);
                shop_item(tenant, item, level.as_ref())
            })
            .collect();
        Ok(ShopPage { items, next })
    }

    /// One item; a sku the tenant does not sell answers `item_not_found`.
    pub async fn item(&self, tenant: &Tenant, sku: &Sku) -> Result<ShopItem, CoreError> {
        let item = self
            .catalog
            .get(tenant.id, sku)
            .await?
            .ok_or_else(|| CoreError::ItemNotFound(sku.to_string()))?;
        let level = self.inventory.get(tenant.id, sku).await?;
        Ok(shop_item(tenant, item, level.as_ref()))
    }
}

fn shop_item(tenant: &Tenant, item: CatalogItem, level: Option<&StockLevel>) -> ShopItem {
    ShopItem {
        order_type: tenant
            .config
            .category_order_types
            .get(&item.category)
            .cloned(),
        availability: StockClass::of(level, tenant.config.low_stock_threshold),
        item,
    }
}
