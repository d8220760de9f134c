//! Webhook deliveries over HTTP(S): a signed POST per attempt, judged by its status.
//!
//! Decisions:
//! - Unless the operator allows private receivers, a receiver's host is resolved before each
//!   attempt and the attempt is refused when any address is not public. The client's own
//!   resolver applies the same rule when it connects, so a name that re-resolves to an
//!   inside address between the check and the connection (DNS rebinding) is still refused.
//! - Redirects are not followed (a 3xx is a failed attempt) and environment proxies are not
//!   used: either would send the request somewhere the address check never saw.
//! - Only the first [`RESPONSE_EXCERPT_BYTES`] of an answer are read; a receiver cannot make
//!   a delivery read an unbounded body.
//! - Logs and errors name the host and the event, never the URL's path or query (receivers
//!   put tokens there) and never a secret.

use async_trait::async_trait;
use chrono::Utc;
use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trolley_core::domain::DeliveryAttempt;
use trolley_core::domain::webhook::{RESPONSE_EXCERPT_BYTES, host_of, is_public};
use trolley_core::ports::{WebhookRequest, WebhookSender};

use crate::signature::signature_header;

/// The `user-agent` of every delivery.
pub const USER_AGENT: &str = "Trolley-Webhooks/1";

/// Sends webhook deliveries with one shared connection pool.
#[derive(Debug, Clone)]
pub struct HttpWebhookSender {
    client: reqwest::Client,
    allow_private: bool,
}

impl HttpWebhookSender {
    /// A sender; `allow_private` (the operator's `TROLLEY_WEBHOOK_ALLOW_PRIVATE=1`) lets
    /// deliveries go to private, loopback and link-local addresses.
    pub fn new(allow_private: bool) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {}", chain(&e)))?;
        Ok(Self {
            client,
            allow_private,
        })
    }

    async fn post(&self, request: &WebhookRequest<'_>) -> Result<Answer, String> {
        let timestamp = request.timestamp.timestamp();
        let msg_id = request.event.id.to_string();
        let signature = signature_header(request.secrets, &msg_id, timestamp, request.body);
        let mut response = self
            .client
            .post(request.url)
            .timeout(request.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", msg_id.as_str())
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(request.body.to_vec())
            .send()
            .await
            .map_err(|e| describe(e, request.timeout))?;
        let latency = Instant::now();
        let status = response.status();
        let excerpt = read_excerpt(&mut response).await;
        Ok(Answer {
            status: status.as_u16(),
            excerpt,
            answered_at: latency,
        })
    }
}

/// What a receiver answered.
struct Answer {
    status: u16,
    excerpt: Option<String>,
    /// When its status line and headers arrived: the attempt's latency ends there.
    answered_at: Instant,
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    #[tracing::instrument(
        name = "webhook.send",
        skip_all,
        fields(event_id = %request.event.id, tenant_id = %request.event.tenant_id, host, status)
    )]
    async fn send(&self, request: WebhookRequest<'_>) -> DeliveryAttempt {
        let at = Utc::now();
        let started = Instant::now();
        let latency_ms = |until: Instant| {
            i64::try_from(until.duration_since(started).as_millis()).unwrap_or(i64::MAX)
        };
        let failed = |error: String| DeliveryAttempt {
            at,
            status_code: None,
            latency_ms: latency_ms(Instant::now()),
            error: Some(error),
            response_excerpt: None,
        };

        let target = match Target::parse(request.url) {
            Ok(target) => target,
            Err(e) => return failed(e),
        };
        tracing::Span::current().record("host", target.host.as_str());
        if !self.allow_private
            && let Err(e) = target.check_public().await
        {
            tracing::warn!(error = %e, "webhook delivery refused");
            return failed(e);
        }

        match self.post(&request).await {
            Ok(answer) => {
                tracing::Span::current().record("status", answer.status);
                let error = match answer.status {
                    200..=299 => None,
                    300..=399 => Some(format!(
                        "receiver answered {}; redirects are not followed",
                        answer.status
                    )),
                    status => Some(format!("receiver answered {status}")),
                };
                DeliveryAttempt {
                    at,
                    status_code: Some(answer.status),
                    latency_ms: latency_ms(answer.answered_at),
                    error,
                    response_excerpt: answer.excerpt,
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "webhook delivery failed");
                failed(e)
            }
        }
    }

    #[tracing::instrument(name = "webhook.check_destination", skip_all, fields(host))]
    async fn check_destination(&self, url: &str) -> Result<(), String> {
        let target = Target::parse(url)?;
        tracing::Span::current().record("host", target.host.as_str());
        if self.allow_private {
            return Ok(());
        }
        target.check_public().await
    }
}

/// Where a webhook URL points.
struct Target {
    host: String,
    port: u16,
}

impl Target {
    fn parse(url: &str) -> Result<Self, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("invalid url: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "invalid url: scheme {} is not http or https",
                parsed.scheme()
            ));
        }
        let host = host_of(parsed.host_str().unwrap_or_default()).to_owned();
        if host.is_empty() {
            return Err("invalid url: it has no host".to_owned());
        }
        let port = parsed.port_or_known_default().unwrap_or(443);
        Ok(Self { host, port })
    }

    /// Resolves the host; an error when it does not resolve or any address is not public.
    async fn check_public(&self) -> Result<(), String> {
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            return public(&self.host, ip);
        }
        resolve_public(&self.host, self.port).await.map(drop)
    }
}

