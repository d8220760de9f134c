//! Run records and dry runs of order-type plugins (SPEC §14).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use trolley_core::domain::{
    CallReport, DryRun, PluginRun, RunFailure, RunPlugin, TrialCart, TrialOutcome,
};

/// `GET /v1/admin/order-types/{order_type}/runs`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RunsQuery {
    /// Only failed runs.
    #[serde(default)]
    pub failed: bool,
    /// `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
    /// 1–100, 20 by default.
    pub limit: Option<u32>,
}

/// The version and config a run used.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunPluginResponse {
    pub plugin_id: Uuid,
    pub version: String,
    pub sha256: String,
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    /// When that config was activated (its revision); null for a version on trial.
    pub config_activated_at: Option<DateTime<Utc>>,
}

impl From<&RunPlugin> for RunPluginResponse {
    fn from(p: &RunPlugin) -> Self {
        Self {
            plugin_id: p.plugin_id.0,
            version: p.version.clone(),
            sha256: p.sha256.clone(),
            config: p.config.clone(),
            config_activated_at: p.config_activated_at,
        }
    }
}

/// Why a call failed.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunFailureResponse {
    /// `trapped`, `bad_output`, `out_of_memory`, `output_too_large`, `config_rejected`,
    /// `deadline_exceeded` or `unavailable`.
    pub kind: String,
    /// The whole reason: a panic's own message, what was malformed …
    pub message: String,
    /// Whether the same call may succeed later (a deadline under load); otherwise it fails
    /// the same way until the plugin changes.
    pub transient: bool,
}

impl From<&RunFailure> for RunFailureResponse {
    fn from(f: &RunFailure) -> Self {
        Self {
            kind: f.kind.clone(),
            message: f.message.clone(),
            transient: f.transient,
        }
    }
}

/// One line the plugin logged.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunLogResponse {
    /// `trace`, `debug`, `info`, `warn` or `error` (a panic).
    pub level: String,
    pub message: String,
}

/// What the runtime saw of a call.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunReportResponse {
    pub duration_us: u64,
    /// Null unless the operator meters fuel.
    pub fuel_used: Option<u64>,
    pub peak_memory_bytes: u64,
    pub logs: Vec<RunLogResponse>,
    /// Log lines past the per-call bound.
    pub logs_dropped: u32,
}

impl From<&CallReport> for RunReportResponse {
    fn from(r: &CallReport) -> Self {
        Self {
            duration_us: r.duration_us,
            fuel_used: r.fuel_used,
            peak_memory_bytes: r.peak_memory_bytes,
            logs: r
                .logs
                .iter()
                .map(|l| RunLogResponse {
                    level: serde_json::to_value(l.level)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    message: l.message.clone(),
                })
                .collect(),
            logs_dropped: r.logs_dropped,
        }
    }
}

/// A recorded call, whole: what `trolley plugin replay` re-runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginRunResponse {
    pub run_id: Uuid,
    pub order_type: String,
    /// `cart` (a shopper's request), `dry_run` or `activation_check`.
    pub trigger: String,
    pub plugin: RunPluginResponse,
    /// The cart exactly as the plugin saw it (`trolley plugin run --cart` reads this shape).
    #[schema(value_type = Object)]
    pub input: serde_json::Value,
    /// The answer, when the call succeeded.
    #[schema(value_type = Option<Object>)]
    pub output: Option<serde_json::Value>,
    pub failure: Option<RunFailureResponse>,
    pub report: RunReportResponse,
    pub created_at: DateTime<Utc>,
}

impl From<&PluginRun> for PluginRunResponse {
    fn from(r: &PluginRun) -> Self {
        Self {
            run_id: r.id.0,
            order_type: r.order_type.clone(),
            trigger: r.trigger.as_str().to_owned(),
            plugin: RunPluginResponse::from(&r.plugin),
            input: serde_json::to_value(&r.input).unwrap_or_default(),
            output: r.output.as_ref().and_then(|o| serde_json::to_value(o).ok()),
            failure: r.failure.as_ref().map(RunFailureResponse::from),
            report: RunReportResponse::from(&r.report),
            created_at: r.created_at,
        }
    }
}

