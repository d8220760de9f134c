//! A tiny HTTP receiver and event builders.

use chrono::{DateTime, TimeZone, Utc};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use trolley_core::domain::{Event, EventType, Subject, SubjectKind, TenantId};

/// An event of `tenant` as the outbox would hand it over.
pub fn event(tenant: TenantId) -> Event {
    Event {
        id: uuid::Uuid::now_v7(),
        event_type: EventType::CartLineAdded,
        tenant_id: tenant,
        subject: Subject {
            kind: SubjectKind::Cart,
            id: uuid::Uuid::now_v7().to_string(),
        },
        sequence: 7,
        occurred_at: Utc::now(),
        schema_version: 1,
        data: serde_json::json!({ "change": { "sku": "APPLE-1", "quantity": 2 } }),
    }
}

/// A fixed moment, so the timestamp header is predictable.
pub fn timestamp() -> DateTime<Utc> {
    Utc.timestamp_opt(1_767_225_600, 0).single().expect("valid")
}

/// How the receiver answers.
#[derive(Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub extra_headers: Vec<(String, String)>,
    /// Waits this long before answering.
    pub delay: Duration,
}

impl Answer {
    pub fn status(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.as_bytes().to_vec(),
            extra_headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }
}

/// A request the receiver got.
#[derive(Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Lower-cased names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// An HTTP/1.1 receiver on 127.0.0.1 answering every request with `answer`.
pub struct Receiver {
    pub addr: SocketAddr,
    pub requests: mpsc::UnboundedReceiver<Received>,
}

impl Receiver {
    pub async fn start(answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, requests) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let tx = tx.clone();
                let answer = answer.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, answer, tx).await;
                });
            }
        });
        Self { addr, requests }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next request, or `None` when none came within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<Received> {
        tokio::time::timeout(wait, self.requests.recv())
            .await
            .ok()
            .flatten()
    }
}

async fn serve(
    mut stream: TcpStream,
    answer: Answer,
    tx: mpsc::UnboundedSender<Received>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let path = request_line.next().unwrap_or_default().to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let _ = tx.send(Received {
        method,
        path,
        headers,
        body,
    });

    tokio::time::sleep(answer.delay).await;
    let mut response = format!(
        "HTTP/1.1 {} Whatever\r\ncontent-length: {}\r\nconnection: close\r\n",
        answer.status,
        answer.body.len()
    );
    for (name, value) in &answer.extra_headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    stream.write_all(response.as_bytes()).await?;
    // A receiver may hang up before a large body is read: that is the sender's choice.
    let _ = stream.write_all(&answer.body).await;
    let _ = stream.shutdown().await;
    Ok(())
}