/// `host`'s addresses, when every one is public.
async fn resolve_public(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("{host} does not resolve: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{host} does not resolve to any address"));
    }
    for addr in &addrs {
        public(host, addr.ip())?;
    }
    Ok(addrs)
}

fn public(host: &str, ip: IpAddr) -> Result<(), String> {
    if is_public(ip) {
        return Ok(());
    }
    let what = if host == ip.to_string() {
        format!("{ip} is")
    } else {
        format!("{host} resolves to {ip},")
    };
    Err(format!(
        "refused: {what} a private address (private, loopback, link-local or otherwise not \
         public); webhooks go to public addresses (the operator can allow private ones with \
         TROLLEY_WEBHOOK_ALLOW_PRIVATE=1)"
    ))
}

/// The client's resolver when private receivers are not allowed: the same rule as the
/// check before each attempt, applied to the addresses it really connects to.
struct PublicOnlyResolver;

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: reqwest puts in the URL's port.
            match resolve_public(&host, 0).await {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs),
                Err(e) => Err(Box::new(Refused(e)) as Box<dyn StdError + Send + Sync>),
            }
        })
    }
}

/// A connection the resolver would not make.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Refused {}

/// Reads the start of the answer, at most [`RESPONSE_EXCERPT_BYTES`] plus one chunk.
async fn read_excerpt(response: &mut reqwest::Response) -> Option<String> {
    let mut bytes = Vec::new();
    while bytes.len() < RESPONSE_EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            // The end, or a body cut short or too slow: the status still stands.
            Ok(None) | Err(_) => break,
        }
    }
    bytes.truncate(RESPONSE_EXCERPT_BYTES);
    (!bytes.is_empty()).then(|| String::from_utf8_lossy(&bytes).into_owned())
}

/// A failed request in words a tenant can act on.
fn describe(error: reqwest::Error, timeout: Duration) -> String {
    let error = error.without_url();
    if error.is_timeout() {
        return format!("timed out after {}", seconds(timeout));
    }
    let mut source: Option<&(dyn StdError + 'static)> = error.source();
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return refused.0.clone();
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".to_owned(),
                std::io::ErrorKind::ConnectionReset => return "connection reset".to_owned(),
                std::io::ErrorKind::TimedOut => {
                    return format!("timed out after {}", seconds(timeout));
                }
                _ => {}
            }
        }
        source = e.source();
    }
    if error.is_connect() {
        format!("could not connect: {}", chain(&error))
    } else {
        format!("request failed: {}", chain(&error))
    }
}

/// An error with its causes, `outer: inner: …`.
fn chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let cause = e.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = e.source();
    }
    text
}

fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_keep_the_host_and_port() {
        let t = Target::parse("https://hooks.example.com/x?token=1").expect("valid");
        assert_eq!((t.host.as_str(), t.port), ("hooks.example.com", 443));
        let t = Target::parse("http://[::1]:8080/x").expect("valid");
        assert_eq!((t.host.as_str(), t.port), ("::1", 8080));
        assert!(Target::parse("ftp://example.com/").is_err());
        assert!(Target::parse("not a url").is_err());
    }

    #[tokio::test]
    async fn literal_private_addresses_are_refused() {
        let t = Target::parse("https://10.1.2.3/x").expect("valid");
        let e = t.check_public().await.expect_err("private");
        assert!(
            e.starts_with("refused: 10.1.2.3 is a private address"),
            "{e}"
        );
        let t = Target::parse("https://[::1]/x").expect("valid");
        assert!(t.check_public().await.is_err());
        let t = Target::parse("https://93.184.215.14/x").expect("valid");
        assert!(t.check_public().await.is_ok());
    }

    /// The resolver is the guard against a name re-resolving between the check and the
    /// connection: a request that skips the check is still refused when it connects.
    #[tokio::test]
    async fn the_client_itself_refuses_names_that_resolve_inside() {
        let sender = HttpWebhookSender::new(false).expect("client");
        let event = trolley_core::domain::Event {
            id: uuid::Uuid::now_v7(),
            event_type: trolley_core::domain::EventType::CartCreated,
            tenant_id: trolley_core::domain::TenantId::new(),
            subject: trolley_core::domain::Subject::cart(trolley_core::domain::CartId::new()),
            sequence: 1,
            occurred_at: Utc::now(),
            schema_version: 1,
            data: serde_json::json!({}),
        };
        let request = WebhookRequest {
            url: "http://localhost:9/hooks",
            event: &event,
            body: b"{}",
            secrets: &[],
            timestamp: Utc::now(),
            timeout: Duration::from_secs(5),
        };
        let error = sender.post(&request).await.err().expect("refused");
        assert!(
            error.starts_with("refused: localhost resolves to "),
            "{error}"
        );
    }

    #[test]
    fn timeouts_read_in_seconds_or_milliseconds() {
        assert_eq!(seconds(Duration::from_secs(5)), "5 s");
        assert_eq!(seconds(Duration::from_millis(300)), "300 ms");
    }
}
