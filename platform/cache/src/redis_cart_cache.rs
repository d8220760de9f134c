//! Cache-aside in Redis for the durable part of carts, shared by every node.
//!
//! Each entry is a hash `{gen, ver, body, judged}` under `prefix:cart:{tenant}:{cart}`,
//! `judged` being the order type's last answer about the cart (used only for the very
//! question it answers, `trolley_core::domain::judged`), so a read on any node asks no
//! plugin while nothing it depends on changed:
//! - **Versions only move forward.** A write stores its new version before it is
//!   acknowledged; a reader that loaded an older row from the database concurrently can
//!   never put it back over the newer one (the put script compares versions).
//! - **Generations forgive missed writes.** A node that could not update Redis for a write
//!   (Redis away, breaker open) marks itself dirty; its first successful call afterwards
//!   bumps the generation key, which every entry written under an older generation misses.
//!   So a Redis that comes back never serves a version some node wrote around it.
//! - **Short TTL** bounds what no rule above can see (an operator editing rows by hand).
//!
//! Every failure is a miss: callers read the database.

use async_trait::async_trait;
use redis::Script;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use trolley_core::domain::{Cart, CartId, Judged, TenantId};
use trolley_core::ports::{CacheEvent, CachedCart, CartCache, Metrics};

use crate::link::{RedisLink, Unavailable};

/// Returns `{body, judged}` if the entry was written under the current generation.
const GET: &str = r"
local gen = redis.call('GET', KEYS[1]) or '0'
local entry = redis.call('HMGET', KEYS[2], 'gen', 'body', 'judged')
if entry[1] == gen and entry[2] then return {entry[2], entry[3] or ''} end
return false
";

/// Stores `ARGV[2]` at version `ARGV[1]` unless a newer version of this generation is
/// there; `ARGV[3]` is the TTL in ms; a non-empty `ARGV[4]` replaces the kept answer (an
/// empty one leaves it, unless the entry was of an older generation). Returns 1 when
/// stored.
const PUT: &str = r"
local gen = redis.call('GET', KEYS[1]) or '0'
local entry = redis.call('HMGET', KEYS[2], 'gen', 'ver')
if entry[1] == gen and entry[2] and tonumber(entry[2]) > tonumber(ARGV[1]) then return 0 end
if entry[1] ~= gen then redis.call('HDEL', KEYS[2], 'judged') end
redis.call('HSET', KEYS[2], 'gen', gen, 'ver', ARGV[1], 'body', ARGV[2])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], 'judged', ARGV[4]) end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
";

pub struct RedisCartCache {
    link: Arc<RedisLink>,
    ttl: Duration,
    metrics: Arc<dyn Metrics>,
    generation_key: String,
    get: Script,
    put: Script,
    /// Writes that could not reach Redis, and how many of them a generation bump covers:
    /// while `missed > healed`, the generation must be bumped before Redis is trusted.
    missed: Arc<Missed>,
}

#[derive(Default)]
struct Missed {
    missed: AtomicU64,
    healed: AtomicU64,
    healer_running: AtomicBool,
}

impl RedisCartCache {
    pub fn new(link: Arc<RedisLink>, ttl: Duration, metrics: Arc<dyn Metrics>) -> Self {
        Self {
            generation_key: link.key("cart-gen"),
            link,
            ttl,
            metrics,
            get: Script::new(GET),
            put: Script::new(PUT),
            missed: Arc::default(),
        }
    }

    fn key(&self, tenant: TenantId, id: CartId) -> String {
        self.link.key(&format!("cart:{tenant}:{id}"))
    }

    /// Bumps the generation if a write was missed; until that succeeds the cache is not
    /// used at all by this node.
    async fn heal(&self) -> Result<(), Unavailable> {
        heal(&self.link, &self.generation_key, &self.missed).await
    }

