//! Trolley's metrics in Prometheus form. [`PrometheusMetrics`] implements core's
//! [`Metrics`] port (what use cases and adapters report), adds what only the HTTP layer sees
//! (request latency) and what is read at scrape time (active carts), and renders the
//! OpenMetrics text exposition that `GET /metrics` serves.
//!
//! # Families
//!
//! The names and labels are a contract with dashboards and alerts: renaming one, or a
//! label, is a breaking change. Every label has bounded cardinality.
//!
//! | family | type | labels |
//! |---|---|---|
//! | `trolley_http_request_duration_seconds` | histogram | `method`, `route`, `status` |
//! | `trolley_cache_requests_total` | counter | `result` = `hit` \| `miss` \| `fallback` |
//! | `trolley_plugin_call_duration_seconds` | histogram | `tenant`, `order_type` |
//! | `trolley_plugin_calls_total` | counter | `tenant`, `order_type`, `outcome` = `ok` \| `failed` |
//! | `trolley_plugin_fuel_used` | histogram | `tenant`, `order_type` |
//! | `trolley_merge_outcomes_total` | counter | `policy`, `outcome` |
//! | `trolley_reservations_total` | counter | `event` = `held` \| `released` \| `sold` \| `expired` \| `line_hold_expired` |
//! | `trolley_rate_limited_total` | counter | `scope` |
//! | `trolley_swept_total` | counter | `kind` = `carts_deleted` \| `checkouts_deleted` \| `idempotency_records_purged` |
//! | `trolley_active_carts` | gauge | none |
//! | `trolley_open_streams` | gauge | none |
//! | `trolley_webhook_attempts_total` | counter | `result` = `delivered` \| `failed` \| `dead` |
//! | `trolley_events_published_total` | counter | `result` = `ok` \| `failed` |
//! | `trolley_outbox_undispatched` | gauge | none |
//! | `trolley_outbox_oldest_age_seconds` | gauge | none |
//! | `trolley_webhook_pending_deliveries` | gauge | none |
//!
//! - `route` is the route *pattern* (`/v1/carts/{cart_id}/lines`), never the raw path, and
//!   `unmatched` for a path no route claims; `method` is one of the standard methods or
//!   `OTHER`; `status` is the numeric HTTP status.
//! - `trolley_cache_requests_total`: cart cache lookups; `fallback` means the shared cache
//!   was unreachable (or its breaker open) and the database answered.
//! - `trolley_plugin_*`: one order-type plugin evaluation, queueing for a sandbox included;
//!   `tenant` is the tenant id.
//! - `trolley_plugin_fuel_used`: instructions (wasmtime fuel units) a successful evaluation
//!   consumed. Observed only while the operator runs with fuel metering on
//!   (`TROLLEY_PLUGIN_MAX_FUEL`); without it the family has no series.
//! - `trolley_merge_outcomes_total`: line keys per outcome class of a cart merge.
//! - `trolley_reservations_total`: reservations by what happened to them (a checkout's
//!   reservation held, released by a cancel, sold, expired unpaid; a reserve line's hold
//!   expired).
//! - `trolley_swept_total`: rows the sweeps of this node removed, by kind: ended carts and
//!   checkouts past their tenant's retention, idempotency records past 24 h. Summed over
//!   nodes it counts each row once (a row another node deleted first is not counted).
//! - `trolley_active_carts`: carts in status `active`, across tenants, as last read from the
//!   database (the endpoint refreshes it at most every few seconds).
//! - `trolley_open_streams`: live cart streams (`GET /v1/carts/{cart_id}/stream`) open on
//!   this node at the scrape.
//! - `trolley_webhook_attempts_total`: webhook delivery attempts by this node's relay:
//!   `delivered` (a 2xx), `failed` (retried later), `dead` (the last try of its 24 h).
//! - `trolley_events_published_total`: JetStream publishes (acknowledged or not).
//! - `trolley_outbox_*`, `trolley_webhook_pending_deliveries`: the outbox as the relay last
//!   read it (every few seconds): events not yet fanned out, the age of the oldest event
//!   not yet delivered everywhere, deliveries waiting.
//!
//! A family appears in the exposition once it has a series. The cache results, reservation
//! events, sweep kinds and the `storefront` rate-limit scope exist at zero from the start; the others
//! appear with their first observation.
//!
//! Latency buckets run from 50 µs to 10 s: plugin calls and cache hits live at the low
//! end, slow database writes and timeouts at the high end.

