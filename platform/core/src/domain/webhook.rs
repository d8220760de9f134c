//! Tenant webhook endpoints and their deliveries (SPEC §11): what a URL may be, how a secret
//! looks, and when a failed delivery is tried again.
//!
//! Decisions:
//! - A URL must be `https` on a public address; `allow_private` (the operator's
//!   `TROLLEY_WEBHOOK_ALLOW_PRIVATE=1`) also admits `http` and private, loopback and
//!   link-local addresses. Literal addresses are judged here; host names are resolved and
//!   judged by the sender before every delivery (so DNS cannot later point them inside).
//! - A delivery is retried with exponential backoff and ±20% jitter for up to 24 h after its
//!   event, then it is dead. An endpoint whose deliveries have all failed for 24 h is paused
//!   with the reason; its pending deliveries wait until the tenant enables it again.
//! - Rotating a secret keeps the old one signing beside the new one for an overlap window
//!   (the Standard Webhooks header carries several signatures), so receivers can switch
//!   without losing a delivery.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use std::net::IpAddr;
use uuid::Uuid;

use super::event::{EventType, Subject};
use super::ids::{DeliveryId, TenantId, WebhookId};

/// How long a delivery is retried, counted from its event.
pub const RETRY_WINDOW: Duration = Duration::hours(24);
/// How long an endpoint may fail every delivery before it is paused.
pub const PAUSE_AFTER: Duration = Duration::hours(24);
/// How long a rotated-out secret keeps signing beside the new one.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);
/// The longest URL an endpoint may have.
pub const MAX_URL_LEN: usize = 2048;
/// The longest description.
pub const MAX_DESCRIPTION_LEN: usize = 500;
/// Endpoints one tenant may have.
pub const MAX_ENDPOINTS_PER_TENANT: usize = 20;
/// How much of a receiver's answer is kept in the delivery log.
pub const RESPONSE_EXCERPT_BYTES: usize = 1024;

/// A signing secret: `whsec_` + base64 of 32 random bytes (the Standard Webhooks form).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(Uuid::new_v4().as_bytes());
        Self(format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(key)
        ))
    }

    /// A secret as stored; `None` when it is not of the `whsec_` form.
    pub fn from_stored(s: &str) -> Option<Self> {
        let key = s.strip_prefix("whsec_")?;
        base64::engine::general_purpose::STANDARD
            .decode(key)
            .ok()
            .filter(|k| !k.is_empty())?;
        Some(Self(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The HMAC key: the bytes after `whsec_`.
    pub fn key(&self) -> Vec<u8> {
        let b64 = self.0.strip_prefix("whsec_").unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

/// A tenant's webhook endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEndpoint {
    pub id: WebhookId,
    pub tenant_id: TenantId,
    pub url: String,
    /// The types delivered; `None` delivers every type.
    pub event_types: Option<Vec<EventType>>,
    pub description: Option<String>,
    /// The tenant's switch: a disabled endpoint gets no deliveries for what happens while
    /// it is off.
    pub enabled: bool,
    /// Why Trolley paused it, when it did: it keeps its deliveries, but none is tried until
    /// the tenant enables it again.
    pub paused_reason: Option<String>,
    pub secret: WebhookSecret,
    /// The secret before the last rotation, still signing until the given time.
    pub previous_secret: Option<(WebhookSecret, DateTime<Utc>)>,
    /// Since when every attempt has failed (`None` after any success).
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WebhookEndpoint {
    pub fn wants(&self, event_type: EventType) -> bool {
        self.event_types
            .as_ref()
            .is_none_or(|types| types.contains(&event_type))
    }

    /// The secrets a delivery at `now` is signed with: the current one, and the previous
    /// one while its overlap lasts.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<WebhookSecret> {
        let mut secrets = vec![self.secret.clone()];
        if let Some((old, until)) = &self.previous_secret
            && *until > now
        {
            secrets.push(old.clone());
        }
        secrets
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not yet acknowledged; tried again at `next_attempt_at`.
    Pending,
    Delivered,
    /// Retried for [`RETRY_WINDOW`] without success; never tried again unless redelivered.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Dead]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// One try of a delivery, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryAttempt {
    pub at: DateTime<Utc>,
    /// The receiver's status, when it answered.
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    /// Why it failed, when it did (timeout, connection refused, non-2xx …).
    pub error: Option<String>,
    /// The first [`RESPONSE_EXCERPT_BYTES`] of the receiver's answer.
    pub response_excerpt: Option<String>,
}

impl DeliveryAttempt {
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.status_code.is_some_and(|s| (200..300).contains(&s))
    }
}

/// One event's delivery to one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub tenant_id: TenantId,
    pub webhook_id: WebhookId,
    pub event_id: Uuid,
    pub event_type: EventType,
    pub subject: Subject,
    pub sequence: i64,
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub attempts: Vec<DeliveryAttempt>,
}

/// When to try again after `failed_attempts` failures of a delivery made at `created_at`,
/// or `None` when its retry window is over (it is dead). `jitter` in `[0, 1)` spreads
/// retries of many deliveries (±20%).
pub fn next_attempt(
    failed_attempts: u32,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
    jitter: f64,
) -> Option<DateTime<Utc>> {
    // 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, then every 2 h … up to 24 h.
    const STEPS: [i64; 6] = [5, 30, 120, 600, 1_800, 3_600];
    let base = STEPS
        .get(failed_attempts.saturating_sub(1) as usize)
        .copied()
        .unwrap_or(7_200);
    let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    let delay = Duration::milliseconds((base as f64 * 1_000.0 * factor) as i64);
    let at = now + delay;
    (at - created_at <= RETRY_WINDOW).then_some(at)
}

/// Why a webhook URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    #[error("url must be an absolute https URL (e.g. https://hooks.example.com/trolley)")]
    NotHttps,
    #[error("url is longer than {MAX_URL_LEN} characters")]
    TooLong,
    #[error("url has no host")]
    NoHost,
    #[error("url must not carry credentials (user:password@)")]
    Credentials,
    #[error(
        "url points at {0}, a private, loopback or link-local address; webhooks go to public \
         addresses (the operator can allow private ones with TROLLEY_WEBHOOK_ALLOW_PRIVATE=1)"
    )]
    Private(String),
}

