//! Tenant admins maintain the catalog: the only source of prices.

use std::sync::Arc;

use crate::domain::{Actor, CatalogItem, CatalogItemInput, Sku, Tenant};
use crate::error::CoreError;
use crate::ports::{CatalogRepository, Clock};
use crate::service::recent::RecentInputs;

/// Most items one batch may carry.
pub const MAX_BATCH: usize = 1000;

#[derive(Clone)]
pub struct CatalogService {
    catalog: Arc<dyn CatalogRepository>,
    clock: Arc<dyn Clock>,
    recent: Arc<RecentInputs>,
}

impl CatalogService {
    pub fn new(
        catalog: Arc<dyn CatalogRepository>,
        clock: Arc<dyn Clock>,
        recent: Arc<RecentInputs>,
    ) -> Self {
        Self {
            catalog,
            clock,
            recent,
        }
    }

    /// Upserts items in one transaction: all are written or none.
    #[tracing::instrument(skip(self, items), fields(tenant_id = %tenant.id, count = items.len()))]
    pub async fn upsert(
        &self,
        tenant: &Tenant,
        items: Vec<CatalogItemInput>,
        actor: &Actor,
    ) -> Result<Vec<CatalogItem>, CoreError> {
        if items.is_empty() || items.len() > MAX_BATCH {
            return Err(CoreError::InvalidInput(format!(
                "a batch holds 1-{MAX_BATCH} items"
            )));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = items.iter().find(|i| !seen.insert(&i.sku)) {
            return Err(CoreError::InvalidInput(format!(
                "sku `{}` appears twice in the batch",
                dup.sku
            )));
        }
        if let Some(bad) = items.iter().find(|i| i.price.currency() != tenant.currency) {
            return Err(CoreError::InvalidPrice(format!(
                "sku `{}` is priced in {}, the tenant sells in {}",
                bad.sku,
                bad.price.currency(),
                tenant.currency
            )));
        }
        let written = self
            .catalog
            .upsert(tenant.id, &items, self.clock.now_millis(), actor)
            .await;
        self.recent
            .forget_catalog(tenant.id, items.iter().map(|i| &i.sku));
        Ok(written?)
    }

    /// Discontinues an item: it can no longer be added; carts holding it show it as
    /// unavailable, and merges drop it (`dropped_unavailable`).
    #[tracing::instrument(skip(self, tenant), fields(tenant_id = %tenant.id))]
    pub async fn delete(&self, tenant: &Tenant, sku: &Sku, actor: &Actor) -> Result<(), CoreError> {
        let deleted = self
            .catalog
            .delete(tenant.id, sku, self.clock.now_millis(), actor)
            .await;
        self.recent.forget_catalog(tenant.id, [sku]);
        if deleted? {
            Ok(())
        } else {
            Err(CoreError::ItemNotFound(sku.to_string()))
        }
    }

    pub async fn get(&self, tenant: &Tenant, sku: &Sku) -> Result<CatalogItem, CoreError> {
        self.catalog
            .get(tenant.id, sku)
            .await?
            .ok_or_else(|| CoreError::ItemNotFound(sku.to_string()))
    }
}
