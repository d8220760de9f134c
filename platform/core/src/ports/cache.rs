//! The cart cache seam: a copy of carts in front of the repository, with the order type's
//! last answer beside each.

use async_trait::async_trait;

use crate::domain::{Cart, CartId, Judged, TenantId};

/// A cached cart, and the order type's last answer about it.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedCart {
    pub cart: Cart,
    /// Used only for the very question it answers ([`Judged::answer`]).
    pub judged: Option<Judged>,
}

/// Cache-aside storage for the durable part of carts, with the order type's last answer
/// beside each. A miss or an error is never fatal: callers fall back to the repository.
#[async_trait]
pub trait CartCache: Send + Sync {
    async fn get(&self, tenant: TenantId, id: CartId) -> Option<CachedCart>;
    /// Stores `cart` unless a newer version of it is cached. With `judged`, that answer is
    /// kept beside it; without, whatever answer is kept stays (an answer is only ever used
    /// for its own question, so an old one is never wrong, only useless).
    async fn put(&self, cart: &Cart, judged: Option<&Judged>);
    async fn invalidate(&self, tenant: TenantId, id: CartId);
}