/// Checks a webhook URL's form and, for a literal address or `localhost`, where it points.
pub fn check_url(url: &str, allow_private: bool) -> Result<(), UrlRefused> {
    if url.len() > MAX_URL_LEN {
        return Err(UrlRefused::TooLong);
    }
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if allow_private && let Some(rest) = url.strip_prefix("http://") {
        rest
    } else {
        return Err(UrlRefused::NotHttps);
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UrlRefused::NotHttps);
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(UrlRefused::Credentials);
    }
    let host = host_of(authority);
    if host.is_empty() {
        return Err(UrlRefused::NoHost);
    }
    if allow_private {
        return Ok(());
    }
    let lower = host.to_ascii_lowercase();
    if lower == "localhost" || lower.ends_with(".localhost") {
        return Err(UrlRefused::Private(host.to_owned()));
    }
    if let Ok(ip) = host.parse::<IpAddr>()
        && !is_public(ip)
    {
        return Err(UrlRefused::Private(host.to_owned()));
    }
    Ok(())
}

/// The host of an authority (`host`, `host:port`, `[v6]:port`), without brackets.
pub fn host_of(authority: &str) -> &str {
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default();
    }
    authority.split(':').next().unwrap_or_default()
}

/// Whether an address is on the public internet: not private, loopback, link-local,
/// unspecified, shared (CGNAT), documentation, multicast or broadcast.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_and_public() {
        assert!(check_url("https://hooks.example.com/x", false).is_ok());
        assert_eq!(
            check_url("http://hooks.example.com/x", false),
            Err(UrlRefused::NotHttps)
        );
        assert!(matches!(
            check_url("https://127.0.0.1:8080/x", false),
            Err(UrlRefused::Private(_))
        ));
        assert!(matches!(
            check_url("https://[::1]/x", false),
            Err(UrlRefused::Private(_))
        ));
        assert!(matches!(
            check_url("https://10.1.2.3/x", false),
            Err(UrlRefused::Private(_))
        ));
        assert!(matches!(
            check_url("https://localhost/x", false),
            Err(UrlRefused::Private(_))
        ));
        assert_eq!(
            check_url("https://a:b@example.com/", false),
            Err(UrlRefused::Credentials)
        );
        assert_eq!(check_url("https:///x", false), Err(UrlRefused::NoHost));
        assert!(check_url("http://127.0.0.1:9/x", true).is_ok());
        assert_eq!(check_url("ftp://x", true), Err(UrlRefused::NotHttps));
    }

    #[test]
    fn retries_back_off_and_stop_after_a_day() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        let first = next_attempt(1, t0, t0, 0.5).expect("retried");
        assert_eq!(first - t0, Duration::seconds(5));
        let later = next_attempt(3, t0, t0, 0.0).expect("retried");
        assert_eq!(later - t0, Duration::seconds(96));
        assert!(next_attempt(20, t0, t0 + Duration::hours(23), 0.5).is_none());
    }

    #[test]
    fn secrets_are_standard_webhooks_keys() {
        let secret = WebhookSecret::generate();
        assert!(secret.expose().starts_with("whsec_"));
        assert_eq!(secret.key().len(), 32);
        assert_eq!(WebhookSecret::from_stored(secret.expose()), Some(secret));
        assert_eq!(WebhookSecret::from_stored("nope"), None);
        assert!(!format!("{:?}", WebhookSecret::generate()).contains("whsec_"));
    }
}
