//! A webhook receiver for tests: a real HTTP server on 127.0.0.1 that records every request
//! and answers with the statuses it is told to (200 once the script runs out), plus an
//! independent check of Standard Webhooks signatures with Python's `hmac`.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::io::Write as _;
use std::sync::{Arc, Mutex};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Hit {
    pub headers: HashMap<String, String>,
    pub body: String,
    /// What the receiver answered.
    pub status: u16,
}

impl Hit {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Inner {
    hits: Vec<Hit>,
    script: VecDeque<u16>,
}

/// A receiver that holds every request until released (or [`HOLD_AT_MOST`] passed).
#[derive(Clone)]
struct Hold {
    released: tokio::sync::watch::Receiver<bool>,
}

/// Below the relay's 5 s timeout, so a held request is answered, not timed out.
pub const HOLD_AT_MOST: std::time::Duration = std::time::Duration::from_secs(4);

pub struct Receiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    handle: actix_web::dev::ServerHandle,
    release: Option<tokio::sync::watch::Sender<bool>>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

async fn record(
    req: HttpRequest,
    body: web::Bytes,
    inner: web::Data<Arc<Mutex<Inner>>>,
    hold: web::Data<Option<Hold>>,
) -> HttpResponse {
    if let Some(hold) = hold.get_ref() {
        let mut released = hold.released.clone();
        let _ = tokio::time::timeout(HOLD_AT_MOST, released.wait_for(|r| *r)).await;
    }
    let mut inner = inner.lock().unwrap();
    let status = inner.script.pop_front().unwrap_or(200);
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    inner.hits.push(Hit {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        status,
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .body(format!("answered {status}"))
}

impl Receiver {
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// A receiver that answers nothing until [`Receiver::release`] (or [`HOLD_AT_MOST`]).
    pub async fn start_holding() -> Self {
        let (release, released) = tokio::sync::watch::channel(false);
        let mut receiver = Self::start_with(Some(Hold { released })).await;
        receiver.release = Some(release);
        receiver
    }

    /// Lets the held requests go.
    pub fn release(&self) {
        if let Some(release) = &self.release {
            let _ = release.send(true);
        }
    }

    /// Whether it was released by the test rather than by its own time limit.
    pub fn released(&self) -> bool {
        self.release.as_ref().is_some_and(|r| *r.borrow())
    }

    async fn start_with(hold: Option<Hold>) -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let data = web::Data::new(inner.clone());
        let hold = web::Data::new(hold);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(hold.clone())
                .default_service(web::to(record))
        })
        .workers(2)
        .bind("127.0.0.1:0")
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}/hooks"),
            inner,
            handle,
            release: None,
        }
    }

    /// The next answers, in order (then 200s again), replacing any not yet given.
    pub fn answer(&self, statuses: &[u16]) {
        self.inner.lock().unwrap().script = statuses.iter().copied().collect();
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.inner.lock().unwrap().hits.clone()
    }

    /// The events it acknowledged (answered 2xx), in arrival order.
    pub fn acknowledged(&self) -> Vec<Value> {
        self.hits()
            .iter()
            .filter(|h| (200..300).contains(&h.status))
            .map(Hit::json)
            .collect()
    }
}

/// Checks every hit's `webhook-signature` against `secret` with Python's standard library
/// (an implementation that shares no code with Trolley's). Panics naming the first bad one.
pub fn verify_with_python(secret: &str, hits: &[Hit]) {
    let cases: Vec<Value> = hits
        .iter()
        .map(|h| {
            json!({
                "id": h.headers["webhook-id"],
                "ts": h.headers["webhook-timestamp"],
                "sig": h.headers["webhook-signature"],
                "body": h.body,
            })
        })
        .collect();
    let script = r#"
import base64, hashlib, hmac, json, sys
data = json.load(sys.stdin)
key = base64.b64decode(data["secret"][len("whsec_"):])
for case in data["cases"]:
    signed = f'{case["id"]}.{case["ts"]}.{case["body"]}'.encode()
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    if expected not in case["sig"].split(" "):
        print("bad signature on", case["id"], case["sig"])
        sys.exit(1)
print("verified", len(data["cases"]))
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 is required to verify webhook signatures independently");
    let input = json!({ "secret": secret, "cases": cases }).to_string();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "python verification failed: {stdout}");
    assert_eq!(stdout.trim(), format!("verified {}", hits.len()));
}
