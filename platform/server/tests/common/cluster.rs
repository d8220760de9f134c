//! Clusters of real `trolley serve` processes: nodes sharing one fresh PostgreSQL database
//! and a `redis-server` of the test's own (so stopping it disturbs nothing else).

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

use super::{free_port, fresh_postgres, scratch, wait_healthy};

pub const OPERATOR: &str = "scale-out-operator-token";

/// A `redis-server` of this test's own, on its own port, keeping nothing on disk.
pub struct Redis {
    pub port: u16,
    pub dir: PathBuf,
    pub child: Option<Child>,
}

impl Redis {
    pub fn start() -> Self {
        let mut redis = Redis {
            port: free_port(),
            dir: scratch("scale-out"),
            child: None,
        };
        redis.resume();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// (Re)starts the server on the same port.
    pub fn resume(&mut self) {
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
    pub fn stop(&mut self) {
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
pub struct Node {
    pub base: String,
    pub child: Child,
}

impl Node {
    pub async fn start(
        database_url: &str,
        redis_url: &str,
        prefix: &str,
        data_dir: &PathBuf,
    ) -> Self {
        let port = free_port();
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
        wait_healthy(&node.base).await;
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
pub struct Cluster {
    pub a: Node,
    pub b: Node,
    pub http: reqwest::Client,
    pub data_dir: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.data_dir).ok();
    }
}

pub struct Tenant {
    pub storefront_key: String,
    pub admin_key: String,
}

pub struct Cart {
    pub id: String,
    pub token: String,
}

impl Cluster {
    pub async fn start(redis: &Redis) -> Self {
        let database_url = fresh_postgres().await;
        let prefix = format!("t{}", Uuid::new_v4().simple());
        let data_dir = scratch("scale-out");
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

    pub fn req(&self, node: &Node, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", node.base))
    }

    pub async fn tenant(&self) -> Tenant {
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
    pub async fn grocery_milk(&self, t: &Tenant) {
        let res = self
            .admin(&self.a, t, Method::PUT, "/v1/admin/config")
            .json(&json!({"category_order_types": {"grocery": "grocery"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        self.item(t, "MILK", "grocery").await;
    }

    pub fn admin(&self, node: &Node, t: &Tenant, method: Method, path: &str) -> RequestBuilder {
        self.req(node, method, path).bearer_auth(&t.admin_key)
    }

    pub async fn item(&self, t: &Tenant, sku: &str, category: &str) {
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

    pub async fn cart(&self, node: &Node, t: &Tenant) -> Cart {
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

    pub fn on_cart(
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

    pub async fn read(&self, node: &Node, t: &Tenant, cart: &Cart) -> Value {
        let res = self
            .on_cart(node, t, cart, Method::GET, "")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    pub async fn add(
        &self,
        node: &Node,
        t: &Tenant,
        cart: &Cart,
        sku: &str,
        quantity: i64,
    ) -> Value {
        let res = self
            .on_cart(node, t, cart, Method::POST, "/lines")
            .json(&json!({"sku": sku, "quantity": quantity}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "add: {}", res.status());
        res.json().await.unwrap()
    }

    pub async fn ready(&self, node: &Node) -> (StatusCode, Value) {
        let res = self.req(node, Method::GET, "/ready").send().await.unwrap();
        (res.status(), res.json().await.unwrap())
    }

    /// Uploads `bytes` and activates it for `order_type` with `config`; returns its sha256.
    pub async fn activate(
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

pub fn grocery() -> Vec<u8> {
    trolley::demo::BUNDLED_PLUGINS[0].1.to_vec()
}
