//! The Redis adapters against a real Redis (`TROLLEY_TEST_REDIS_URL`, default the local
//! one), each test under a key prefix of its own. They fail when Redis is missing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use trolley_cache::{RedisCartCache, RedisLink, RedisRateLimiter, RedisSettings};
use trolley_core::domain::{Cart, CartOwner, Currency, Evaluation, Judged, RateLimit, TenantId};
use trolley_core::ports::{CachedCart, CartCache, NoMetrics, RateLimiter};

fn url() -> String {
    std::env::var("TROLLEY_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// One test pauses the whole Redis server; the others wait for it (and it for them).
static SERVER: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

fn link(prefix: &str) -> Arc<RedisLink> {
    let mut settings = RedisSettings::new(url(), prefix);
    settings.cool_down = Duration::from_millis(100);
    // Generous for a loaded CI machine; the outage test pauses Redis far longer.
    settings.timeout = Duration::from_millis(150);
    Arc::new(RedisLink::new(settings).unwrap())
}

async fn require_redis(link: &RedisLink) {
    link.ping()
        .await
        .unwrap_or_else(|e| panic!("these tests need Redis at {}: {e}", url()));
}

fn cache(link: Arc<RedisLink>) -> RedisCartCache {
    RedisCartCache::new(link, Duration::from_secs(30), Arc::new(NoMetrics))
}

fn cart(version: i64) -> Cart {
    let (mut cart, _) = Cart::new(
        TenantId::new(),
        CartOwner::Guest {
            token_hash: "h".into(),
        },
        Currency::Usd,
        chrono::Utc::now(),
        chrono::Duration::days(1),
    );
    cart.version = version;
    cart
}

fn prefix() -> String {
    format!("trolley-test-{}", TenantId::new())
}

#[tokio::test]
async fn a_cart_round_trips_and_versions_only_move_forward() {
    let _shared = SERVER.read().await;
    let link = link(&prefix());
    require_redis(&link).await;
    let cache = cache(link);
    let newer = cart(5);
    let mut older = newer.clone();
    older.version = 4;
    cache.put(&newer, None).await;
    cache.put(&older, None).await;
    assert_eq!(
        cache.get(newer.tenant_id, newer.id).await.map(|c| c.cart),
        Some(newer.clone())
    );
    // The order type's answer is kept beside it, and stays through a put without one.
    let judged = Judged {
        question: "q1".into(),
        evaluation: Evaluation::default(),
    };
    cache.put(&newer, Some(&judged)).await;
    cache.put(&newer, None).await;
    assert_eq!(
        cache.get(newer.tenant_id, newer.id).await,
        Some(CachedCart {
            cart: newer.clone(),
            judged: Some(judged)
        })
    );
    cache.invalidate(newer.tenant_id, newer.id).await;
    assert_eq!(cache.get(newer.tenant_id, newer.id).await, None);
    // Another tenant never sees it, even under the same cart id.
    cache.put(&newer, None).await;
    assert_eq!(cache.get(TenantId::new(), newer.id).await, None);
}

/// Node X cannot reach Redis while it writes v2; node Y still holds v1 in the shared
/// cache. Once Redis answers X again, X bumps the generation, so Y never serves v1 again.
#[tokio::test]
async fn a_write_missed_during_an_outage_is_never_served_stale_afterwards() {
    let _exclusive = SERVER.write().await;
    let prefix = prefix();
    let (x, y) = (cache(link(&prefix)), cache(link(&prefix)));
    require_redis(&link(&prefix)).await;
    let v1 = cart(1);
    x.put(&v1, None).await;
    assert_eq!(
        y.get(v1.tenant_id, v1.id).await.map(|c| c.cart),
        Some(v1.clone())
    );

    // Redis stops answering (every client) for 400 ms: X's write of v2 times out.
    let admin = redis::Client::open(url()).unwrap();
    let mut conn = admin.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(400)
        .arg("ALL")
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    let mut v2 = v1.clone();
    v2.version = 2;
    x.put(&v2, None).await;

    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        y.get(v1.tenant_id, v1.id).await,
        None,
        "v1 must not be served after a write of v2 missed the cache"
    );
    // And the cache works again for everyone.
    x.put(&v2, None).await;
    assert_eq!(y.get(v1.tenant_id, v1.id).await.map(|c| c.cart), Some(v2));
}

#[tokio::test]
async fn buckets_are_shared_between_links_and_refuse_past_the_burst() {
    let _shared = SERVER.read().await;
    let prefix = prefix();
    let (a, b) = (
        RedisRateLimiter::new(link(&prefix)),
        RedisRateLimiter::new(link(&prefix)),
    );
    require_redis(&link(&prefix)).await;
    let limit = RateLimit {
        per_second: 1,
        burst: 4,
    };
    let buckets = [("t:tenant".to_owned(), limit)];
    let mut allowed = 0;
    for i in 0..8 {
        let limiter = if i % 2 == 0 { &a } else { &b };
        let decision = limiter.take(&buckets).await;
        if decision.allowed {
            allowed += 1;
        } else {
            assert!(decision.retry_after_ms > 0 && decision.retry_after_ms <= 1000);
        }
    }
    assert!((4..=5).contains(&allowed), "allowed {allowed}");
    // A refusal by the second bucket spends nothing from the first.
    let tight = RateLimit {
        per_second: 1,
        burst: 1,
    };
    let roomy = RateLimit {
        per_second: 1,
        burst: 100,
    };
    let pair = [
        ("t2:tenant".to_owned(), roomy),
        ("t2:shopper".to_owned(), tight),
    ];
    assert!(a.take(&pair).await.allowed);
    let refused = a.take(&pair).await;
    assert!(!refused.allowed);
    assert_eq!(refused.limit, 1);
    let alone = a.take(&[("t2:tenant".to_owned(), roomy)]).await;
    assert_eq!(
        alone.remaining, 98,
        "only the allowed request spent a tenant token"
    );
}

/// A busy bucket is leased (each node takes tokens ahead of use; `lease.rs` tests the
/// sizes): two nodes hammering it together still admit no more than the bucket held plus
/// what it refilled, and leases do not make them refuse much before it is empty.
#[tokio::test]
async fn leased_tokens_never_add_up_to_more_than_the_shared_bucket() {
    let _shared = SERVER.read().await;
    let prefix = prefix();
    require_redis(&link(&prefix)).await;
    let (a, b) = (
        RedisRateLimiter::new(link(&prefix)),
        RedisRateLimiter::new(link(&prefix)),
    );
    let limit = RateLimit {
        per_second: 1000,
        burst: 2000,
    };
    let buckets = [("lease:tenant".to_owned(), limit)];
    let started = std::time::Instant::now();
    let mut allowed = 0u64;
    let mut first_refusal = None;
    for i in 0..6000 {
        let limiter = if i % 2 == 0 { &a } else { &b };
        if limiter.take(&buckets).await.allowed {
            allowed += 1;
        } else if first_refusal.is_none() {
            first_refusal = Some(i);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ceiling = 2000.0 + 1000.0 * elapsed;
    assert!(
        (allowed as f64) <= ceiling + 1.0,
        "{allowed} admitted, at most {ceiling:.0} were in the bucket"
    );
    // Tokens leased and left unused when a lease expired are lost (never over-admitted),
    // but the nodes used most of the bucket before the first refusal.
    let first_refusal = first_refusal.expect("6000 requests must exhaust a burst of 2000");
    assert!(
        first_refusal >= 1500,
        "refused from request {first_refusal}: leases held back too much"
    );
}

/// The common production shape: one busy tenant bucket (leased) and a different, cold
/// shopper bucket on every request (never leased). The tenant's lease serves its share of
/// each request; Redis is asked only for the shopper's token, and the tenant bucket is not
/// drained faster than requests arrive.
#[tokio::test]
async fn a_leased_tenant_bucket_is_not_drained_by_requests_that_ask_redis_anyway() {
    let _shared = SERVER.read().await;
    let prefix = prefix();
    let probe = link(&prefix);
    require_redis(&probe).await;
    let limiter = RedisRateLimiter::new(link(&prefix));
    let tenant = RateLimit {
        per_second: 1000,
        burst: 2000,
    };
    let shopper = RateLimit {
        per_second: 50,
        burst: 100,
    };
    for i in 0..500 {
        let buckets = [
            ("busy:tenant".to_owned(), tenant),
            (format!("busy:shopper-{i}"), shopper),
        ];
        assert!(limiter.take(&buckets).await.allowed);
    }
    let key = format!("{prefix}:rl:busy:tenant");
    let stored: Option<String> = probe
        .call(|mut conn| async move {
            redis::cmd("HGET")
                .arg(&key)
                .arg("t")
                .query_async(&mut conn)
                .await
        })
        .await
        .unwrap();
    let left: f64 = stored.expect("the tenant bucket exists").parse().unwrap();
    // 500 requests plus at most one lease (a tenth of the burst) in hand: never 500 leases.
    assert!(
        left >= 2000.0 - 500.0 - 200.0 - 1.0,
        "the tenant bucket holds {left} after 500 requests"
    );
}

#[tokio::test]
async fn an_unreachable_redis_falls_back_at_once() {
    // Nothing listens on port 1.
    let mut settings = RedisSettings::new("redis://127.0.0.1:1", prefix());
    settings.cool_down = Duration::from_secs(5);
    let link = Arc::new(RedisLink::new(settings).unwrap());
    let cache = cache(link.clone());
    let c = cart(1);
    cache.put(&c, None).await;
    assert!(!link.is_up());
    let started = std::time::Instant::now();
    for _ in 0..100 {
        assert_eq!(cache.get(c.tenant_id, c.id).await, None);
    }
    assert!(
        started.elapsed() < Duration::from_millis(50),
        "an open breaker answers without waiting: {:?}",
        started.elapsed()
    );
    let limiter = RedisRateLimiter::new(link);
    let limit = RateLimit {
        per_second: 1,
        burst: 2,
    };
    let buckets = [("k".to_owned(), limit)];
    assert!(limiter.take(&buckets).await.allowed);
    assert!(limiter.take(&buckets).await.allowed);
    assert!(
        !limiter.take(&buckets).await.allowed,
        "the in-process fallback still limits"
    );
}