    /// [`RedisLink::call`] once any missed write is healed: no entry is read or written
    /// while an older generation might still be served.
    async fn call_healed<T, F, Fut>(&self, op: F) -> Result<T, Unavailable>
    where
        F: FnOnce(redis::aio::MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = Result<T, redis::RedisError>>,
    {
        self.heal().await?;
        self.link.call(op).await
    }

    /// A write this node could not record: remember to invalidate everything later.
    ///
    /// Other nodes may read the entry this write should have replaced, so the generation
    /// is bumped as soon as Redis answers this node again, by a task that keeps trying,
    /// rather than whenever this node next happens to use the cache.
    fn missed_write(&self, error: &Unavailable) {
        self.metrics.cache(CacheEvent::Fallback);
        tracing::debug!(%error, "cart cache write skipped");
        self.missed.missed.fetch_add(1, Ordering::AcqRel);
        if self.missed.healer_running.swap(true, Ordering::AcqRel) {
            return;
        }
        let (link, key, missed) = (
            self.link.clone(),
            self.generation_key.clone(),
            self.missed.clone(),
        );
        tokio::spawn(async move {
            loop {
                if heal(&link, &key, &missed).await.is_ok() {
                    missed.healer_running.store(false, Ordering::Release);
                    // A write missed after the bump but before the flag fell needs its own.
                    if missed.is_dirty() && !missed.healer_running.swap(true, Ordering::AcqRel) {
                        continue;
                    }
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
}

impl Missed {
    fn is_dirty(&self) -> bool {
        self.missed.load(Ordering::Acquire) > self.healed.load(Ordering::Acquire)
    }
}

/// See [`RedisCartCache::heal`].
async fn heal(link: &RedisLink, generation_key: &str, missed: &Missed) -> Result<(), Unavailable> {
    if !missed.is_dirty() {
        return Ok(());
    }
    let covered = missed.missed.load(Ordering::Acquire);
    let key = generation_key.to_owned();
    link.call(|mut conn| async move {
        redis::cmd("INCR")
            .arg(&key)
            .query_async::<i64>(&mut conn)
            .await
    })
    .await?;
    missed.healed.fetch_max(covered, Ordering::AcqRel);
    tracing::info!("cart cache generation bumped after missed writes");
    Ok(())
}

#[async_trait]
impl CartCache for RedisCartCache {
    #[tracing::instrument(name = "cache.get", skip_all)]
    async fn get(&self, tenant: TenantId, id: CartId) -> Option<CachedCart> {
        let mut invocation = self.get.prepare_invoke();
        invocation
            .key(&self.generation_key)
            .key(self.key(tenant, id));
        let found = self
            .call_healed(|mut conn| async move {
                invocation
                    .invoke_async::<Option<(Vec<u8>, Vec<u8>)>>(&mut conn)
                    .await
            })
            .await;
        match found {
            Ok(Some((body, judged))) => match serde_json::from_slice::<Cart>(&body) {
                Ok(cart) if cart.tenant_id == tenant && cart.id == id => {
                    self.metrics.cache(CacheEvent::Hit);
                    // An unreadable answer (another release's shape) is only asked again.
                    let judged = serde_json::from_slice::<Judged>(&judged).ok();
                    Some(CachedCart { cart, judged })
                }
                _ => {
                    tracing::warn!(%tenant, cart_id = %id, "unreadable cart cache entry; ignored");
                    self.metrics.cache(CacheEvent::Miss);
                    None
                }
            },
            Ok(None) => {
                self.metrics.cache(CacheEvent::Miss);
                None
            }
            Err(_) => {
                self.metrics.cache(CacheEvent::Fallback);
                None
            }
        }
    }

    #[tracing::instrument(name = "cache.put", skip_all)]
    async fn put(&self, cart: &Cart, judged: Option<&Judged>) {
        let body = match serde_json::to_vec(cart) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(error = %e, "cart does not serialize; not cached");
                return;
            }
        };
        let judged = judged
            .and_then(|judged| serde_json::to_vec(judged).ok())
            .unwrap_or_default();
        let ttl_ms = self.ttl.as_millis() as u64;
        let mut invocation = self.put.prepare_invoke();
        invocation
            .key(&self.generation_key)
            .key(self.key(cart.tenant_id, cart.id))
            .arg(cart.version)
            .arg(body)
            .arg(ttl_ms.max(1))
            .arg(judged);
        let result = self
            .call_healed(|mut conn| async move {
                invocation.invoke_async::<i64>(&mut conn).await.map(drop)
            })
            .await;
        if let Err(e) = result {
            self.missed_write(&e);
        }
    }

    #[tracing::instrument(name = "cache.invalidate", skip_all)]
    async fn invalidate(&self, tenant: TenantId, id: CartId) {
        let key = self.key(tenant, id);
        let result = self
            .call_healed(|mut conn| async move {
                redis::cmd("DEL")
                    .arg(&key)
                    .query_async::<i64>(&mut conn)
                    .await
                    .map(drop)
            })
            .await;
        if let Err(e) = result {
            self.missed_write(&e);
        }
    }
}