use std::collections::BTreeMap;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use trolley_core::domain::TenantId;
use trolley_core::ports::{CacheEvent, Metrics, PluginCallOutcome, ReservationEvent, SweptKind};

/// The content type of [`PrometheusMetrics::render`]'s output (OpenMetrics text 1.0).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The `route` label of a request no route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Upper bounds (seconds) of the latency histograms' buckets: 50 µs to 10 s.
pub const LATENCY_BUCKETS: [f64; 17] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// Upper bounds of the fuel histogram's buckets: 1,000 × 4ⁿ, from 10³ to ~10⁹ instructions.
/// Evaluating a small cart takes tens of thousands; an operator's fuel ceiling is usually
/// in the hundreds of millions, and a call near it is what the top buckets show.
fn fuel_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1_000.0, 4.0, 11))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabels {
    tenant: String,
    order_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginOutcomeLabels {
    tenant: String,
    order_type: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MergeLabels {
    policy: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReservationLabels {
    event: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RateLimitLabels {
    scope: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SweptLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every Trolley metric, in one registry. Cheap to share (`Arc`); recording takes no lock
/// beyond the family's own read lock once a label set exists.
#[derive(Debug)]
pub struct PrometheusMetrics {
    registry: Registry,
    http_requests: HistogramFamily<HttpLabels>,
    cache_requests: Family<CacheLabels, Counter>,
    plugin_call_duration: HistogramFamily<PluginLabels>,
    plugin_calls: Family<PluginOutcomeLabels, Counter>,
    plugin_fuel_used: HistogramFamily<PluginLabels>,
    merge_outcomes: Family<MergeLabels, Counter>,
    reservations: Family<ReservationLabels, Counter>,
    rate_limited: Family<RateLimitLabels, Counter>,
    swept: Family<SweptLabels, Counter>,
    active_carts: Gauge,
    open_streams: Gauge,
    webhook_attempts: Family<ResultLabels, Counter>,
    events_published: Family<ResultLabels, Counter>,
    outbox_undispatched: Gauge,
    outbox_oldest_age: Gauge<f64, std::sync::atomic::AtomicU64>,
    pending_deliveries: Gauge,
}

impl Default for PrometheusMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl PrometheusMetrics {
    pub fn new() -> Self {
        let metrics = Self {
            registry: Registry::default(),
            http_requests: Family::new_with_constructor(latency_histogram),
            cache_requests: Family::default(),
            plugin_call_duration: Family::new_with_constructor(latency_histogram),
            plugin_calls: Family::default(),
            plugin_fuel_used: Family::new_with_constructor(fuel_histogram),
            merge_outcomes: Family::default(),
            reservations: Family::default(),
            rate_limited: Family::default(),
            swept: Family::default(),
            active_carts: Gauge::default(),
            open_streams: Gauge::default(),
            webhook_attempts: Family::default(),
            events_published: Family::default(),
            outbox_undispatched: Gauge::default(),
            outbox_oldest_age: Gauge::default(),
            pending_deliveries: Gauge::default(),
        };
        for result in ["delivered", "failed", "dead"] {
            let _ = metrics
                .webhook_attempts
                .get_or_create(&ResultLabels { result });
        }
        // Series that always exist, at zero until something happens, so a hit ratio or a
        // reservation rate is computable from the first scrape (a family without a series
        // is not rendered at all).
        for event in [CacheEvent::Hit, CacheEvent::Miss, CacheEvent::Fallback] {
            let _ = metrics.cache_requests.get_or_create(&CacheLabels {
                result: event.as_str(),
            });
        }
        for event in [
            ReservationEvent::Held,
            ReservationEvent::Released,
            ReservationEvent::Sold,
            ReservationEvent::Expired,
            ReservationEvent::LineHoldExpired,
        ] {
            let _ = metrics.reservations.get_or_create(&ReservationLabels {
                event: event.as_str(),
            });
        }
        for kind in SweptKind::ALL {
            let _ = metrics.swept.get_or_create(&SweptLabels {
                kind: kind.as_str(),
            });
        }
        // The one scope the storefront limiter reports today.
        let _ = metrics.rate_limited.get_or_create(&RateLimitLabels {
            scope: "storefront",
        });
        metrics.registered()
    }

    fn registered(mut self) -> Self {
        let r = &mut self.registry;
        // Counters get their `_total` suffix, and units their `_seconds`, from the encoder.
        r.register_with_unit(
            "trolley_http_request_duration",
            "HTTP request latency by method, route pattern and status",
            Unit::Seconds,
            self.http_requests.clone(),
        );
        r.register(
            "trolley_cache_requests",
            "Cart cache lookups by result (hit, miss, fallback to the database)",
            self.cache_requests.clone(),
        );
        r.register_with_unit(
            "trolley_plugin_call_duration",
            "Order-type plugin evaluation latency by tenant and order type",
            Unit::Seconds,
            self.plugin_call_duration.clone(),
        );
        r.register(
            "trolley_plugin_calls",
            "Order-type plugin evaluations by tenant, order type and outcome",
            self.plugin_calls.clone(),
        );
        r.register(
            "trolley_plugin_fuel_used",
            "Instruction fuel consumed by successful order-type plugin evaluations, by tenant and order type (only while fuel metering is on)",
            self.plugin_fuel_used.clone(),
        );
        r.register(
            "trolley_merge_outcomes",
            "Line keys of cart merges by merge policy and outcome class",
            self.merge_outcomes.clone(),
        );
        r.register(
            "trolley_reservations",
            "Stock reservations by event (held, released, sold, expired, line_hold_expired)",
            self.reservations.clone(),
        );
        r.register(
            "trolley_rate_limited",
            "Requests refused by a rate limit, by scope",
            self.rate_limited.clone(),
        );
        r.register(
            "trolley_swept",
            "Rows removed by sweeps by kind (carts_deleted, checkouts_deleted, idempotency_records_purged)",
            self.swept.clone(),
        );
        r.register(
            "trolley_active_carts",
            "Carts in status active across tenants, as last read from the database",
            self.active_carts.clone(),
        );
        r.register(
            "trolley_open_streams",
            "Live cart streams open on this node",
            self.open_streams.clone(),
        );
        r.register(
            "trolley_webhook_attempts",
            "Webhook delivery attempts by result (delivered, failed and retried, dead)",
            self.webhook_attempts.clone(),
        );
        r.register(
            "trolley_events_published",
            "JetStream publishes by result (ok, failed)",
            self.events_published.clone(),
        );
        r.register(
            "trolley_outbox_undispatched",
            "Events in the outbox not yet fanned out to webhooks",
            self.outbox_undispatched.clone(),
        );
        r.register_with_unit(
            "trolley_outbox_oldest_age",
            "Age of the oldest event not yet delivered everywhere",
            Unit::Seconds,
            self.outbox_oldest_age.clone(),
        );
        r.register(
            "trolley_webhook_pending_deliveries",
            "Webhook deliveries waiting to be delivered (or retried)",
            self.pending_deliveries.clone(),
        );
        self
    }

    /// One HTTP request. `route` must be the matched route pattern (or
    /// [`UNMATCHED_ROUTE`]), never the raw path: label values must stay few.
    pub fn http_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .get_or_create(&HttpLabels {
                method: method_label(method),
                route: route.to_owned(),
                status,
            })
            .observe(elapsed.as_secs_f64());
    }

    pub fn set_active_carts(&self, n: i64) {
        self.active_carts.set(n);
    }

    pub fn set_open_streams(&self, n: i64) {
        self.open_streams.set(n);
    }

    /// Every family in the OpenMetrics text format ([`CONTENT_TYPE`]), ending in `# EOF`.
    /// Calls of `tenant`'s `order_type` plugin this node made since it started, as
    /// `(answered, failed)`: the console's overview reads the same counters `/metrics` shows.
    pub fn plugin_call_counts(&self, tenant: TenantId, order_type: &str) -> (u64, u64) {
        let count = |outcome| {
            self.plugin_calls
                .get(&PluginOutcomeLabels {
                    tenant: tenant.to_string(),
                    order_type: order_type.to_owned(),
                    outcome,
                })
                .map_or(0, |c| c.get())
        };
        (count("ok"), count("failed"))
    }

    /// Cart cache lookups on this node since it started, as `(hits, misses, fallbacks)`.
    pub fn cache_counts(&self) -> (u64, u64, u64) {
        let count = |event: CacheEvent| {
            self.cache_requests
                .get(&CacheLabels {
                    result: event.as_str(),
                })
                .map_or(0, |c| c.get())
        };
        (
            count(CacheEvent::Hit),
            count(CacheEvent::Miss),
            count(CacheEvent::Fallback),
        )
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        // Writing into a String cannot fail, and every label type here encodes infallibly.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// A bounded `method` label: arbitrary method tokens must not create series.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}

impl Metrics for PrometheusMetrics {
    fn plugin_call(
        &self,
        tenant: TenantId,
        order_type: &str,
        elapsed: Duration,
        outcome: PluginCallOutcome,
        fuel_used: Option<u64>,
    ) {
        let tenant = tenant.to_string();
        let labels = PluginLabels {
            tenant: tenant.clone(),
            order_type: order_type.to_owned(),
        };
        self.plugin_call_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        // Only a known figure: observing 0 for "not metered" would drag every quantile down.
        if let Some(fuel) = fuel_used {
            // f64 is exact up to 2⁵³ instructions, far beyond any fuel ceiling.
            self.plugin_fuel_used
                .get_or_create(&labels)
                .observe(fuel as f64);
        }
        self.plugin_calls
            .get_or_create(&PluginOutcomeLabels {
                tenant,
                order_type: order_type.to_owned(),
                outcome: match outcome {
                    PluginCallOutcome::Ok => "ok",
                    PluginCallOutcome::Failed => "failed",
                },
            })
            .inc();
    }

    fn merge_outcomes(&self, policy: &str, counts: &BTreeMap<String, usize>) {
        for (outcome, n) in counts {
            self.merge_outcomes
                .get_or_create(&MergeLabels {
                    policy: policy.to_owned(),
                    outcome: outcome.clone(),
                })
                .inc_by(*n as u64);
        }
    }

    fn reservations(&self, event: ReservationEvent, units: u64) {
        self.reservations
            .get_or_create(&ReservationLabels {
                event: event.as_str(),
            })
            .inc_by(units);
    }

    fn cache(&self, event: CacheEvent) {
        self.cache_requests
            .get_or_create(&CacheLabels {
                result: event.as_str(),
            })
            .inc();
    }

    fn rate_limited(&self, scope: &'static str) {
        self.rate_limited
            .get_or_create(&RateLimitLabels { scope })
            .inc();
    }

    fn swept(&self, kind: SweptKind, count: u64) {
        self.swept
            .get_or_create(&SweptLabels {
                kind: kind.as_str(),
            })
            .inc_by(count);
    }

    fn webhook_attempt(&self, result: &'static str) {
        self.webhook_attempts
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    fn event_published(&self, ok: bool) {
        let result = if ok { "ok" } else { "failed" };
        self.events_published
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    fn outbox_backlog(&self, backlog: &trolley_core::ports::Backlog) {
        let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.outbox_undispatched.set(gauge(backlog.undispatched));
        self.pending_deliveries
            .set(gauge(backlog.pending_deliveries));
        let age = backlog
            .oldest_age
            .map_or(0.0, |age| age.num_milliseconds() as f64 / 1_000.0);
        self.outbox_oldest_age.set(age);
    }
}

#[cfg(test)]
mod tests;
