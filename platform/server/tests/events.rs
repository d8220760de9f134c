//! Events across real processes (issue 15): two `trolley serve` nodes relaying one
//! PostgreSQL outbox deliver each event once in the normal case; a node killed with
//! `kill -9` mid-delivery loses nothing and reorders nothing per subject once it is back;
//! with NATS configured, a JetStream consumer receives every event once, in sequence per
//! subject, across a relay restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::cluster::Redis;

const OPERATOR: &str = "events-operator-token";

/// One `trolley serve` process relaying events; SIGKILLed when dropped.
struct Node {
    base: String,
    child: Child,
}

impl Node {
    async fn start(database_url: &str, redis: &str, data_dir: &Path, nats: Option<&str>) -> Self {
        let port = common::free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trolley"));
        cmd.arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .env("DATABASE_URL", database_url)
            .env("REDIS_URL", redis)
            .env("TROLLEY_OPERATOR_TOKEN", OPERATOR)
            .env("TROLLEY_SWEEP_INTERVAL_SECS", "0")
            .env("TROLLEY_WEBHOOK_ALLOW_PRIVATE", "1")
            .env("TROLLEY_RELAY_INTERVAL_MS", "20")
            .env("TROLLEY_RELAY_LEASE_SECS", "10")
            .env("TROLLEY_WORKERS", "2")
            .env("RUST_LOG", "warn")
            .env_remove("TROLLEY_NATS_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(url) = nats {
            cmd.env("TROLLEY_NATS_URL", url);
        }
        let child = cmd.spawn().unwrap();
        let node = Node {
            base: format!("http://127.0.0.1:{port}"),
            child,
        };
        common::wait_healthy(&node.base).await;
        node
    }

    fn kill(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Records `(webhook-id, event)` of every delivery, in arrival order; answers 200, after
/// `slow` milliseconds (so a kill can find deliveries in flight).
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<(String, Value)>>>,
    slow: Arc<std::sync::atomic::AtomicU64>,
}

type Shared = (
    Arc<Mutex<Vec<(String, Value)>>>,
    Arc<std::sync::atomic::AtomicU64>,
);

async fn record(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let (got, slow) = shared.get_ref();
    let wait = slow.load(std::sync::atomic::Ordering::Relaxed);
    if wait > 0 {
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
    let id = req
        .headers()
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    got.lock().unwrap().push((id, event));
    HttpResponse::Ok().finish()
}

impl Receiver {
    fn start() -> Self {
        let got = Arc::new(Mutex::new(Vec::new()));
        let slow = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let data = web::Data::new((got.clone(), slow.clone()));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(record))
        })
        .workers(2)
        .bind("127.0.0.1:0")
        .unwrap();
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Self {
            url: format!("http://127.0.0.1:{port}/hooks"),
            got,
            slow,
        }
    }

    fn got(&self) -> Vec<(String, Value)> {
        self.got.lock().unwrap().clone()
    }
}

struct Shop {
    admin: String,
    storefront: String,
    tenant: String,
}

