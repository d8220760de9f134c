//! Order-type plugins as the domain sees them: what a plugin says about itself, the cart
//! view it judges, and what it answers. The WebAssembly details stay in `trolley-plugin-host`.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

pub use super::ids::PluginId;
use super::ids::TenantId;
use super::view::{Fee, Violation};

/// What a plugin's `describe` answers.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginInfo {
    /// The order type it implements, e.g. `grocery`.
    pub order_type: String,
    pub name: String,
    /// Semantic version.
    pub version: String,
    /// JSON Schema of the tenant configuration.
    pub config_schema: serde_json::Value,
}

/// A stored plugin module (the bytes are kept apart).
#[derive(Debug, Clone, PartialEq)]
pub struct PluginRecord {
    pub id: PluginId,
    pub tenant_id: TenantId,
    /// Hex SHA-256 of the module: its content address.
    pub sha256: String,
    pub info: PluginInfo,
    pub size_bytes: i64,
    pub created_at: DateTime<Utc>,
    /// The contract it implements; `None` for modules uploaded before Trolley recorded it.
    pub contract: Option<PluginContract>,
}

/// The contract a module implements, as the host found it at upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginContract {
    /// e.g. `1.1.0`.
    pub version: String,
    /// The functions the module exports, as the contract names them.
    pub exports: Vec<String>,
}

/// The plugin version and config serving an order type for a tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct Activation {
    pub order_type: String,
    pub plugin: PluginRecord,
    pub config: serde_json::Value,
    pub activated_at: DateTime<Utc>,
}

/// One line as a plugin sees it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PluginLine {
    pub line_id: String,
    pub sku: String,
    pub quantity: u32,
    pub unit_price: Decimal,
    pub category: String,
    #[serde(default)]
    pub seller: Option<String>,
    #[serde(default)]
    pub fulfillment: Option<String>,
    /// The catalog item's attributes.
    #[serde(default)]
    pub item_attributes: BTreeMap<String, String>,
    /// The line's own attributes.
    #[serde(default)]
    pub line_attributes: BTreeMap<String, String>,
}

/// The read-only cart view a plugin judges. Its JSON form is what run records keep and what
/// `trolley plugin run --cart` reads.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PluginCart {
    pub cart_id: String,
    pub currency: String,
    pub subtotal: Decimal,
    pub lines: Vec<PluginLine>,
    #[serde(default)]
    pub context: BTreeMap<String, String>,
}

/// How an order type allows the cart to be fulfilled.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FulfillmentRules {
    /// Empty means any mode.
    pub allowed_modes: Vec<String>,
    pub lead_time_minutes: Option<u32>,
    /// `cold_chain`, `age_check`, `prescription`, `delivery_slot` …
    pub requirements: Vec<String>,
    pub max_distance_km: Option<Decimal>,
    pub notes: Vec<String>,
}

/// A plugin's whole answer for one cart.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Evaluation {
    pub violations: Vec<Violation>,
    pub fees: Vec<Fee>,
    pub fulfillment: FulfillmentRules,
    /// Instruction fuel the call consumed, as the runtime measured it (not part of the
    /// plugin's answer): `None` when the operator runs without fuel metering.
    pub fuel_used: Option<u64>,
}

/// Per-call sandbox limits. Operators set maxima; a tenant may only lower them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginLimits {
    /// Wall-clock deadline for one call.
    pub deadline_ms: u64,
    /// Linear memory cap.
    pub memory_bytes: usize,
    /// Cap on the size of what the plugin returns (strings and lists, summed).
    pub output_bytes: usize,
    /// Instruction fuel, if fuel metering is on.
    pub fuel: Option<u64>,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self {
            deadline_ms: 100,
            memory_bytes: 32 * 1024 * 1024,
            output_bytes: 256 * 1024,
            fuel: None,
        }
    }
}

/// How loud a plugin's log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// One line a plugin logged during a call (contract 1.1's `log` import; the SDK's panic hook
/// logs the panic message at `error`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PluginLog {
    pub level: LogLevel,
    pub message: String,
}

/// What the runtime saw of one call besides its answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallReport {
    /// Wall-clock time of the call, instantiation included.
    pub duration_us: u64,
    /// Instruction fuel used, when the operator meters fuel.
    pub fuel_used: Option<u64>,
    /// The largest linear memory the call asked for.
    pub peak_memory_bytes: u64,
    /// What the plugin logged, bounded per call.
    pub logs: Vec<PluginLog>,
    /// Log lines dropped past the bound.
    pub logs_dropped: u32,
}

/// One call: the plugin's answer (or why there is none) and what the runtime saw.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginCall {
    pub result: Result<Evaluation, PluginError>,
    pub report: CallReport,
}

/// Why a plugin call or upload failed. Upload problems are the tenant's (4xx); call
/// failures are the plugin's (503 `plugin_failed`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    /// The uploaded bytes are not a loadable order-type component.
    #[error("invalid plugin: {0}")]
    Invalid(String),
    /// The configuration does not satisfy the plugin's JSON Schema.
    #[error("invalid config: {}", .0.join("; "))]
    InvalidConfig(Vec<String>),
    /// The plugin trapped or panicked.
    #[error("the plugin trapped: {0}")]
    Trapped(String),
    /// The call ran past its wall-clock deadline (or its fuel).
    #[error("the plugin ran past its deadline")]
    DeadlineExceeded,
    /// The plugin tried to take more memory than allowed.
    #[error("the plugin exceeded its memory limit")]
    OutOfMemory,
    /// The plugin answered more than the output cap.
    #[error("the plugin's answer exceeded {0} bytes")]
    OutputTooLarge(usize),
    /// The plugin answered something malformed (a bad decimal, an unknown line id …).
    #[error("the plugin answered malformed output: {0}")]
    BadOutput(String),
    /// The plugin refused the configuration it was given.
    #[error("the plugin could not read its config: {0}")]
    ConfigRejected(String),
    /// The runtime itself is saturated or broken.
    #[error("the plugin runtime is unavailable: {0}")]
    Unavailable(String),
}

impl PluginError {
    /// Whether the same call may succeed later: the deadline passed or the runtime was
    /// saturated (load, not the plugin's answer). A trap, malformed output, the memory cap or
    /// a refused config happen again on the same input: retrying does not help.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::DeadlineExceeded | Self::Unavailable(_))
    }

    /// A stable name for metrics, logs and run records.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid",
            Self::InvalidConfig(_) => "invalid_config",
            Self::Trapped(_) => "trapped",
            Self::DeadlineExceeded => "deadline_exceeded",
            Self::OutOfMemory => "out_of_memory",
            Self::OutputTooLarge(_) => "output_too_large",
            Self::BadOutput(_) => "bad_output",
            Self::ConfigRejected(_) => "config_rejected",
            Self::Unavailable(_) => "unavailable",
        }
    }
}
