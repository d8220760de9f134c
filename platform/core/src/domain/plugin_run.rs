//! Run records: what a tenant's plugin was asked and what it answered, kept so the tenant can
//! see why a live plugin fails (its panic message and logs) and replay the input against a
//! new build. Every failed call is recorded (bounded per tenant) and a sample of successful
//! ones.

use chrono::{DateTime, Utc};

use super::ids::{PluginId, PluginRunId, TenantId};
use super::plugin::{Activation, CallReport, Evaluation, PluginCall, PluginCart, PluginError};

/// What asked for the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    /// A cart read, write or checkout.
    Cart,
    /// `POST /v1/admin/order-types/{order_type}/dry-run`.
    DryRun,
    /// The smoke evaluation an activation runs on recent carts.
    ActivationCheck,
}

impl RunTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cart => "cart",
            Self::DryRun => "dry_run",
            Self::ActivationCheck => "activation_check",
        }
    }
}

/// Why a recorded call failed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunFailure {
    /// [`PluginError::kind`]: `trapped`, `bad_output`, `deadline_exceeded` …
    pub kind: String,
    /// The whole reason, e.g. the plugin's panic message.
    pub message: String,
    /// Whether the same call may succeed later ([`PluginError::is_transient`]).
    pub transient: bool,
}

impl From<&PluginError> for RunFailure {
    fn from(e: &PluginError) -> Self {
        Self {
            kind: e.kind().to_owned(),
            message: e.to_string(),
            transient: e.is_transient(),
        }
    }
}

/// The plugin version and config that served the call.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunPlugin {
    pub plugin_id: PluginId,
    pub version: String,
    pub sha256: String,
    /// The config it was given.
    pub config: serde_json::Value,
    /// When that config was activated (the config's revision); `None` for a dry run of a
    /// version that is not active.
    pub config_activated_at: Option<DateTime<Utc>>,
}

impl RunPlugin {
    /// The active version and config.
    pub fn active(activation: &Activation) -> Self {
        Self {
            plugin_id: activation.plugin.id,
            version: activation.plugin.info.version.clone(),
            sha256: activation.plugin.sha256.clone(),
            config: activation.config.clone(),
            config_activated_at: Some(activation.activated_at),
        }
    }
}

/// One recorded call.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PluginRun {
    pub id: PluginRunId,
    pub tenant_id: TenantId,
    pub order_type: String,
    pub plugin: RunPlugin,
    pub trigger: RunTrigger,
    /// The cart exactly as the plugin saw it (context included).
    pub input: PluginCart,
    /// The answer, on success.
    pub output: Option<Evaluation>,
    /// Why there is no answer.
    pub failure: Option<RunFailure>,
    pub report: CallReport,
    pub created_at: DateTime<Utc>,
}

impl PluginRun {
    /// A record of `call`.
    pub fn of(
        tenant_id: TenantId,
        order_type: &str,
        plugin: RunPlugin,
        trigger: RunTrigger,
        input: &PluginCart,
        call: &PluginCall,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: PluginRunId::new(),
            tenant_id,
            order_type: order_type.to_owned(),
            plugin,
            trigger,
            input: input.clone(),
            output: call.result.as_ref().ok().cloned(),
            failure: call.result.as_ref().err().map(RunFailure::from),
            report: call.report.clone(),
            created_at: now,
        }
    }

    pub fn failed(&self) -> bool {
        self.failure.is_some()
    }
}

/// Which runs a listing wants: newest first, older than `before` when paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunQuery {
    pub failed_only: bool,
    pub before: Option<PluginRunId>,
    pub limit: u32,
}

/// One cart's evaluation in a trial (a dry run or an activation's smoke check).
#[derive(Debug, Clone, PartialEq)]
pub struct TrialOutcome {
    pub result: Result<Evaluation, RunFailure>,
    /// Its run record.
    pub run_id: Option<PluginRunId>,
}

impl TrialOutcome {
    pub fn failed(&self) -> bool {
        self.result.is_err()
    }

    /// Whether two outcomes say the same about the cart (violations, fees, fulfillment;
    /// fuel is not part of the answer).
    pub fn same_answer(&self, other: &Self) -> bool {
        match (&self.result, &other.result) {
            (Ok(a), Ok(b)) => {
                a.violations == b.violations && a.fees == b.fees && a.fulfillment == b.fulfillment
            }
            (Err(a), Err(b)) => a.kind == b.kind,
            _ => false,
        }
    }
}

/// One cart tried with a candidate version, beside the active one.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialCart {
    pub cart_id: super::ids::CartId,
    pub candidate: TrialOutcome,
    /// `None` when no version serves the order type yet.
    pub active: Option<TrialOutcome>,
}

impl TrialCart {
    /// The candidate fails where the active version answered (or where there is none).
    pub fn regressed(&self) -> bool {
        self.candidate.failed() && self.active.as_ref().is_none_or(|a| !a.failed())
    }

    pub fn differs(&self) -> bool {
        self.active
            .as_ref()
            .is_none_or(|active| !active.same_answer(&self.candidate))
    }
}

/// A cart a new version fails on, for the refusal of an activation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrialFailure {
    pub cart_id: super::ids::CartId,
    pub failure: RunFailure,
    pub run_id: Option<PluginRunId>,
}

/// What a dry run found.
#[derive(Debug, Clone, PartialEq)]
pub struct DryRun {
    pub order_type: String,
    pub candidate: RunPlugin,
    pub active: Option<RunPlugin>,
    pub carts: Vec<TrialCart>,
}