async fn shop(http: &reqwest::Client, node: &Node, receiver: Option<&Receiver>) -> Shop {
    let res = http
        .post(format!("{}/v1/platform/tenants", node.base))
        .bearer_auth(OPERATOR)
        .json(&json!({"name": "Events", "currency": "USD"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let t: Value = res.json().await.unwrap();
    let shop = Shop {
        admin: t["admin_key"].as_str().unwrap().to_owned(),
        storefront: t["storefront_key"].as_str().unwrap().to_owned(),
        tenant: t["tenant_id"].as_str().unwrap().to_owned(),
    };
    let res = http
        .put(format!("{}/v1/admin/config", node.base))
        .bearer_auth(&shop.admin)
        .json(&json!({"max_lines": 500, "shopper_rate_limit": {"per_second": 10_000, "burst": 10_000}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = http
        .put(format!("{}/v1/admin/catalog/items/PEN", node.base))
        .bearer_auth(&shop.admin)
        .json(&json!({"price": "1.00", "category": "office"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    if let Some(receiver) = receiver {
        let res = http
            .post(format!("{}/v1/admin/webhooks", node.base))
            .bearer_auth(&shop.admin)
            .json(&json!({"url": receiver.url}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    shop
}

type CartRef = (String, String);

/// A new guest cart (id, token), made through `base`.
async fn new_cart(http: &reqwest::Client, base: &str, shop: &Shop) -> CartRef {
    let res = http
        .post(format!("{base}/v1/carts"))
        .header("X-Api-Key", &shop.storefront)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let cart: Value = res.json().await.unwrap();
    (
        cart["cart_id"].as_str().unwrap().to_owned(),
        cart["cart_token"].as_str().unwrap().to_owned(),
    )
}

/// `shoppers` carts (made before any load starts, so a kill never cuts a creation), each
/// getting `lines` adds through `nodes` in turn from a task of its own.
async fn shoppers(
    http: &reqwest::Client,
    nodes: &[String],
    shop: &Arc<Shop>,
    shoppers: usize,
    lines: usize,
) -> Vec<tokio::task::JoinHandle<usize>> {
    let mut carts = Vec::new();
    for _ in 0..shoppers {
        carts.push(new_cart(http, &nodes[0], shop).await);
    }
    carts
        .into_iter()
        .map(|cart| {
            tokio::spawn(shopper(
                http.clone(),
                nodes.to_vec(),
                shop.clone(),
                cart,
                lines,
            ))
        })
        .collect()
}

/// Adds `lines` lines to `cart` through `nodes` in turn; how many adds were acknowledged.
async fn shopper(
    http: reqwest::Client,
    nodes: Vec<String>,
    shop: Arc<Shop>,
    cart: CartRef,
    lines: usize,
) -> usize {
    let (id, token) = cart;
    let mut acked = 0;
    for n in 0..lines {
        let base = &nodes[n % nodes.len()];
        let sent = http
            .post(format!("{base}/v1/carts/{id}/lines"))
            .header("X-Api-Key", &shop.storefront)
            .header("X-Cart-Token", &token)
            .timeout(Duration::from_secs(10))
            .json(&json!({"sku": "PEN", "quantity": 1, "attributes": {"n": n.to_string()}}))
            .send()
            .await;
        match sent {
            Ok(res) if res.status() == StatusCode::OK => acked += 1,
            // A node killed under the request, or a lost race: the next add goes on.
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    acked
}

/// Every event id the outbox holds for `tenant`, with its subject and sequence.
async fn committed(database_url: &str, tenant: &str) -> HashMap<String, (String, i64)> {
    let db = Database::connect(database_url).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT id::text AS id, subject, sequence FROM outbox_events WHERE tenant_id = $1::uuid",
            [tenant.into()],
        ))
        .await
        .unwrap();
    db.close().await.ok();
    rows.iter()
        .map(|r| {
            (
                r.try_get::<String>("", "id").unwrap(),
                (
                    r.try_get::<String>("", "subject").unwrap(),
                    r.try_get::<i64>("", "sequence").unwrap(),
                ),
            )
        })
        .collect()
}

/// Waits (up to `within`) until every committed event of the tenant has arrived.
async fn wait_all_arrived(
    receiver: &Receiver,
    database_url: &str,
    tenant: &str,
    within: Duration,
) -> HashMap<String, (String, i64)> {
    let deadline = Instant::now() + within;
    loop {
        let expected = committed(database_url, tenant).await;
        let arrived: HashSet<String> = receiver.got().into_iter().map(|(id, _)| id).collect();
        let missing = expected.keys().filter(|id| !arrived.contains(*id)).count();
        if missing == 0 {
            return expected;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} of {} committed events never arrived",
            expected.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Per subject, arrivals never go backwards in sequence (a repeat of the last one, after a
/// crash, is allowed).
fn assert_in_order(arrivals: &[(String, Value)]) {
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    for (_, event) in arrivals {
        let subject = format!("{}:{}", event["subject"]["kind"], event["subject"]["id"]);
        let sequence = event["sequence"].as_i64().unwrap();
        let before = last.insert(subject.clone(), sequence).unwrap_or(0);
        assert!(
            sequence >= before && sequence <= before + 1,
            "{subject}: sequence {sequence} arrived after {before}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_deliver_once_and_a_killed_node_loses_nothing() {
    let redis = Redis::start();
    let database_url = common::fresh_postgres().await;
    let data_dir = common::scratch("events");
    let receiver = Receiver::start();
    let http = reqwest::Client::new();
    let a = Node::start(&database_url, &redis.url(), &data_dir, None).await;
    let mut b = Node::start(&database_url, &redis.url(), &data_dir, None).await;
    let shop = Arc::new(shop(&http, &a, Some(&receiver)).await);

    // Normal case: both nodes relay the same outbox; nobody gets anything twice.
    let nodes = vec![a.base.clone(), b.base.clone()];
    for s in shoppers(&http, &nodes, &shop, 6, 15).await {
        assert_eq!(s.await.unwrap(), 15);
    }
    let expected = wait_all_arrived(
        &receiver,
        &database_url,
        &shop.tenant,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        expected.len(),
        6 * 16,
        "6 carts created, 15 lines added to each"
    );
    let arrivals = receiver.got();
    let ids: HashSet<&String> = arrivals.iter().map(|(id, _)| id).collect();
    assert_eq!(
        ids.len(),
        arrivals.len(),
        "an event was delivered twice by two nodes"
    );
    assert_in_order(&arrivals);

    // Kill -9 one node in the middle of a burst, deliveries in flight (the receiver takes
    // 50 ms each), then bring it back: its claims run out and are delivered again.
    receiver
        .slow
        .store(50, std::sync::atomic::Ordering::Relaxed);
    let nodes = vec![b.base.clone(), a.base.clone()];
    let load = shoppers(&http, &nodes, &shop, 6, 20).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    b.kill();
    for s in load {
        s.await.unwrap();
    }
    let b = Node::start(&database_url, &redis.url(), &data_dir, None).await;
    receiver.slow.store(0, std::sync::atomic::Ordering::Relaxed);
    let expected = wait_all_arrived(
        &receiver,
        &database_url,
        &shop.tenant,
        Duration::from_secs(60),
    )
    .await;
    let arrivals = receiver.got();
    assert_in_order(&arrivals);
    // Nothing arrived that was not committed (a refused or cut-off change emits nothing).
    for (id, _) in &arrivals {
        assert!(
            expected.contains_key(id),
            "event {id} arrived but was never committed"
        );
    }
    let duplicates = arrivals.len()
        - arrivals
            .iter()
            .map(|(id, _)| id)
            .collect::<HashSet<_>>()
            .len();
    println!(
        "{} events committed, {} deliveries, {duplicates} repeated after the kill",
        expected.len(),
        arrivals.len()
    );
    drop((a, b));
    std::fs::remove_dir_all(&data_dir).ok();
}

/// The NATS server of the suite (`TROLLEY_TEST_NATS_URL`, default `nats://127.0.0.1:4222`).
fn nats_url() -> String {
    std::env::var("TROLLEY_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_jetstream_consumer_gets_every_event_once_in_order_across_a_restart() {
    let redis = Redis::start();
    let database_url = common::fresh_postgres().await;
    let data_dir = common::scratch("events-nats");
    let nats = nats_url();
    let http = reqwest::Client::new();
    let mut node = Node::start(&database_url, &redis.url(), &data_dir, Some(&nats)).await;
    let shop = Arc::new(shop(&http, &node, None).await);
    let load = shoppers(&http, std::slice::from_ref(&node.base), &shop, 4, 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    node.kill();
    for s in load {
        s.await.unwrap();
    }
    let node = Node::start(&database_url, &redis.url(), &data_dir, Some(&nats)).await;
    for s in shoppers(&http, std::slice::from_ref(&node.base), &shop, 2, 5).await {
        assert_eq!(s.await.unwrap(), 5);
    }
    let expected = committed(&database_url, &shop.tenant).await;

    let client = async_nats::connect(&nats)
        .await
        .unwrap_or_else(|e| panic!("NATS with JetStream is required at {nats}: {e}"));
    let js = async_nats::jetstream::new(client);
    let mut stream = js.get_stream(trolley::startup::EVENT_STREAM).await.unwrap();
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            filter_subject: format!("trolley.{}.>", shop.tenant),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut got: Vec<Value> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.len() < expected.len() {
        assert!(
            Instant::now() < deadline,
            "{} of {} events reached JetStream",
            got.len(),
            expected.len()
        );
        let mut batch = consumer
            .fetch()
            .max_messages(500)
            .expires(Duration::from_millis(500))
            .messages()
            .await
            .unwrap();
        use futures_util::StreamExt as _;
        while let Some(message) = batch.next().await {
            let message = message.unwrap();
            let event: Value = serde_json::from_slice(&message.payload).unwrap();
            assert_eq!(
                message.subject.as_str(),
                format!(
                    "trolley.{}.{}",
                    shop.tenant,
                    event["type"].as_str().unwrap()
                )
            );
            got.push(event);
            message.ack().await.unwrap();
        }
    }
    let ids: HashSet<String> = got
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), got.len(), "an event reached the stream twice");
    assert_eq!(ids, expected.keys().cloned().collect::<HashSet<_>>());
    let arrivals: Vec<(String, Value)> = got.into_iter().map(|e| (String::new(), e)).collect();
    assert_in_order(&arrivals);
    stream.info().await.unwrap();
    drop(node);
    std::fs::remove_dir_all(&data_dir).ok();
}
