//! PostgreSQL stopped under a running node (issue 13): requests answer fast with
//! `503 database_unavailable` and `Retry-After` instead of hanging, `/ready` says why, and
//! when PostgreSQL comes back the node recovers by itself with nothing acknowledged lost.
//!
//! The test runs a PostgreSQL cluster of its own (`initdb` + `pg_ctl` on a spare port, as
//! the `postgres` user when run as root), so stopping it disturbs nothing else. It needs the
//! PostgreSQL server binaries (`TROLLEY_PG_BIN`, else `pg_config --bindir`, else the newest
//! `/usr/lib/postgresql/*/bin`) and fails loudly without them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

const OPERATOR: &str = "outage-operator-token";

fn pg_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("TROLLEY_PG_BIN") {
        return PathBuf::from(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|d| d.join("initdb").exists());
    versions.sort();
    versions.pop().expect(
        "the PostgreSQL server binaries (initdb, pg_ctl) are required for the outage test: \
         install postgresql or set TROLLEY_PG_BIN",
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A throwaway PostgreSQL cluster on its own port.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Cluster {
    fn command(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        if self.as_postgres {
            // initdb and postgres refuse to run as root.
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        }
    }

    fn init() -> Self {
        let dir =
            std::env::temp_dir().join(format!("trolley-outage-pg-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let cluster = Cluster {
            bin: pg_bin(),
            dir,
            port: common::free_port(),
            as_postgres: is_root(),
        };
        if cluster.as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&cluster.dir)
                .status()
                .unwrap();
            assert!(ok.success(), "chown to postgres failed");
        }
        let out = cluster
            .command("initdb")
            .args(["-A", "trust", "-U", "postgres", "-D"])
            .arg(cluster.data())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn start(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.dir.display()
        );
        let out = self
            .command("pg_ctl")
            .args(["-w", "-t", "30", "-D"])
            .arg(self.data())
            .args(["-o", &options, "-l"])
            .arg(self.dir.join("log"))
            .arg("start")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A fast shutdown: the server ends every session and stops listening.
    fn stop(&self) {
        self.command("pg_ctl")
            .args(["-w", "-m", "fast", "-D"])
            .arg(self.data())
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok();
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

struct Node {
    base: String,
    child: Child,
}

impl Node {
    async fn start(database_url: &str, data_dir: &Path) -> Self {
        let port = common::free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_trolley"))
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .env("DATABASE_URL", database_url)
            .env_remove("REDIS_URL")
            .env_remove("TROLLEY_DB_ACQUIRE_TIMEOUT_MS")
            .env("TROLLEY_OPERATOR_TOKEN", OPERATOR)
            .env("TROLLEY_SWEEP_INTERVAL_SECS", "0")
            .env("TROLLEY_WORKERS", "2")
            .env("RUST_LOG", "off")
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

/// One storefront call, timed.
async fn timed(req: reqwest::RequestBuilder) -> (StatusCode, Option<String>, Value, Duration) {
    let started = Instant::now();
    let res = req.timeout(Duration::from_secs(30)).send().await.unwrap();
    let status = res.status();
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = res.json().await.unwrap_or(Value::Null);
    (status, retry_after, body, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_outage_answers_fast_503s_and_recovers_by_itself() {
    let cluster = Cluster::init();
    cluster.start();
    let admin = Database::connect(cluster.url("postgres")).await.unwrap();
    admin
        .execute_unprepared("CREATE DATABASE trolley")
        .await
        .unwrap();
    admin.close().await.ok();
    let data_dir = cluster.dir.join("node");
    std::fs::create_dir_all(&data_dir).unwrap();
    let node = Node::start(&cluster.url("trolley"), &data_dir).await;
    let http = reqwest::Client::new();

    // A tenant, an item, a guest cart with a few acknowledged lines.
    let t: Value = http
        .post(format!("{}/v1/platform/tenants", node.base))
        .bearer_auth(OPERATOR)
        .json(&json!({"name": "Outage", "currency": "USD"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (sf, admin_key) = (
        t["storefront_key"].as_str().unwrap().to_owned(),
        t["admin_key"].as_str().unwrap().to_owned(),
    );
    let res = http
        .put(format!("{}/v1/admin/catalog/items/PEN", node.base))
        .bearer_auth(&admin_key)
        .json(&json!({"price": "1.00", "category": "office"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cart: Value = http
        .post(format!("{}/v1/carts", node.base))
        .header("X-Api-Key", &sf)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (cart_id, token) = (
        cart["cart_id"].as_str().unwrap().to_owned(),
        cart["cart_token"].as_str().unwrap().to_owned(),
    );
    let add = |op: &str| {
        http.post(format!("{}/v1/carts/{cart_id}/lines", node.base))
            .header("X-Api-Key", &sf)
            .header("X-Cart-Token", &token)
            .header("Idempotency-Key", op)
            .json(&json!({"sku": "PEN", "quantity": 1, "attributes": {"op": op}}))
    };
    let read = || {
        http.get(format!("{}/v1/carts/{cart_id}", node.base))
            .header("X-Api-Key", &sf)
            .header("X-Cart-Token", &token)
    };
    for op in ["before-1", "before-2", "before-3"] {
        let (status, _, body, _) = timed(add(op)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    // PostgreSQL goes away.
    cluster.stop();
    let outage_started = Instant::now();
    let mut slowest = Duration::ZERO;
    let (mut answered, mut served_from_cache) = (0, 0);
    while outage_started.elapsed() < Duration::from_secs(4) {
        for (req, write) in [(read(), false), (add(&format!("during-{answered}")), true)] {
            let (status, retry_after, body, took) = timed(req).await;
            slowest = slowest.max(took);
            // A read the node can serve from its cart cache may still answer, until the
            // first request that needed the database closes the gate.
            if !write && status == StatusCode::OK {
                served_from_cache += 1;
                continue;
            }
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
            assert_eq!(body["code"], "database_unavailable", "{body}");
            assert_eq!(retry_after.as_deref(), Some("1"));
            answered += 1;
        }
    }
    let started = Instant::now();
    let res = http
        .get(format!("{}/ready", node.base))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    let ready_took = started.elapsed();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let ready: Value = res.json().await.unwrap();
    assert_eq!(ready["status"], "unavailable");
    assert_ne!(ready["checks"]["database"], "ok", "{ready}");
    // Never a hang: before this work a request waited out the pool (5 s and more).
    assert!(
        slowest < Duration::from_secs(3) && ready_took < Duration::from_secs(3),
        "slowest answer {slowest:?}, /ready {ready_took:?}"
    );

    // PostgreSQL is back: the node recovers without a restart.
    cluster.start();
    let back = Instant::now();
    loop {
        let res = http
            .get(format!("{}/ready", node.base))
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::OK {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(30),
            "the node did not recover"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recovered_in = back.elapsed();
    let (status, _, body, _) = timed(add("after-1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, cart, _) = timed(read()).await;
    assert_eq!(status, StatusCode::OK);
    let ops: Vec<&str> = cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["attributes"]["op"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["before-1", "before-2", "before-3", "after-1"]);
    println!(
        "outage: {answered} requests answered 503 database_unavailable ({served_from_cache} \
         reads served from the cache), slowest {slowest:?}; \
         /ready {ready_took:?}; ready again {recovered_in:?} after PostgreSQL started"
    );
}