/// A run in a listing (`GET …/runs/{run_id}` has the input and output).
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginRunSummary {
    pub run_id: Uuid,
    pub trigger: String,
    pub cart_id: String,
    pub plugin_id: Uuid,
    pub version: String,
    pub failure: Option<RunFailureResponse>,
    pub duration_us: u64,
    /// Lines the plugin logged.
    pub log_lines: usize,
    pub created_at: DateTime<Utc>,
}

/// A page of runs, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginRunPage {
    pub runs: Vec<PluginRunSummary>,
    /// Pass as `cursor` for older runs; null on the last page.
    pub next_cursor: Option<Uuid>,
}

impl PluginRunPage {
    pub fn of(runs: &[PluginRun], limit: u32) -> Self {
        let full = runs.len() == limit as usize;
        Self {
            runs: runs
                .iter()
                .map(|r| PluginRunSummary {
                    run_id: r.id.0,
                    trigger: r.trigger.as_str().to_owned(),
                    cart_id: r.input.cart_id.clone(),
                    plugin_id: r.plugin.plugin_id.0,
                    version: r.plugin.version.clone(),
                    failure: r.failure.as_ref().map(RunFailureResponse::from),
                    duration_us: r.report.duration_us,
                    log_lines: r.report.logs.len(),
                    created_at: r.created_at,
                })
                .collect(),
            next_cursor: runs.last().filter(|_| full).map(|r| r.id.0),
        }
    }
}

/// `POST /v1/admin/order-types/{order_type}/dry-run`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRunRequest {
    /// The uploaded version to try.
    pub plugin_id: Uuid,
    /// The config to try it with; omitted → the config the order type is served with now.
    #[schema(value_type = Option<Object>)]
    pub config: Option<serde_json::Value>,
    /// 1–20 of the tenant's carts of this order type; omitted → the 10 most recently
    /// changed active carts of the order type.
    pub cart_ids: Option<Vec<Uuid>>,
}

/// One version's outcome on one cart.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrialOutcomeResponse {
    /// Violations, fees and fulfillment, when the call succeeded.
    #[schema(value_type = Option<Object>)]
    pub evaluation: Option<serde_json::Value>,
    pub failure: Option<RunFailureResponse>,
    pub run_id: Option<Uuid>,
}

impl From<&TrialOutcome> for TrialOutcomeResponse {
    fn from(o: &TrialOutcome) -> Self {
        Self {
            evaluation: o
                .result
                .as_ref()
                .ok()
                .and_then(|e| serde_json::to_value(e).ok()),
            failure: o.result.as_ref().err().map(RunFailureResponse::from),
            run_id: o.run_id.map(|id| id.0),
        }
    }
}

/// One cart, side by side.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrialCartResponse {
    pub cart_id: Uuid,
    pub candidate: TrialOutcomeResponse,
    /// Null when no version serves the order type yet.
    pub active: Option<TrialOutcomeResponse>,
    /// The candidate answers differently from the active version.
    pub differs: bool,
    /// The candidate fails where the active version answers: an activation would be
    /// refused.
    pub regressed: bool,
}

impl From<&TrialCart> for TrialCartResponse {
    fn from(c: &TrialCart) -> Self {
        Self {
            cart_id: c.cart_id.0,
            candidate: TrialOutcomeResponse::from(&c.candidate),
            active: c.active.as_ref().map(TrialOutcomeResponse::from),
            differs: c.differs(),
            regressed: c.regressed(),
        }
    }
}

/// What a dry run found.
#[derive(Debug, Serialize, ToSchema)]
pub struct DryRunResponse {
    pub order_type: String,
    pub candidate: RunPluginResponse,
    pub active: Option<RunPluginResponse>,
    pub carts: Vec<TrialCartResponse>,
}

impl From<&DryRun> for DryRunResponse {
    fn from(d: &DryRun) -> Self {
        Self {
            order_type: d.order_type.clone(),
            candidate: RunPluginResponse::from(&d.candidate),
            active: d.active.as_ref().map(RunPluginResponse::from),
            carts: d.carts.iter().map(TrialCartResponse::from).collect(),
        }
    }
}
