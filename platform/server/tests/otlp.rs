//! OTLP trace export (`--otlp-endpoint`): the real `trolley serve` process sends its spans
//! as OTLP/HTTP JSON to a fake collector started here, the caller's `traceparent` is the
//! parent of the request span, and spans still queued when the server stops are flushed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::Value;
use uuid::Uuid;

const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";

/// Records the body of every `POST /v1/traces`.
struct Collector {
    address: String,
    received: Arc<Mutex<Vec<Value>>>,
    handle: actix_web::dev::ServerHandle,
}

impl Collector {
    fn start() -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let server = HttpServer::new(move || {
            let store = store.clone();
            App::new().route(
                "/v1/traces",
                web::post().to(move |body: web::Bytes| {
                    let store = store.clone();
                    async move {
                        match serde_json::from_slice::<Value>(&body) {
                            Ok(json) => {
                                store.lock().unwrap().push(json);
                                HttpResponse::Ok()
                                    .content_type("application/json")
                                    .body("{}")
                            }
                            Err(_) => HttpResponse::BadRequest().finish(),
                        }
                    }
                }),
            )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            address,
            received,
            handle,
        }
    }

    /// Every exported span so far, each with its resource's `service.name`.
    fn spans(&self) -> Vec<(String, Value)> {
        let mut spans = Vec::new();
        for export in self.received.lock().unwrap().iter() {
            for resource_spans in export["resourceSpans"].as_array().into_iter().flatten() {
                let service = resource_spans["resource"]["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|a| a["key"] == "service.name")
                    .and_then(|a| a["value"]["stringValue"].as_str())
                    .unwrap_or_default()
                    .to_owned();
                for scope in resource_spans["scopeSpans"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    for span in scope["spans"].as_array().into_iter().flatten() {
                        spans.push((service.clone(), span.clone()));
                    }
                }
            }
        }
        spans
    }

    /// Waits (a bounded while) for the request span of `trace_id`.
    async fn request_span(&self, trace_id: &str) -> Option<(String, Value)> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = self
                .spans()
                .into_iter()
                .find(|(_, s)| s["traceId"] == trace_id && s["name"] == "http.request");
            if found.is_some() || Instant::now() > deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// One `trolley serve` process on the embedded SQLite default, exporting to `collector`.
struct Node {
    base: String,
    child: Child,
    data_dir: PathBuf,
}

impl Node {
    async fn start(collector: &Collector, schedule_delay_ms: u64) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data_dir =
            std::env::temp_dir().join(format!("trolley-otlp-{}", Uuid::new_v4().simple()));
        let child = Command::new(env!("CARGO_BIN_EXE_trolley"))
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--otlp-endpoint", &collector.address])
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .env("OTEL_BSP_SCHEDULE_DELAY", schedule_delay_ms.to_string())
            .env("TROLLEY_OPERATOR_TOKEN", "otlp-operator-token")
            .env("TROLLEY_SWEEP_INTERVAL_SECS", "0")
            .env("TROLLEY_WORKERS", "1")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut node = Node {
            base: format!("http://127.0.0.1:{port}"),
            child,
            data_dir,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(res) = client.get(format!("{}/health", node.base)).send().await
                && res.status().is_success()
            {
                break;
            }
            if let Some(status) = node.child.try_wait().unwrap() {
                panic!("trolley serve exited with {status}");
            }
            assert!(Instant::now() < deadline, "trolley serve did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        node
    }

    /// `GET /health` as part of the caller's trace `trace_id`.
    async fn traced_request(&self, trace_id: &str) {
        // A fresh connection, closed after: nothing keeps the server from stopping.
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let res = client
            .get(format!("{}/health", self.base))
            .header("traceparent", format!("00-{trace_id}-{CALLER_SPAN_ID}-01"))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
    }

    /// Stops the server as an orchestrator would (SIGTERM) and waits for the process to end.
    async fn terminate(&mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "trolley serve did not stop");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
        std::fs::remove_dir_all(&self.data_dir).ok();
    }
}

fn assert_request_span(found: Option<(String, Value)>, trace_id: &str, spans: &[(String, Value)]) {
    let Some((service, span)) = found else {
        panic!("no http.request span of trace {trace_id} among {spans:#?}");
    };
    assert_eq!(service, "trolley");
    // The caller's span is the parent: the request joined the caller's trace.
    assert_eq!(span["parentSpanId"], CALLER_SPAN_ID, "{span:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_the_collector_under_the_callers_trace() {
    let collector = Collector::start();
    // Short batches, so the span is exported while the server runs.
    let mut node = Node::start(&collector, 100).await;
    let trace_id = Uuid::new_v4().simple().to_string();
    node.traced_request(&trace_id).await;
    let found = collector.request_span(&trace_id).await;
    assert_request_span(found, &trace_id, &collector.spans());
    node.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_still_queued_are_flushed_when_the_server_stops() {
    let collector = Collector::start();
    // Batches every ten minutes: only the shutdown flush can deliver the span in time.
    let mut node = Node::start(&collector, 600_000).await;
    let trace_id = Uuid::new_v4().simple().to_string();
    node.traced_request(&trace_id).await;
    node.terminate().await;
    let found = collector.request_span(&trace_id).await;
    assert_request_span(found, &trace_id, &collector.spans());
}
