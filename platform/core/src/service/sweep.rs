//! The sweep every node runs (and `POST /v1/platform/sweep` runs on demand): expiry of
//! holds, checkouts and idle carts, then retention — ended carts and checkouts past their
//! tenant's `cart_retention_days` deleted, idempotency records past 24 h purged.
//!
//! Decisions:
//! - Everything is bounded: at most [`RETENTION_BATCH`] rows per statement and
//!   [`RETENTION_BATCHES_PER_SWEEP`] statements per kind per sweep, so one sweep never
//!   holds a table for long; a backlog drains over the next sweeps.
//! - Tenants are grouped by retention (most share the default), so a sweep issues one
//!   statement per group and batch, not one per tenant.
//! - A step that fails is logged and the others still run; the sweep then answers the
//!   first error (the next sweep retries).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::domain::TenantId;
use crate::domain::lifecycle::retention_cutoff;
use crate::error::CoreError;
use crate::ports::{
    CartCache, Clock, IdempotencyStore, Metrics, NoMetrics, RetentionRepository, SweepReport,
    SweptKind, TenantRepository,
};
use crate::service::CheckoutService;

/// Rows one retention statement deletes at most.
pub const RETENTION_BATCH: u64 = 500;
/// Retention statements per kind (carts, checkouts) in one sweep.
pub const RETENTION_BATCHES_PER_SWEEP: usize = 10;
/// Tenants named in one statement (bind parameters are finite).
const TENANTS_PER_STATEMENT: usize = 500;

/// How long an idempotency key is remembered (SPEC §2: at least 24 h).
pub const IDEMPOTENCY_RETENTION_HOURS: i64 = 24;
/// Idempotency records deleted per statement, and statements per sweep.
const PURGE_BATCH: u64 = 1_000;
const PURGE_BATCHES_PER_SWEEP: usize = 20;

#[derive(Clone)]
pub struct SweepService {
    checkouts: CheckoutService,
    tenants: Arc<dyn TenantRepository>,
    retention: Arc<dyn RetentionRepository>,
    idempotency: Arc<dyn IdempotencyStore>,
    cache: Arc<dyn CartCache>,
    clock: Arc<dyn Clock>,
    metrics: Arc<dyn Metrics>,
}

impl SweepService {
    pub fn new(
        checkouts: CheckoutService,
        tenants: Arc<dyn TenantRepository>,
        retention: Arc<dyn RetentionRepository>,
        idempotency: Arc<dyn IdempotencyStore>,
        cache: Arc<dyn CartCache>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            checkouts,
            tenants,
            retention,
            idempotency,
            cache,
            clock,
            metrics: Arc::new(NoMetrics),
        }
    }

    /// Reports what retention removed to `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<dyn Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// One full sweep. Safe on every node at once.
    #[tracing::instrument(name = "sweep", skip_all)]
    pub async fn sweep(&self) -> Result<SweepReport, CoreError> {
        let mut first_error: Option<CoreError> = None;
        let mut keep = |e: CoreError, step: &str| {
            tracing::warn!(error = %e, step, "sweep step failed; the next sweep retries");
            first_error.get_or_insert(e);
        };
        let mut report = match self.checkouts.sweep().await {
            Ok(report) => report,
            Err(e) => {
                keep(e, "expiry");
                SweepReport::default()
            }
        };
        if let Err(e) = self.retain(&mut report).await {
            keep(e, "retention");
        }
        match self.purge_idempotency().await {
            Ok(purged) => report.idempotency_records_purged = purged,
            Err(e) => keep(e, "idempotency purge"),
        }

        let metrics = &self.metrics;
        metrics.swept(SweptKind::CartsDeleted, report.carts_deleted);
        metrics.swept(SweptKind::CheckoutsDeleted, report.checkouts_deleted);
        metrics.swept(
            SweptKind::IdempotencyRecordsPurged,
            report.idempotency_records_purged,
        );
        if report.carts_deleted + report.checkouts_deleted + report.idempotency_records_purged > 0 {
            tracing::info!(
                carts_deleted = report.carts_deleted,
                checkouts_deleted = report.checkouts_deleted,
                idempotency_records_purged = report.idempotency_records_purged,
                "retention sweep"
            );
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Deletes ended carts and checkouts past their tenant's retention.
    async fn retain(&self, report: &mut SweepReport) -> Result<(), CoreError> {
        let now = self.clock.now_millis();
        let mut by_retention: BTreeMap<u32, Vec<TenantId>> = BTreeMap::new();
        for tenant in self.tenants.list().await? {
            by_retention
                .entry(tenant.config.cart_retention_days)
                .or_default()
                .push(tenant.id);
        }
        let cache = &self.cache;
        let mut cart_batches = RETENTION_BATCHES_PER_SWEEP;
        let mut checkout_batches = RETENTION_BATCHES_PER_SWEEP;
        for (days, tenants) in &by_retention {
            let cutoff = retention_cutoff(now, *days);
            for chunk in tenants.chunks(TENANTS_PER_STATEMENT) {
                while cart_batches > 0 {
                    cart_batches -= 1;
                    let deleted = self
                        .retention
                        .delete_ended_carts(chunk, cutoff, RETENTION_BATCH)
                        .await?;
                    // A deleted cart must not go on being served from the cache.
                    for (tenant, cart) in &deleted {
                        cache.invalidate(*tenant, *cart).await;
                    }
                    report.carts_deleted += deleted.len() as u64;
                    if (deleted.len() as u64) < RETENTION_BATCH {
                        break;
                    }
                }
                while checkout_batches > 0 {
                    checkout_batches -= 1;
                    let deleted = self
                        .retention
                        .delete_ended_checkouts(chunk, cutoff, RETENTION_BATCH)
                        .await?;
                    report.checkouts_deleted += deleted;
                    if deleted < RETENTION_BATCH {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Deletes idempotency records older than [`IDEMPOTENCY_RETENTION_HOURS`], in bounded
    /// batches; how many.
    async fn purge_idempotency(&self) -> Result<u64, CoreError> {
        let now = self.clock.now();
        let before = now - chrono::Duration::hours(IDEMPOTENCY_RETENTION_HOURS);
        let mut purged = 0;
        for _ in 0..PURGE_BATCHES_PER_SWEEP {
            let deleted = self.idempotency.purge(before, PURGE_BATCH).await?;
            purged += deleted;
            if deleted < PURGE_BATCH {
                break;
            }
        }
        Ok(purged)
    }
}
