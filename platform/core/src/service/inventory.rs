//! Tenant admins count stock. Setting a sku's on-hand starts tracking it; until then it is
//! untracked: always available, never held (SPEC §1).

use std::sync::Arc;

use crate::domain::inventory::MAX_ON_HAND;
use crate::domain::{Actor, Sku, StockLevel, Tenant};
use crate::error::CoreError;
use crate::ports::{Clock, InventoryRepository};
use crate::service::recent::RecentInputs;

#[derive(Clone)]
pub struct InventoryService {
    inventory: Arc<dyn InventoryRepository>,
    clock: Arc<dyn Clock>,
    recent: Arc<RecentInputs>,
}

impl InventoryService {
    pub fn new(
        inventory: Arc<dyn InventoryRepository>,
        clock: Arc<dyn Clock>,
        recent: Arc<RecentInputs>,
    ) -> Self {
        Self {
            inventory,
            clock,
            recent,
        }
    }

    #[tracing::instrument(skip(self, tenant), fields(tenant_id = %tenant.id))]
    pub async fn set_on_hand(
        &self,
        tenant: &Tenant,
        sku: &Sku,
        on_hand: i64,
        actor: &Actor,
    ) -> Result<StockLevel, CoreError> {
        if !(0..=MAX_ON_HAND).contains(&on_hand) {
            return Err(CoreError::InvalidInput(format!(
                "on_hand must be between 0 and {MAX_ON_HAND}"
            )));
        }
        let set = self
            .inventory
            .set_on_hand(tenant.id, sku, on_hand, self.clock.now_millis(), actor)
            .await;
        self.recent.forget_stock(tenant.id, [sku]);
        set?.map_err(|reserved| CoreError::OnHandBelowReserved { reserved })
    }

    pub async fn get(&self, tenant: &Tenant, sku: &Sku) -> Result<StockLevel, CoreError> {
        self.inventory
            .get(tenant.id, sku)
            .await?
            .ok_or_else(|| CoreError::NotTracked(sku.to_string()))
    }
}
