//! `kill -9` under write load (SPEC §8, issue 13): real `trolley serve` processes on SQLite and
//! on PostgreSQL, concurrent writers adding lines with `Idempotency-Key`s, the node killed at
//! a random moment, restarted on the same database, and every request that was in flight
//! retried with its key. Every acknowledged mutation must be there, none applied twice, and
//! every retry answered at once (no `409 idempotency_key_in_use` waiting out a stale claim).
//!
//! Each add is a line of its own (its `op` attribute makes a distinct line key), so a line's
//! quantity says how many times its request was applied: 1 is right, 2 is a duplicate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use uuid::Uuid;

const OPERATOR: &str = "crash-operator-token";
const WRITERS: usize = 16;
const ROUNDS: usize = 3;
/// Lines one writer adds to its cart in one round at most (a cart holds up to 500).
const MAX_OPS: usize = 400;

/// One `trolley serve` process; dropped or [`Node::kill`]ed, it dies by SIGKILL.
struct Node {
    base: String,
    child: Child,
}

impl Node {
    async fn start(database_url: Option<&str>, data_dir: &Path) -> Self {
        let port = common::free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trolley"));
        cmd.arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env("TROLLEY_OPERATOR_TOKEN", OPERATOR)
            .env("TROLLEY_SWEEP_INTERVAL_SECS", "0")
            .env("TROLLEY_WORKERS", "2")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(url) = database_url {
            cmd.env("DATABASE_URL", url);
        }
        let child = cmd.spawn().unwrap();
        let node = Node {
            base: format!("http://127.0.0.1:{port}"),
            child,
        };
        common::wait_healthy(&node.base).await;
        node
    }

