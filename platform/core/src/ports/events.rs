//! The event seams: webhook endpoints (admin), the outbox as the relay works it, and the
//! two ways events leave (a signed HTTP POST, a JetStream publish).

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::time::Duration as StdDuration;

use crate::domain::{
    Delivery, DeliveryAttempt, DeliveryId, Event, TenantId, WebhookEndpoint, WebhookId,
    WebhookSecret,
};
use crate::error::StoreError;

/// A tenant's webhook endpoints and their delivery logs.
#[async_trait]
pub trait WebhookRepository: Send + Sync {
    async fn create(&self, endpoint: &WebhookEndpoint) -> Result<(), StoreError>;
    async fn list(&self, tenant: TenantId) -> Result<Vec<WebhookEndpoint>, StoreError>;
    async fn get(
        &self,
        tenant: TenantId,
        id: WebhookId,
    ) -> Result<Option<WebhookEndpoint>, StoreError>;
    /// Writes every field of `endpoint` (url, types, description, enabled, pause, secrets).
    async fn update(&self, endpoint: &WebhookEndpoint) -> Result<(), StoreError>;
    /// Deletes the endpoint with its deliveries; `false` when there was none.
    async fn delete(&self, tenant: TenantId, id: WebhookId) -> Result<bool, StoreError>;
    /// The endpoint's deliveries, newest first, with their attempts; `before` pages on.
    async fn deliveries(
        &self,
        tenant: TenantId,
        id: WebhookId,
        before: Option<DeliveryId>,
        limit: u64,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Makes one delivery pending again, due at `now` (a manual redelivery). `None` when
    /// the endpoint has no such delivery.
    async fn redeliver(
        &self,
        tenant: TenantId,
        id: WebhookId,
        delivery: DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<Option<Delivery>, StoreError>;
    /// New deliveries to this endpoint of every event it wants that occurred at or after
    /// `since` and is still in the outbox, due at `now`; how many.
    async fn replay(
        &self,
        endpoint: &WebhookEndpoint,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
}

/// A delivery the relay has claimed and must try now.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: DeliveryId,
    pub endpoint: WebhookEndpoint,
    pub event: Event,
    /// Attempts made before this one.
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
}

/// What one attempt did, for the store to record.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub delivery: DeliveryId,
    pub webhook: WebhookId,
    pub attempt: DeliveryAttempt,
    /// When to try again; `None` with a failed attempt means the delivery is dead.
    pub retry_at: Option<DateTime<Utc>>,
    /// Set when this failure pauses the endpoint: the reason shown to the tenant.
    pub pause: Option<String>,
}

/// The outbox's backlog, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Backlog {
    /// Events not yet fanned out to endpoints (and JetStream).
    pub undispatched: u64,
    /// Age of the oldest event not yet delivered everywhere it goes.
    pub oldest_age: Option<Duration>,
    /// Deliveries still pending.
    pub pending_deliveries: u64,
}

/// The outbox as the relay works it. Every claim is safe with relays on several nodes:
/// a claim is a lease (`claimed_until`), taken with `FOR UPDATE SKIP LOCKED` on
/// PostgreSQL and under the write lock on SQLite, and an event of a subject is never
/// claimed while an earlier one of the same subject (to the same endpoint, or to
/// JetStream) is still waiting.
#[async_trait]
pub trait OutboxRelay: Send + Sync {
    /// Fans up to `limit` new events out: one pending delivery per enabled endpoint of
    /// their tenant that wants the type; marks them dispatched. How many events.
    async fn dispatch(&self, now: DateTime<Utc>, limit: u64) -> Result<u64, StoreError>;
    /// Claims up to `limit` due deliveries until `now + lease`, in sequence order per
    /// endpoint and subject.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u64,
    ) -> Result<Vec<DueDelivery>, StoreError>;
    /// Records an attempt: delivered, retried later or dead; the endpoint's failing
    /// stretch (and pause) follows.
    async fn record_attempt(
        &self,
        record: &AttemptRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Gives claimed deliveries back untried: due at once, claimable again.
    async fn release_deliveries(&self, ids: &[DeliveryId]) -> Result<(), StoreError>;
    /// Claims up to `limit` events not yet published to JetStream, in sequence order per
    /// subject (an event waits while an earlier one of its subject is unpublished).
    async fn claim_unpublished(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u64,
    ) -> Result<Vec<Event>, StoreError>;
    async fn mark_published(&self, ids: &[uuid::Uuid]) -> Result<(), StoreError>;
    /// Gives claimed events back (a publish failed): the next round takes them again.
    async fn release_unpublished(&self, ids: &[uuid::Uuid]) -> Result<(), StoreError>;
    /// Deletes up to `limit` events of `tenants` that occurred before `before` and went
    /// everywhere (dispatched, published when `require_published`, no pending delivery),
    /// with their deliveries. How many events.
    async fn purge(
        &self,
        tenants: &[TenantId],
        before: DateTime<Utc>,
        require_published: bool,
        limit: u64,
    ) -> Result<u64, StoreError>;
    async fn backlog(&self, now: DateTime<Utc>) -> Result<Backlog, StoreError>;
}

/// A signed POST to a receiver.
#[derive(Debug, Clone)]
pub struct WebhookRequest<'a> {
    pub url: &'a str,
    pub event: &'a Event,
    pub body: &'a [u8],
    pub secrets: &'a [WebhookSecret],
    pub timestamp: DateTime<Utc>,
    pub timeout: StdDuration,
}

/// Sends webhook requests (signing them, checking where the URL resolves to).
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// Never fails: a refusal, timeout or non-2xx is an attempt with an `error`.
    async fn send(&self, request: WebhookRequest<'_>) -> DeliveryAttempt;
    /// Whether `url`'s host may receive webhooks (it resolves, and only to addresses the
    /// operator allows); the reason when not.
    async fn check_destination(&self, url: &str) -> Result<(), String>;
}

/// Publishes events to JetStream (subject `trolley.<tenant_id>.<type>`, `Nats-Msg-Id` =
/// event id), acknowledged by the stream.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    async fn publish(&self, event: &Event) -> Result<(), String>;
}
