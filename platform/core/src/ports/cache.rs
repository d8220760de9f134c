//! The cart cache seam: a copy of carts in front of the repository.

use async_trait::async_trait;

use crate::domain::{Cart, CartId, TenantId};

/// Cache-aside storage for the durable part of carts. A miss or an error is never fatal:
/// callers fall back to the repository.
#[async_trait]
pub trait CartCache: Send + Sync {
    async fn get(&self, tenant: TenantId, id: CartId) -> Option<Cart>;
    async fn put(&self, cart: &Cart);
    async fn invalidate(&self, tenant: TenantId, id: CartId);
}
