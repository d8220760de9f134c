//! The relay every `trolley serve` runs: it takes committed events from the outbox to the
//! tenants' webhook endpoints and (when configured) to JetStream.
//!
//! One round: fan new events out into deliveries, claim the due deliveries, and hand them
//! out in batches, one per endpoint, each sent in order; then publish to JetStream. The
//! server runs every batch as its own task and does not wait for it before the next round,
//! so a slow or dead endpoint (5 s timeout per attempt) holds up only its own batch; its
//! claims are leases, so no other round or node takes them meanwhile. Tests call
//! [`Relay::run_once`], which waits for everything.
//!
//! Order: a delivery is never claimed while an earlier event of its subject still waits
//! for the same endpoint (the store's claim rule), and within a batch a subject whose
//! delivery fails stops there: its later deliveries are given back untried.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use crate::domain::webhook::{PAUSE_AFTER, next_attempt};
use crate::domain::{DeliveryId, Subject, TenantId, WebhookId};
use crate::error::CoreError;
use crate::ports::{
    AttemptRecord, Clock, DueDelivery, EventPublisher, Metrics, NoMetrics, OutboxRelay,
    TenantRepository, WebhookRequest, WebhookSender,
};

/// Events one purge statement deletes at most.
const PURGE_BATCH: u64 = 1_000;
/// Tenants named in one purge statement (bind parameters are finite).
const PURGE_TENANTS_PER_STATEMENT: usize = 500;

#[derive(Debug, Clone, Copy)]
pub struct RelaySettings {
    /// Events fanned out, deliveries claimed and events published per round, at most.
    pub batch: u64,
    /// How long a claim is held: a node that dies mid-delivery gives its claims back after
    /// this, and another node delivers them (at least once).
    pub lease: Duration,
    /// How long a receiver has to answer.
    pub timeout: StdDuration,
    /// How often the purge (of events past their tenant's `event_retention_days`) runs.
    pub purge_every: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            batch: 500,
            lease: Duration::seconds(60),
            timeout: StdDuration::from_secs(5),
            purge_every: Duration::minutes(5),
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayRound {
    pub dispatched: u64,
    pub delivered: u64,
    pub failed: u64,
    pub dead: u64,
    pub published: u64,
    pub publish_failures: u64,
    pub purged: u64,
}

impl RelayRound {
    fn add(&mut self, other: RelayRound) {
        self.dispatched += other.dispatched;
        self.delivered += other.delivered;
        self.failed += other.failed;
        self.dead += other.dead;
        self.published += other.published;
        self.publish_failures += other.publish_failures;
        self.purged += other.purged;
    }

    /// Whether the round found work (the loop then goes again at once).
    pub fn busy(&self) -> bool {
        self.dispatched + self.delivered + self.failed + self.dead + self.published > 0
    }
}

/// What one attempt did to its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Delivered,
    /// Tried again later.
    Failed,
    /// Its retry window is over.
    Dead,
}

impl Outcome {
    fn of(record: &AttemptRecord) -> Self {
        match (record.attempt.succeeded(), record.retry_at) {
            (true, _) => Self::Delivered,
            (false, Some(_)) => Self::Failed,
            (false, None) => Self::Dead,
        }
    }

    /// The `result` label of `trolley_webhook_attempts_total`.
    fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Dead => "dead",
        }
    }
}

/// The claimed deliveries of one endpoint, in the order they go.
pub struct EndpointBatch {
    pub webhook: WebhookId,
    deliveries: Vec<DueDelivery>,
}

#[derive(Clone)]
pub struct Relay {
    outbox: Arc<dyn OutboxRelay>,
    tenants: Arc<dyn TenantRepository>,
    sender: Arc<dyn WebhookSender>,
    publisher: Option<Arc<dyn EventPublisher>>,
    clock: Arc<dyn Clock>,
    metrics: Arc<dyn Metrics>,
    settings: RelaySettings,
    last_purge_ms: Arc<AtomicI64>,
}

impl Relay {
    pub fn new(
        outbox: Arc<dyn OutboxRelay>,
        sender: Arc<dyn WebhookSender>,
        tenants: Arc<dyn TenantRepository>,
        clock: Arc<dyn Clock>,
        settings: RelaySettings,
    ) -> Self {
        Self {
            outbox,
            tenants,
            sender,
            publisher: None,
            clock,
            metrics: Arc::new(NoMetrics),
            settings,
            last_purge_ms: Arc::new(AtomicI64::new(i64::MIN)),
        }
    }

