//! The JSON log lines of a real `trolley serve` process: written by the log thread (not the
//! worker that served the request), each request's line carrying its request id under the
//! `trolley::access` target, and that target alone switched off by `RUST_LOG` while every
//! other line logged inside a request keeps the id.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

const OPERATOR: &str = "logs-operator-token";

/// A server on the embedded default whose stderr goes to a file the test reads.
struct Node {
    base: String,
    child: Child,
    dir: PathBuf,
}

impl Node {
    async fn start(rust_log: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("trolley-logs-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let stderr = std::fs::File::create(dir.join("stderr.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_trolley"))
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(&dir)
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env("TROLLEY_OPERATOR_TOKEN", OPERATOR)
            .env("TROLLEY_SWEEP_INTERVAL_SECS", "0")
            .env("TROLLEY_WORKERS", "1")
            .env("RUST_LOG", rust_log)
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap();
        let mut node = Node {
            base: format!("http://127.0.0.1:{port}"),
            child,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(res) = reqwest::get(format!("{}/health", node.base)).await
                && res.status().is_success()
            {
                return node;
            }
            if let Some(status) = node.child.try_wait().unwrap() {
                panic!("trolley serve exited with {status}");
            }
            assert!(Instant::now() < deadline, "trolley serve did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Creates a tenant (which logs `tenant created` inside the request) under `request_id`.
    async fn create_tenant(&self, request_id: &str) {
        let res = reqwest::Client::new()
            .post(format!("{}/v1/platform/tenants", self.base))
            .bearer_auth(OPERATOR)
            .header("x-request-id", request_id)
            .json(&json!({"name": "Logs", "currency": "USD"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::CREATED);
    }

    /// The JSON lines logged so far.
    fn lines(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("stderr.log"))
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    /// Waits (the log thread writes on its own schedule) for a line `matches` accepts.
    async fn wait_for(&self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(line) = self.lines().into_iter().find(&matches) {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no log line {what} in:\n{:#?}",
                self.lines()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

fn in_request(line: &Value, request_id: &str) -> bool {
    line["spans"][0]["request_id"] == request_id
}

fn is_access(line: &Value) -> bool {
    line["target"] == "trolley::access"
}

#[tokio::test]
async fn every_request_logs_one_access_line_with_its_id() {
    let node = Node::start("info").await;
    node.create_tenant("logs-access-1").await;

    let access = node
        .wait_for("for the request", |l| {
            is_access(l) && in_request(l, "logs-access-1")
        })
        .await;
    assert_eq!(access["fields"]["message"], "request finished");
    assert_eq!(access["fields"]["status"], 201);
    assert_eq!(access["spans"][0]["route"], "/v1/platform/tenants");
    let inner = node
        .wait_for("from inside the request", |l| {
            l["fields"]["message"] == "tenant created"
        })
        .await;
    assert!(in_request(&inner, "logs-access-1"), "{inner}");
}

#[tokio::test]
async fn the_access_lines_alone_can_be_switched_off() {
    let node = Node::start("info,trolley::access=warn").await;
    node.create_tenant("logs-quiet-1").await;

    // The line logged inside the request still carries the request id...
    let inner = node
        .wait_for("from inside the request", |l| {
            l["fields"]["message"] == "tenant created"
        })
        .await;
    assert!(in_request(&inner, "logs-quiet-1"), "{inner}");
    // ...and a later request's line would have been written by now had it been logged:
    // lines leave in order, so one logged after it shows the queue has drained.
    node.create_tenant("logs-quiet-2").await;
    node.wait_for("for the second tenant", |l| {
        l["fields"]["message"] == "tenant created" && in_request(l, "logs-quiet-2")
    })
    .await;
    let access: Vec<Value> = node.lines().into_iter().filter(is_access).collect();
    assert!(access.is_empty(), "access lines were logged: {access:#?}");
}
