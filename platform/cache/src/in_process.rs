//! The embedded default's cart cache: a bounded in-memory map, coherent for one node only
//! (every write on this node updates it).

use async_trait::async_trait;
use quick_cache::sync::Cache;
use std::sync::Arc;
use std::time::{Duration, Instant};

use trolley_core::domain::{Cart, CartId, Judged, TenantId};
use trolley_core::ports::{CacheEvent, CachedCart, CartCache, Metrics, NoMetrics};

/// Bounded, TTL'd in-process cache of durable cart state.
pub struct InProcessCartCache {
    entries: Cache<(TenantId, CartId), (Instant, CachedCart)>,
    ttl: Duration,
    metrics: Arc<dyn Metrics>,
}

impl InProcessCartCache {
    /// `capacity` carts, each kept at most `ttl` so that a write from outside this process
    /// (an operator's SQL, a second node misconfigured without Redis) is bounded in time.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            entries: Cache::new(capacity),
            ttl,
            metrics: Arc::new(NoMetrics),
        }
    }

    /// Reports each lookup's hit or miss to `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<dyn Metrics>) -> Self {
        self.metrics = metrics;
        self
    }
}

impl Default for InProcessCartCache {
    fn default() -> Self {
        Self::new(100_000, Duration::from_secs(60))
    }
}

#[async_trait]
impl CartCache for InProcessCartCache {
    async fn get(&self, tenant: TenantId, id: CartId) -> Option<CachedCart> {
        let cart = match self.entries.get(&(tenant, id)) {
            Some((stored_at, _)) if stored_at.elapsed() > self.ttl => {
                self.entries.remove(&(tenant, id));
                None
            }
            entry => entry.map(|(_, cart)| cart),
        };
        self.metrics.cache(if cart.is_some() {
            CacheEvent::Hit
        } else {
            CacheEvent::Miss
        });
        cart
    }

    async fn put(&self, cart: &Cart, judged: Option<&Judged>) {
        let key = (cart.tenant_id, cart.id);
        let cached = self.entries.get(&key);
        // Never let an older version overwrite a newer one (two requests finishing out of
        // order on this node).
        if let Some((_, cached)) = &cached
            && cached.cart.version > cart.version
        {
            return;
        }
        let judged = judged
            .cloned()
            .or_else(|| cached.and_then(|(_, cached)| cached.judged));
        let entry = CachedCart {
            cart: cart.clone(),
            judged,
        };
        self.entries.insert(key, (Instant::now(), entry));
    }

    async fn invalidate(&self, tenant: TenantId, id: CartId) {
        self.entries.remove(&(tenant, id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trolley_core::domain::{CartOwner, Currency};

    fn cart(version: i64) -> Cart {
        let (mut cart, _) = Cart::new(
            TenantId::new(),
            CartOwner::Customer("c".into()),
            Currency::Usd,
            chrono::Utc::now(),
            chrono::Duration::days(1),
        );
        cart.version = version;
        cart
    }

    #[tokio::test]
    async fn an_older_version_never_replaces_a_newer_one() {
        let cache = InProcessCartCache::default();
        let newer = cart(5);
        let mut older = newer.clone();
        older.version = 4;
        cache.put(&newer, None).await;
        cache.put(&older, None).await;
        let got = cache.get(newer.tenant_id, newer.id).await.unwrap();
        assert_eq!(got.cart.version, 5);
        cache.invalidate(newer.tenant_id, newer.id).await;
        assert!(cache.get(newer.tenant_id, newer.id).await.is_none());
    }

    #[tokio::test]
    async fn a_kept_answer_stays_until_another_replaces_it() {
        let cache = InProcessCartCache::default();
        let c = cart(1);
        let judged = |question: &str| Judged {
            question: question.into(),
            evaluation: Default::default(),
        };
        cache.put(&c, Some(&judged("q1"))).await;
        // A put without an answer (a renewed deadline) keeps the one there.
        cache.put(&c, None).await;
        let got = cache.get(c.tenant_id, c.id).await.unwrap();
        assert_eq!(got.judged, Some(judged("q1")));
        cache.put(&c, Some(&judged("q2"))).await;
        let got = cache.get(c.tenant_id, c.id).await.unwrap();
        assert_eq!(got.judged, Some(judged("q2")));
    }

    #[tokio::test]
    async fn entries_expire_after_their_ttl() {
        let cache = InProcessCartCache::new(10, Duration::ZERO);
        let c = cart(1);
        cache.put(&c, None).await;
        std::thread::sleep(Duration::from_millis(2));
        assert!(cache.get(c.tenant_id, c.id).await.is_none());
    }
}