    /// SIGKILL: no shutdown hook, no flush, whatever was in flight is cut.
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

struct Shop {
    storefront_key: String,
    carts: Vec<(String, String)>,
}

async fn setup(node: &Node, http: &reqwest::Client) -> Shop {
    let res = http
        .post(format!("{}/v1/platform/tenants", node.base))
        .bearer_auth(OPERATOR)
        .json(&json!({"name": "Crash", "currency": "USD"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let t: Value = res.json().await.unwrap();
    let admin = t["admin_key"].as_str().unwrap().to_owned();
    let storefront_key = t["storefront_key"].as_str().unwrap().to_owned();
    let res = http
        .put(format!("{}/v1/admin/config", node.base))
        .bearer_auth(&admin)
        .json(&json!({
            "max_lines": 500,
            "shopper_rate_limit": {"per_second": 10_000, "burst": 10_000},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let res = http
        .put(format!("{}/v1/admin/catalog/items/PEN", node.base))
        .bearer_auth(&admin)
        .json(&json!({"price": "1.00", "category": "office"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    Shop {
        storefront_key,
        carts: Vec::new(),
    }
}

async fn new_cart(node: &Node, http: &reqwest::Client, shop: &Shop) -> (String, String) {
    let res = http
        .post(format!("{}/v1/carts", node.base))
        .header("X-Api-Key", &shop.storefront_key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let c: Value = res.json().await.unwrap();
    (
        c["cart_id"].as_str().unwrap().to_owned(),
        c["cart_token"].as_str().unwrap().to_owned(),
    )
}

/// One add-line request, identified by its key (which is also the line's `op` attribute).
fn add(
    http: &reqwest::Client,
    base: &str,
    shop: &Shop,
    cart: &(String, String),
    op: &str,
) -> reqwest::RequestBuilder {
    http.post(format!("{base}/v1/carts/{}/lines", cart.0))
        .header("X-Api-Key", &shop.storefront_key)
        .header("X-Cart-Token", &cart.1)
        .header("Idempotency-Key", op)
        .timeout(Duration::from_secs(10))
        .json(&json!({"sku": "PEN", "quantity": 1, "attributes": {"op": op}}))
}

#[derive(Default)]
struct Round {
    acked: Vec<(usize, String)>,
    in_flight: Vec<(usize, String)>,
}

/// Writers add lines until the node dies under them; returns what was acknowledged and what
/// was cut off.
async fn write_until_killed(node: &mut Node, http: &reqwest::Client, shop: &Shop) -> Round {
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (http, base, stop) = (http.clone(), node.base.clone(), stop.clone());
        let shop = Shop {
            storefront_key: shop.storefront_key.clone(),
            carts: shop.carts.clone(),
        };
        writers.push(tokio::spawn(async move {
            let cart = &shop.carts[w];
            let mut acked = Vec::new();
            for n in 0..MAX_OPS {
                let op = format!("w{w}-{n}-{}", Uuid::new_v4().simple());
                match add(&http, &base, &shop, cart, &op).send().await {
                    Ok(res) if res.status() == StatusCode::OK => acked.push(op),
                    Ok(res) if stop.load(Ordering::Relaxed) => {
                        // Cut mid-answer: in doubt.
                        drop(res);
                        return (acked, Some(op));
                    }
                    Ok(res) => panic!("writer {w}: {} {}", res.status(), res.text().await.unwrap()),
                    Err(_) => return (acked, Some(op)),
                }
            }
            (acked, None)
        }));
    }
    // A random moment a little into the load.
    let delay = 300 + u64::from(Uuid::new_v4().as_bytes()[0]) * 5;
    tokio::time::sleep(Duration::from_millis(delay)).await;
    stop.store(true, Ordering::Relaxed);
    node.kill();
    let mut round = Round::default();
    for (w, writer) in writers.into_iter().enumerate() {
        let (acked, cut) = writer.await.unwrap();
        round.acked.extend(acked.into_iter().map(|op| (w, op)));
        round.in_flight.extend(cut.map(|op| (w, op)));
    }
    round
}

async fn crash_rounds(database_url: Option<String>) {
    let data_dir = common::scratch("crash");
    let http = reqwest::Client::new();
    let mut node = Node::start(database_url.as_deref(), &data_dir).await;
    let mut shop = setup(&node, &http).await;
    let (mut acked_total, mut retried_total, mut replayed_total) = (0, 0, 0);
    for round in 1..=ROUNDS {
        shop.carts.clear();
        for _ in 0..WRITERS {
            let cart = new_cart(&node, &http, &shop).await;
            shop.carts.push(cart);
        }
        let written = write_until_killed(&mut node, &http, &shop).await;
        assert!(!written.in_flight.is_empty(), "the kill cut no request");
        node = Node::start(database_url.as_deref(), &data_dir).await;

        // Every request cut by the kill, retried once with its key, is answered at once:
        // replayed if it committed, run now if it did not.
        for (w, op) in &written.in_flight {
            let res = add(&http, &node.base, &shop, &shop.carts[*w], op)
                .send()
                .await
                .unwrap();
            let status = res.status();
            if res.headers().get("idempotent-replayed").is_some() {
                replayed_total += 1;
            }
            let body = res.text().await.unwrap();
            assert_eq!(status, StatusCode::OK, "retry of {op}: {body}");
        }

        // Each acknowledged or retried add is exactly one line of quantity 1.
        let mut expected: HashMap<usize, Vec<&str>> = HashMap::new();
        for (w, op) in written.acked.iter().chain(&written.in_flight) {
            expected.entry(*w).or_default().push(op);
        }
        for (w, cart) in shop.carts.iter().enumerate() {
            let res = http
                .get(format!("{}/v1/carts/{}", node.base, cart.0))
                .header("X-Api-Key", &shop.storefront_key)
                .header("X-Cart-Token", &cart.1)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            let view: Value = res.json().await.unwrap();
            let lines: HashMap<&str, i64> = view["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    (
                        l["attributes"]["op"].as_str().unwrap(),
                        l["quantity"].as_i64().unwrap(),
                    )
                })
                .collect();
            let wanted = expected.remove(&w).unwrap_or_default();
            for op in &wanted {
                match lines.get(op) {
                    None => panic!("round {round}: acknowledged add {op} was lost"),
                    Some(1) => {}
                    Some(q) => panic!("round {round}: add {op} was applied {q} times"),
                }
            }
            assert_eq!(
                lines.len(),
                wanted.len(),
                "round {round}: cart {w} has lines nobody acknowledged"
            );
        }
        acked_total += written.acked.len();
        retried_total += written.in_flight.len();
    }
    println!(
        "{ROUNDS} kill -9 rounds: {acked_total} acknowledged adds, {retried_total} retried after restart ({replayed_total} of them had committed and were replayed); 0 lost, 0 applied twice"
    );
    drop(node);
    std::fs::remove_dir_all(&data_dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_under_write_load_on_sqlite_loses_nothing_and_applies_nothing_twice() {
    crash_rounds(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_under_write_load_on_postgres_loses_nothing_and_applies_nothing_twice() {
    crash_rounds(Some(common::fresh_postgres().await)).await;
}