    /// Also publishes every event to JetStream.
    pub fn with_publisher(mut self, publisher: Arc<dyn EventPublisher>) -> Self {
        self.publisher = Some(publisher);
        self
    }

    pub fn with_metrics(mut self, metrics: Arc<dyn Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// One whole round, waiting for every delivery (tests, and `POST /v1/platform/relay`).
    pub async fn run_once(&self) -> Result<RelayRound, CoreError> {
        let (mut round, batches) = self.claim().await?;
        let sent = futures_util::future::join_all(batches.into_iter().map(|b| self.deliver(b)));
        for done in sent.await {
            round.add(done);
        }
        round.add(self.publish().await?);
        round.add(self.upkeep().await);
        Ok(round)
    }

    /// Fans new events out and claims the due deliveries, one batch per endpoint.
    pub async fn claim(&self) -> Result<(RelayRound, Vec<EndpointBatch>), CoreError> {
        let now = self.clock.now_millis();
        let dispatched = self.outbox.dispatch(now, self.settings.batch).await?;
        let claimed = self
            .outbox
            .claim_deliveries(now, self.settings.lease, self.settings.batch)
            .await?;
        let mut batches: Vec<EndpointBatch> = Vec::new();
        for due in claimed {
            match batches.iter_mut().find(|b| b.webhook == due.endpoint.id) {
                Some(batch) => batch.deliveries.push(due),
                None => batches.push(EndpointBatch {
                    webhook: due.endpoint.id,
                    deliveries: vec![due],
                }),
            }
        }
        Ok((
            RelayRound {
                dispatched,
                ..RelayRound::default()
            },
            batches,
        ))
    }

    /// Sends one endpoint's batch in order. A subject whose delivery fails stops: its
    /// later deliveries are given back untried, to go after the retry. A receiver that does
    /// not answer at all (timeout, refused connection) gets nothing more this round.
    pub async fn deliver(&self, batch: EndpointBatch) -> RelayRound {
        let mut round = RelayRound::default();
        let mut stopped: HashSet<Subject> = HashSet::new();
        let mut given_back: Vec<DeliveryId> = Vec::new();
        // Set when the rest of the batch waits for a later round: the endpoint was paused,
        // or did not answer at all (another attempt now would only wait out its timeout).
        let mut hold_rest = false;
        // Real time, not the clock (tests move that): the claims must not run out mid-batch.
        let started = std::time::Instant::now();
        let budget = self.settings.lease.to_std().unwrap_or_default() / 2;
        for due in batch.deliveries {
            hold_rest |= started.elapsed() > budget;
            if hold_rest || stopped.contains(&due.event.subject) {
                given_back.push(due.id);
                continue;
            }
            let now = self.clock.now_millis();
            let body = due.event.to_json();
            let secrets = due.endpoint.signing_secrets(now);
            let attempt = self
                .sender
                .send(WebhookRequest {
                    url: &due.endpoint.url,
                    event: &due.event,
                    body: &body,
                    secrets: &secrets,
                    timestamp: now,
                    timeout: self.settings.timeout,
                })
                .await;
            let record = self.judge(&due, attempt, now);
            let outcome = Outcome::of(&record);
            self.metrics.webhook_attempt(outcome.as_str());
            match outcome {
                Outcome::Delivered => round.delivered += 1,
                Outcome::Failed => round.failed += 1,
                Outcome::Dead => round.dead += 1,
            }
            if outcome != Outcome::Delivered {
                stopped.insert(due.event.subject.clone());
                hold_rest |= record.attempt.status_code.is_none();
            }
            // A paused endpoint takes nothing more until the tenant enables it.
            let paused = record.pause.is_some();
            if let Err(e) = self
                .outbox
                .record_attempt(&record, self.clock.now_millis())
                .await
            {
                // The lease runs out and the delivery is tried again: at least once.
                tracing::warn!(delivery_id = %due.id.0, error = %e, "could not record a webhook attempt");
            }
            if paused {
                tracing::warn!(webhook_id = %batch.webhook, "webhook endpoint paused after a day of failed deliveries");
                hold_rest = true;
            }
        }
        // Should this fail, their leases run out instead: they only go a little later.
        if !given_back.is_empty()
            && let Err(e) = self.outbox.release_deliveries(&given_back).await
        {
            tracing::debug!(error = %e, "deliveries not given back; their leases run out");
        }
        round
    }

    /// What an attempt means for its delivery and endpoint.
    fn judge(
        &self,
        due: &DueDelivery,
        attempt: crate::domain::DeliveryAttempt,
        now: DateTime<Utc>,
    ) -> AttemptRecord {
        if attempt.succeeded() {
            return AttemptRecord {
                delivery: due.id,
                webhook: due.endpoint.id,
                attempt,
                retry_at: None,
                pause: None,
            };
        }
        let jitter = f64::from(uuid::Uuid::new_v4().as_bytes()[0]) / 256.0;
        let retry_at = next_attempt(due.attempts + 1, due.created_at, now, jitter);
        let failing_since = due.endpoint.failing_since.unwrap_or(now);
        // Paused after a day of nothing but failures, or when a delivery dies with no
        // success since its attempts began.
        let dies = retry_at.is_none() && due.endpoint.failing_since.is_some();
        let pause = (dies || now - failing_since >= PAUSE_AFTER).then(|| {
            format!(
                "paused at {}: every delivery since {} failed (last: {}); fix the receiver, then \
                 enable the endpoint (PATCH enabled: true) to resume",
                now.to_rfc3339(),
                failing_since.to_rfc3339(),
                attempt.error.as_deref().unwrap_or("no answer"),
            )
        });
        AttemptRecord {
            delivery: due.id,
            webhook: due.endpoint.id,
            attempt,
            retry_at,
            pause,
        }
    }

    /// Purges what went everywhere and is older than its tenant's `event_retention_days`:
    /// tenants grouped by retention, one bounded statement per group.
    async fn purge(&self, now: DateTime<Utc>) -> Result<u64, CoreError> {
        let mut by_retention: BTreeMap<u32, Vec<TenantId>> = BTreeMap::new();
        for tenant in self.tenants.list().await? {
            by_retention
                .entry(tenant.config.event_retention_days)
                .or_default()
                .push(tenant.id);
        }
        let mut purged = 0;
        for (days, tenants) in by_retention {
            let before = now - Duration::days(i64::from(days));
            for group in tenants.chunks(PURGE_TENANTS_PER_STATEMENT) {
                purged += self
                    .outbox
                    .purge(group, before, self.publisher.is_some(), PURGE_BATCH)
                    .await?;
            }
        }
        Ok(purged)
    }

    /// Publishes new events to JetStream in sequence order per subject; stops at the first
    /// failure and gives the rest back.
    pub async fn publish(&self) -> Result<RelayRound, CoreError> {
        let mut round = RelayRound::default();
        let Some(publisher) = &self.publisher else {
            return Ok(round);
        };
        let now = self.clock.now_millis();
        let events = self
            .outbox
            .claim_unpublished(now, self.settings.lease, self.settings.batch)
            .await?;
        let mut published = Vec::with_capacity(events.len());
        let mut failed_at = None;
        for (i, event) in events.iter().enumerate() {
            match publisher.publish(event).await {
                Ok(()) => {
                    self.metrics.event_published(true);
                    published.push(event.id);
                }
                Err(e) => {
                    self.metrics.event_published(false);
                    round.publish_failures += 1;
                    tracing::warn!(event_id = %event.id, error = %e, "JetStream publish failed; retried next round");
                    failed_at = Some(i);
                    break;
                }
            }
        }
        self.outbox.mark_published(&published).await?;
        round.published = published.len() as u64;
        if let Some(i) = failed_at {
            let rest: Vec<uuid::Uuid> = events[i..].iter().map(|e| e.id).collect();
            self.outbox.release_unpublished(&rest).await?;
        }
        Ok(round)
    }

    /// The backlog gauges, and the purge of events delivered everywhere once due.
    pub async fn upkeep(&self) -> RelayRound {
        let mut round = RelayRound::default();
        let now = self.clock.now_millis();
        match self.outbox.backlog(now).await {
            Ok(backlog) => self.metrics.outbox_backlog(&backlog),
            Err(e) => tracing::debug!(error = %e, "outbox backlog not read"),
        }
        let last = self.last_purge_ms.load(Ordering::Relaxed);
        let due = last == i64::MIN
            || now.timestamp_millis() - last >= self.settings.purge_every.num_milliseconds();
        if due {
            self.last_purge_ms
                .store(now.timestamp_millis(), Ordering::Relaxed);
            match self.purge(now).await {
                Ok(n) => round.purged = n,
                Err(e) => tracing::warn!(error = %e, "outbox purge failed; retried later"),
            }
        }
        round
    }
}
