//! The metrics seam: what use cases and adapters report, whoever exports it.

use crate::domain::TenantId;

/// How a plugin call ended, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginCallOutcome {
    Ok,
    Failed,
}

/// What happened to a checkout's reservation (or a reserve line's hold), for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationEvent {
    /// A checkout reserved its stock.
    Held,
    /// A checkout was cancelled: its stock went back.
    Released,
    /// A checkout was completed: its reserved stock was sold.
    Sold,
    /// A checkout expired unpaid: its stock went back.
    Expired,
    /// A reserve line's hold ran out without cart activity.
    LineHoldExpired,
}

impl ReservationEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationEvent::Held => "held",
            ReservationEvent::Released => "released",
            ReservationEvent::Sold => "sold",
            ReservationEvent::Expired => "expired",
            ReservationEvent::LineHoldExpired => "line_hold_expired",
        }
    }
}

/// A cache lookup's result, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheEvent {
    Hit,
    Miss,
    /// The shared cache was unreachable (or its breaker open): served from the database.
    Fallback,
}

impl CacheEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheEvent::Hit => "hit",
            CacheEvent::Miss => "miss",
            CacheEvent::Fallback => "fallback",
        }
    }
}

/// What a sweep removed, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweptKind {
    CartsDeleted,
    CheckoutsDeleted,
    IdempotencyRecordsPurged,
}

impl SweptKind {
    pub const ALL: [SweptKind; 3] = [
        SweptKind::CartsDeleted,
        SweptKind::CheckoutsDeleted,
        SweptKind::IdempotencyRecordsPurged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SweptKind::CartsDeleted => "carts_deleted",
            SweptKind::CheckoutsDeleted => "checkouts_deleted",
            SweptKind::IdempotencyRecordsPurged => "idempotency_records_purged",
        }
    }
}

/// Business and adapter metrics the use cases and adapters report. The implementation
/// (Prometheus) lives outside core; [`NoMetrics`] drops everything.
pub trait Metrics: Send + Sync {
    /// One plugin evaluation. `fuel_used` is the instruction fuel it consumed, known only
    /// for a successful call while fuel metering is on.
    fn plugin_call(
        &self,
        tenant: TenantId,
        order_type: &str,
        elapsed: std::time::Duration,
        outcome: PluginCallOutcome,
        fuel_used: Option<u64>,
    );
    /// One merge: how many line keys ended in each outcome class.
    fn merge_outcomes(&self, policy: &str, counts: &std::collections::BTreeMap<String, usize>);
    fn reservations(&self, event: ReservationEvent, units: u64);
    fn cache(&self, event: CacheEvent);
    fn rate_limited(&self, scope: &'static str);
    /// Rows a sweep removed (on this node), by kind.
    fn swept(&self, kind: SweptKind, count: u64);
    /// One webhook delivery attempt: `delivered`, `failed` (retried later) or `dead`.
    fn webhook_attempt(&self, _result: &'static str) {}
    /// One JetStream publish, acknowledged or not.
    fn event_published(&self, _ok: bool) {}
    /// The outbox's backlog as the relay last saw it.
    fn outbox_backlog(&self, _backlog: &crate::ports::Backlog) {}
}

#[derive(Debug, Default, Clone, Copy)]
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn plugin_call(
        &self,
        _: TenantId,
        _: &str,
        _: std::time::Duration,
        _: PluginCallOutcome,
        _: Option<u64>,
    ) {
    }
    fn merge_outcomes(&self, _: &str, _: &std::collections::BTreeMap<String, usize>) {}
    fn reservations(&self, _: ReservationEvent, _: u64) {}
    fn cache(&self, _: CacheEvent) {}
    fn rate_limited(&self, _: &'static str) {}
    fn swept(&self, _: SweptKind, _: u64) {}
}
