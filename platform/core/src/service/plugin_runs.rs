//! Run records: which plugin calls are kept, and reading them back (SPEC §14).
//!
//! Every failed call is worth a record, but a broken plugin under load fails hundreds of
//! times a second with the same reason: a node records one failure per order type, kind
//! and second, and the calls in between point at that record. A successful call is sampled:
//! at most one per order type and minute per node. The repository keeps at most
//! [`KEEP_PER_TENANT`] of each per tenant, so the table stays small whatever plugins do.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::domain::{
    PluginCall, PluginCart, PluginRun, PluginRunId, RunPlugin, RunQuery, RunTrigger, Tenant,
    TenantId,
};
use crate::error::CoreError;
use crate::ports::{Clock, PluginRunRepository};

/// Failed runs, and separately successful runs, kept per tenant.
pub const KEEP_PER_TENANT: u32 = 200;
/// Most runs one listing answers.
pub const MAX_RUNS_PAGE: u32 = 100;
/// How often a node records a success of one order type.
const SUCCESS_SAMPLE_EVERY_SECS: i64 = 60;
/// How often a node records the same failure kind of one order type.
const FAILURE_RECORD_EVERY_MS: i64 = 1000;

type Key = (TenantId, String);
/// The last failure recorded per order type and kind: when, and its run.
type LastFailures = HashMap<(Key, &'static str), (DateTime<Utc>, PluginRunId)>;

/// Decides which calls to record and records them.
pub struct RunRecorder {
    runs: Arc<dyn PluginRunRepository>,
    clock: Arc<dyn Clock>,
    last_success: Mutex<HashMap<Key, DateTime<Utc>>>,
    last_failure: Mutex<LastFailures>,
}

impl RunRecorder {
    pub fn new(runs: Arc<dyn PluginRunRepository>, clock: Arc<dyn Clock>) -> Self {
        Self {
            runs,
            clock,
            last_success: Mutex::default(),
            last_failure: Mutex::default(),
        }
    }

    /// Records `call` if it is due (see the module docs) and answers the run that describes
    /// it: its own record, or for a failure the recent record of the same failure. Trials
    /// (dry runs, activation checks) are always recorded: an admin asked for them.
    pub async fn observe(
        &self,
        tenant: TenantId,
        order_type: &str,
        plugin: RunPlugin,
        trigger: RunTrigger,
        input: &PluginCart,
        call: &PluginCall,
    ) -> Option<PluginRunId> {
        let now = self.clock.now_millis();
        let key = (tenant, order_type.to_owned());
        if trigger == RunTrigger::Cart {
            match &call.result {
                Ok(_) => {
                    let mut last = self
                        .last_success
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    if last
                        .get(&key)
                        .is_some_and(|at| now - *at < Duration::seconds(SUCCESS_SAMPLE_EVERY_SECS))
                    {
                        return None;
                    }
                    last.insert(key.clone(), now);
                }
                Err(e) => {
                    let last = self
                        .last_failure
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    if let Some((at, id)) = last.get(&(key.clone(), e.kind()))
                        && now - *at < Duration::milliseconds(FAILURE_RECORD_EVERY_MS)
                    {
                        return Some(*id);
                    }
                }
            }
        }
        let run = PluginRun::of(tenant, order_type, plugin, trigger, input, call, now);
        if let Err(e) = self.runs.record(&run, KEEP_PER_TENANT).await {
            // A run record is a diagnosis aid: losing one must not fail the shopper's request.
            tracing::warn!(tenant_id = %tenant, order_type, error = %e, "cannot record a plugin run");
            return None;
        }
        if let Err(e) = &call.result {
            self.last_failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert((key, e.kind()), (now, run.id));
        }
        Some(run.id)
    }

    /// The tenant's runs of `order_type`, newest first.
    pub async fn list(
        &self,
        tenant: &Tenant,
        order_type: &str,
        query: RunQuery,
    ) -> Result<Vec<PluginRun>, CoreError> {
        if !(1..=MAX_RUNS_PAGE).contains(&query.limit) {
            return Err(CoreError::InvalidInput(format!(
                "limit must be 1-{MAX_RUNS_PAGE}"
            )));
        }
        Ok(self.runs.list(tenant.id, order_type, query).await?)
    }

    /// One run, if it is the tenant's and of `order_type`.
    pub async fn get(
        &self,
        tenant: &Tenant,
        order_type: &str,
        id: PluginRunId,
    ) -> Result<PluginRun, CoreError> {
        self.runs
            .get(tenant.id, order_type, id)
            .await?
            .ok_or(CoreError::PluginRunNotFound)
    }
}
