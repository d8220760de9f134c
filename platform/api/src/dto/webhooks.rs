//! Webhook endpoints and their delivery logs (SPEC §11).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use trolley_core::domain::{Delivery, DeliveryAttempt, DeliveryStatus, EventType, WebhookEndpoint};
use trolley_core::service::relay::RelayRound;
use trolley_core::service::{NewWebhook, WebhookPatch};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// Where deliveries are POSTed: `https` on a public address.
    #[schema(example = "https://hooks.example.com/trolley")]
    pub url: String,
    /// The event types delivered (e.g. `["checkout.completed", "order.placed"]`); omitted
    /// or `null`: every type.
    pub event_types: Option<Vec<String>>,
    /// Up to 500 characters, for the tenant's own records.
    pub description: Option<String>,
}

impl From<CreateWebhookRequest> for NewWebhook {
    fn from(r: CreateWebhookRequest) -> Self {
        Self {
            url: r.url,
            event_types: r.event_types,
            description: r.description,
        }
    }
}

/// Absent fields keep their value; `event_types: null` delivers every type again;
/// `enabled: true` also resumes an endpoint Trolley paused.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchWebhookRequest {
    pub url: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub event_types: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

/// A field that is present (even as `null`) is `Some`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl From<PatchWebhookRequest> for WebhookPatch {
    fn from(r: PatchWebhookRequest) -> Self {
        Self {
            url: r.url,
            event_types: r.event_types,
            description: r.description,
            enabled: r.enabled,
        }
    }
}

/// An endpoint as listed: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookResponse {
    pub webhook_id: Uuid,
    pub url: String,
    /// `null`: every type.
    pub event_types: Option<Vec<String>>,
    pub description: Option<String>,
    /// The tenant's switch.
    pub enabled: bool,
    /// Set when Trolley paused the endpoint after a day of failed deliveries: why, and how
    /// to resume. Its deliveries wait meanwhile.
    pub paused_reason: Option<String>,
    /// Since when every attempt has failed; `null` while deliveries succeed.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still signs beside the current one.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn type_names(types: &Option<Vec<EventType>>) -> Option<Vec<String>> {
    types
        .as_ref()
        .map(|types| types.iter().map(|t| t.as_str().to_owned()).collect())
}

impl From<&WebhookEndpoint> for WebhookResponse {
    fn from(e: &WebhookEndpoint) -> Self {
        Self {
            webhook_id: e.id.0,
            url: e.url.clone(),
            event_types: type_names(&e.event_types),
            description: e.description.clone(),
            enabled: e.enabled,
            paused_reason: e.paused_reason.clone(),
            failing_since: e.failing_since,
            previous_secret_expires_at: e.previous_secret.as_ref().map(|(_, until)| *until),
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// An endpoint with its signing secret: the answer to a create or a rotation, the only
/// times the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecretResponse {
    #[serde(flatten)]
    pub endpoint: WebhookResponse,
    /// `whsec_` + base64 key (Standard Webhooks): verify `webhook-signature` with it.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

impl From<&WebhookEndpoint> for WebhookWithSecretResponse {
    fn from(e: &WebhookEndpoint) -> Self {
        Self {
            endpoint: WebhookResponse::from(e),
            secret: e.secret.expose().to_owned(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookListResponse {
    pub webhooks: Vec<WebhookResponse>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatusDto {
    Pending,
    Delivered,
    Dead,
}

impl From<DeliveryStatus> for DeliveryStatusDto {
    fn from(s: DeliveryStatus) -> Self {
        match s {
            DeliveryStatus::Pending => Self::Pending,
            DeliveryStatus::Delivered => Self::Delivered,
            DeliveryStatus::Dead => Self::Dead,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptResponse {
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status; `null` when it did not answer.
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    /// Why it failed; `null` for a 2xx.
    pub error: Option<String>,
    /// The first 1 KiB of the receiver's answer.
    pub response_excerpt: Option<String>,
}

impl From<&DeliveryAttempt> for AttemptResponse {
    fn from(a: &DeliveryAttempt) -> Self {
        Self {
            at: a.at,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            error: a.error.clone(),
            response_excerpt: a.response_excerpt.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryResponse {
    pub delivery_id: Uuid,
    /// The event's id (the `webhook-id` header).
    pub event_id: Uuid,
    pub event_type: String,
    /// `kind:id`, e.g. `cart:0193…`.
    pub subject: String,
    pub sequence: i64,
    pub status: DeliveryStatusDto,
    /// When it is tried next, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Oldest first.
    pub attempts: Vec<AttemptResponse>,
}

impl From<&Delivery> for DeliveryResponse {
    fn from(d: &Delivery) -> Self {
        Self {
            delivery_id: d.id.0,
            event_id: d.event_id,
            event_type: d.event_type.as_str().to_owned(),
            subject: format!("{}:{}", d.subject.kind.as_str(), d.subject.id),
            sequence: d.sequence,
            status: d.status.into(),
            next_attempt_at: d.next_attempt_at,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
            attempts: d.attempts.iter().map(AttemptResponse::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPageResponse {
    /// Newest first.
    pub deliveries: Vec<DeliveryResponse>,
    /// Pass as `before` for the next (older) page; `null` on the last page.
    pub next_before: Option<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// 1–100 (default 20).
    pub limit: Option<u64>,
    /// A `delivery_id`: deliveries older than it.
    pub before: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// Every event since this time that Trolley still keeps (the tenant's
    /// `event_retention_days`, 7 by default) is delivered again.
    pub since: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayResponse {
    /// New deliveries queued.
    pub queued: u64,
}

/// What one relay round did (on this node).
#[derive(Debug, Serialize, ToSchema)]
pub struct RelayResponse {
    pub dispatched: u64,
    pub delivered: u64,
    pub failed: u64,
    pub dead: u64,
    pub published: u64,
    pub publish_failures: u64,
    pub purged: u64,
}

impl From<RelayRound> for RelayResponse {
    fn from(r: RelayRound) -> Self {
        Self {
            dispatched: r.dispatched,
            delivered: r.delivered,
            failed: r.failed,
            dead: r.dead,
            published: r.published,
            publish_failures: r.publish_failures,
            purged: r.purged,
        }
    }
}
