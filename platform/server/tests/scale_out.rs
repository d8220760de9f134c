//! Several `trolley serve` processes sharing one PostgreSQL and one Redis (SPEC §7): what
//! one node writes, activates or counts, every node sees; with Redis stopped they keep
//! serving from PostgreSQL and `/ready` says `degraded`; Redis back, the cache is used again.
//!
//! Each test starts its own `redis-server` on a free port (so stopping it disturbs nothing
//! else) and its own PostgreSQL database; the nodes are the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

const OPERATOR: &str = "scale-out-operator-token";

/// A `redis-server` of this test's own, on its own port, keeping nothing on disk.
struct Redis {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Redis {
    fn start() -> Self {
        let mut redis = Redis {
            port: common::free_port(),
            dir: common::scratch("scale-out"),
            child: None,
        };
        redis.resume();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// (Re)starts the server on the same port.
    fn resume(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "redis-server is required for the scale-out tests (scripts/test.sh installs it)",
            );
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (as a crash would).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// One `trolley serve` process.
struct Node {
    base: String,
    child: Child,
}

impl Node {
    async fn start(database_url: &str, redis_url: &str, prefix: &str, data_dir: &PathBuf) -> Self {
        let port = common::free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_trolley"))
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .env("DATABASE_URL", database_url)
            .env("REDIS_URL", redis_url)
            .env("TROLLEY_REDIS_PREFIX", prefix)
            .env("TROLLEY_OPERATOR_TOKEN", OPERATOR)
            .env("TROLLEY_SWEEP_INTERVAL_SECS", "0")
            .env("TROLLEY_WORKERS", "2")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let node = Node {
            base: format!("http://127.0.0.1:{port}"),
            child,
        };
        common::wait_healthy(&node.base).await;
        node
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Two nodes on one fresh database and one Redis (each test its own key prefix).
struct Cluster {
    a: Node,
    b: Node,
    http: reqwest::Client,
    data_dir: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.data_dir).ok();
    }
}

struct Tenant {
    storefront_key: String,
    admin_key: String,
}

struct Cart {
    id: String,
    token: String,
}

impl Cluster {
    async fn start(redis: &Redis) -> Self {
        let database_url = common::fresh_postgres().await;
        let prefix = format!("t{}", Uuid::new_v4().simple());
        let data_dir = common::scratch("scale-out");
        // The first node migrates; the second finds the schema in place.
        let a = Node::start(&database_url, &redis.url(), &prefix, &data_dir).await;
        let b = Node::start(&database_url, &redis.url(), &prefix, &data_dir).await;
        Cluster {
            a,
            b,
            http: reqwest::Client::new(),
            data_dir,
        }
    }

    fn req(&self, node: &Node, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", node.base))
    }

    async fn tenant(&self) -> Tenant {
        let res = self
            .req(&self.a, Method::POST, "/v1/platform/tenants")
            .bearer_auth(OPERATOR)
            .json(&json!({"name": "Scale", "currency": "USD"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let b: Value = res.json().await.unwrap();
        Tenant {
            storefront_key: b["storefront_key"].as_str().unwrap().to_owned(),
            admin_key: b["admin_key"].as_str().unwrap().to_owned(),
        }
    }

    /// Maps the `grocery` category to the `grocery` order type and lists `MILK` in it.
    async fn grocery_milk(&self, t: &Tenant) {
        let res = self
            .admin(&self.a, t, Method::PUT, "/v1/admin/config")
            .json(&json!({"category_order_types": {"grocery": "grocery"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        self.item(t, "MILK", "grocery").await;
    }

    fn admin(&self, node: &Node, t: &Tenant, method: Method, path: &str) -> RequestBuilder {
        self.req(node, method, path).bearer_auth(&t.admin_key)
    }

    async fn item(&self, t: &Tenant, sku: &str, category: &str) {
        let res = self
            .admin(
                &self.a,
                t,
                Method::PUT,
                &format!("/v1/admin/catalog/items/{sku}"),
            )
            .json(&json!({"price": "2.00", "category": category}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }

    async fn cart(&self, node: &Node, t: &Tenant) -> Cart {
        let res = self
            .req(node, Method::POST, "/v1/carts")
            .header("X-Api-Key", &t.storefront_key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let b: Value = res.json().await.unwrap();
        Cart {
            id: b["cart_id"].as_str().unwrap().to_owned(),
            token: b["cart_token"].as_str().unwrap().to_owned(),
        }
    }

    fn on_cart(
        &self,
        node: &Node,
        t: &Tenant,
        cart: &Cart,
        method: Method,
        suffix: &str,
    ) -> RequestBuilder {
        self.req(node, method, &format!("/v1/carts/{}{suffix}", cart.id))
            .header("X-Api-Key", &t.storefront_key)
            .header("X-Cart-Token", &cart.token)
    }

    async fn read(&self, node: &Node, t: &Tenant, cart: &Cart) -> Value {
        let res = self
            .on_cart(node, t, cart, Method::GET, "")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    async fn add(&self, node: &Node, t: &Tenant, cart: &Cart, sku: &str, quantity: i64) -> Value {
        let res = self
            .on_cart(node, t, cart, Method::POST, "/lines")
            .json(&json!({"sku": sku, "quantity": quantity}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "add: {}", res.status());
        res.json().await.unwrap()
    }

    async fn ready(&self, node: &Node) -> (StatusCode, Value) {
        let res = self.req(node, Method::GET, "/ready").send().await.unwrap();
        (res.status(), res.json().await.unwrap())
    }

    /// Uploads `bytes` and activates it for `order_type` with `config`; returns its sha256.
    async fn activate(
        &self,
        node: &Node,
        t: &Tenant,
        order_type: &str,
        bytes: Vec<u8>,
        config: Value,
    ) -> String {
        let res = self
            .admin(node, t, Method::POST, "/v1/admin/plugins")
            .header("content-type", "application/wasm")
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "upload: {}", res.status());
        let plugin: Value = res.json().await.unwrap();
        let res = self
            .admin(
                node,
                t,
                Method::POST,
                &format!("/v1/admin/order-types/{order_type}/activate"),
            )
            .json(&json!({"plugin_id": plugin["plugin_id"], "config": config}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        plugin["sha256"].as_str().unwrap().to_owned()
    }
}

fn grocery() -> Vec<u8> {
    trolley::demo::BUNDLED_PLUGINS[0].1.to_vec()
}

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
            trolley_wasm_build::with_custom_section(grocery(), "trolley-scale-out-v2"),
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
