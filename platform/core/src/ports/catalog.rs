//! The catalog seam: the items a tenant sells, with their price revisions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{Actor, CatalogItem, CatalogItemInput, CatalogQuery, Sku, TenantId};
use crate::error::StoreError;

#[async_trait]
pub trait CatalogRepository: Send + Sync {
    /// Inserts or updates items in one transaction, incrementing each item's price revision
    /// when its price changes. Returns the stored items in input order.
    /// Each item's change is recorded in the audit log (by `actor`) in that transaction.
    async fn upsert(
        &self,
        tenant: TenantId,
        items: &[CatalogItemInput],
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Vec<CatalogItem>, StoreError>;
    async fn get(&self, tenant: TenantId, sku: &Sku) -> Result<Option<CatalogItem>, StoreError>;
    /// Discontinues an item. Carts that hold it keep their lines, shown as unavailable.
    /// `false` if there was no such item. A deletion is recorded in the audit log.
    async fn delete(
        &self,
        tenant: TenantId,
        sku: &Sku,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<bool, StoreError>;
    /// The items among `skus` that exist.
    async fn get_many(
        &self,
        tenant: TenantId,
        skus: &[Sku],
    ) -> Result<Vec<CatalogItem>, StoreError>;
    /// At most `limit` items matching `query`, in sku order.
    async fn list(
        &self,
        tenant: TenantId,
        query: &CatalogQuery,
        limit: u64,
    ) -> Result<Vec<CatalogItem>, StoreError>;
}
