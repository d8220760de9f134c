//! Several `trolley serve` processes sharing one PostgreSQL and one Redis (SPEC §7): what
//! one node writes, activates or counts, every node sees; with Redis stopped they keep
//! serving from PostgreSQL and `/ready` says `degraded`; Redis back, the cache is used again.
//!
//! Each test starts its own `redis-server` on a free port (so stopping it disturbs nothing
//! else) and its own PostgreSQL database; the nodes are the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

use common::cluster::{Cluster, Node, Redis, grocery};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_on_one_node_is_read_fresh_on_the_other() {
    let redis = Redis::start();
    let c = Cluster::start(&redis).await;
    let t = c.tenant().await;
    c.item(&t, "MILK", "general").await;
    c.item(&t, "EGGS", "general").await;
    let cart = c.cart(&c.a, &t).await;
    // B reads first, so a stale copy would be in the shared cache if writes did not
    // replace it.
    assert_eq!(c.read(&c.b, &t, &cart).await["version"], 1);
    for round in 1..=10_i64 {
        let (writer, reader) = if round % 2 == 0 {
            (&c.a, &c.b)
        } else {
            (&c.b, &c.a)
        };
        let written = c.add(writer, &t, &cart, "MILK", 1).await;
        let read = c.read(reader, &t, &cart).await;
        assert_eq!(read["version"], written["version"], "round {round}");
        assert_eq!(read["lines"][0]["quantity"], round);
    }
    let (status, ready) = c.ready(&c.a).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["checks"]["redis"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activation_on_one_node_prices_on_the_other_within_a_second() {
    let redis = Redis::start();
    let c = Cluster::start(&redis).await;
    let t = c.tenant().await;
    c.grocery_milk(&t).await;
    let v1 = c
        .activate(
            &c.a,
            &t,
            "grocery",
            grocery(),
            json!({"small_basket_fee": "1.00"}),
        )
        .await;
    let cart = c.cart(&c.b, &t).await;
    c.add(&c.b, &t, &cart, "MILK", 1).await;
    // B has now cached v1 as the grocery plugin: only a notice makes it look again soon.
    assert_eq!(
        c.read(&c.b, &t, &cart).await["plugin"]["sha256"],
        v1.as_str()
    );

    let v2 = c
        .activate(
            &c.a,
            &t,
            "grocery",
            trolley_wasm_build::with_version(grocery(), "0.1.0", "0.2.0"),
            json!({"small_basket_fee": "2.00"}),
        )
        .await;
    let activated = Instant::now();
    let seen_by_b = loop {
        let view = c.read(&c.b, &t, &cart).await;
        if view["plugin"]["sha256"] == v2.as_str() {
            break activated.elapsed();
        }
        assert!(
            activated.elapsed() < Duration::from_secs(1),
            "B still prices with v1 a second after A activated v2"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let fee = &c.read(&c.b, &t, &cart).await["fees"];
    assert!(
        fee.to_string().contains("2.00"),
        "v2's config serves: {fee}"
    );
    eprintln!(
        "B priced with v2 {} ms after A's activation answered",
        seen_by_b.as_millis()
    );
}

/// The order type's answer is kept beside the cart in the shared cache: a node that never
/// judged the cart reads it without calling the plugin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_made_on_one_node_serves_reads_on_the_other() {
    let redis = Redis::start();
    let c = Cluster::start(&redis).await;
    let t = c.tenant().await;
    c.grocery_milk(&t).await;
    c.activate(&c.a, &t, "grocery", grocery(), json!({})).await;
    let cart = c.cart(&c.a, &t).await;
    let written = c.add(&c.a, &t, &cart, "MILK", 2).await;
    assert_eq!(written["plugin_status"], "ok", "{written}");
    assert!(plugin_calls(&c, &c.a).await >= 1.0);
    for _ in 0..3 {
        let read = c.read(&c.b, &t, &cart).await;
        assert_eq!(read["fees"], written["fees"]);
        assert_eq!(read["total"], written["total"]);
    }
    assert_eq!(
        plugin_calls(&c, &c.b).await,
        0.0,
        "B answered from the kept answer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_shared_by_every_node() {
    let redis = Redis::start();
    let c = Cluster::start(&redis).await;
    let t = c.tenant().await;
    let res = c
        .admin(&c.a, &t, Method::PUT, "/v1/admin/config")
        .json(&json!({"shopper_rate_limit": {"per_second": 1, "burst": 6}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    c.item(&t, "MILK", "general").await;
    let cart = c.cart(&c.a, &t).await;
    // Six reads across both nodes spend the one shared burst of six; the seventh, on
    // either node, is refused. (A per-node bucket would allow twelve.)
    let mut allowed = 0;
    let mut refused = None;
    for i in 0..12 {
        let node = if i % 2 == 0 { &c.a } else { &c.b };
        let res = c
            .on_cart(node, &t, &cart, Method::GET, "")
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::OK {
            allowed += 1;
            assert!(res.headers().contains_key("ratelimit-remaining"));
        } else {
            refused.get_or_insert(res);
        }
    }
    assert!(
        (6..=7).contains(&allowed),
        "allowed {allowed} of 12 (a token may refill)"
    );
    let refused = refused.expect("a refusal");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert_eq!(refused.headers()["ratelimit-limit"], "6");
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "rate_limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_degrades_nothing_but_speed_and_heals() {
    let mut redis = Redis::start();
    let c = Cluster::start(&redis).await;
    let t = c.tenant().await;
    c.item(&t, "MILK", "general").await;
    let cart = c.cart(&c.a, &t).await;
    c.add(&c.a, &t, &cart, "MILK", 1).await;
    assert_eq!(c.read(&c.b, &t, &cart).await["version"], 2);

    redis.stop();
    // Writes and reads keep working from PostgreSQL, on both nodes, and stay fresh.
    for round in 0..6_i64 {
        let (writer, reader) = if round % 2 == 0 {
            (&c.a, &c.b)
        } else {
            (&c.b, &c.a)
        };
        let started = Instant::now();
        let written = c.add(writer, &t, &cart, "MILK", 1).await;
        let read = c.read(reader, &t, &cart).await;
        assert_eq!(read["version"], written["version"]);
        assert_eq!(read["lines"][0]["quantity"], round + 2);
        eprintln!(
            "write+read without Redis: {} ms",
            started.elapsed().as_millis()
        );
    }
    let (status, ready) = c.ready(&c.a).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a node without Redis still takes traffic"
    );
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert_ne!(ready["checks"]["redis"], "ok");
    let metrics = c
        .req(&c.a, Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let fallbacks = metrics
        .lines()
        .find(|l| l.starts_with("trolley_cache_requests_total") && l.contains("fallback"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(fallbacks > 0.0, "fallbacks are counted:\n{metrics}");

    redis.resume();
    // Within a couple of breaker cool-downs every node uses Redis again, and what was
    // written around it is never served from it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, a) = c.ready(&c.a).await;
        let (_, b) = c.ready(&c.b).await;
        if a["status"] == "ready" && b["status"] == "ready" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Redis back, nodes still degraded: {a} {b}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let hits_before = cache_hits(&c, &c.b).await;
    let written = c.add(&c.a, &t, &cart, "MILK", 1).await;
    for _ in 0..3 {
        let read = c.read(&c.b, &t, &cart).await;
        assert_eq!(read["version"], written["version"]);
        assert_eq!(read["lines"][0]["quantity"], 8);
    }
    assert!(
        cache_hits(&c, &c.b).await > hits_before,
        "B serves from the shared cache again"
    );
}

/// The sum of `node`'s `/metrics` samples whose line starts with `prefix` and contains
/// every one of `having`.
async fn metric(c: &Cluster, node: &Node, prefix: &str, having: &[&str]) -> f64 {
    let metrics = c
        .req(node, Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .filter(|l| l.starts_with(prefix) && having.iter().all(|h| l.contains(h)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Order-type plugin calls `node` made, whatever their outcome.
async fn plugin_calls(c: &Cluster, node: &Node) -> f64 {
    metric(c, node, "trolley_plugin_calls_total{", &[]).await
}

async fn cache_hits(c: &Cluster, node: &Node) -> f64 {
    metric(c, node, "trolley_cache_requests_total", &["\"hit\""]).await
}
