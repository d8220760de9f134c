use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use trolley_core::domain::{Activation, PluginRecord};

/// An uploaded plugin module.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginResponse {
    pub plugin_id: Uuid,
    /// The order type it implements (from its `describe`).
    pub order_type: String,
    pub name: String,
    /// Semantic version.
    pub version: String,
    /// Hex SHA-256 of the module: its content address.
    pub sha256: String,
    /// JSON Schema of the configuration it takes.
    #[schema(value_type = Object)]
    pub config_schema: serde_json::Value,
    pub size_bytes: i64,
    pub created_at: DateTime<Utc>,
    /// The contract version the module implements (`1.1.0`, `1.0.0`); null for modules
    /// uploaded before Trolley recorded it.
    pub contract_version: Option<String>,
    /// The functions the module exports, as the contract names them (empty when
    /// `contract_version` is null).
    pub exports: Vec<String>,
}

impl From<&PluginRecord> for PluginResponse {
    fn from(p: &PluginRecord) -> Self {
        Self {
            plugin_id: p.id.0,
            order_type: p.info.order_type.clone(),
            name: p.info.name.clone(),
            version: p.info.version.clone(),
            sha256: p.sha256.clone(),
            config_schema: p.info.config_schema.clone(),
            size_bytes: p.size_bytes,
            created_at: p.created_at,
            contract_version: p.contract.as_ref().map(|c| c.version.clone()),
            exports: p
                .contract
                .as_ref()
                .map(|c| c.exports.clone())
                .unwrap_or_default(),
        }
    }
}

/// `POST /v1/admin/order-types/{order_type}/activate`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    pub plugin_id: Uuid,
    /// The tenant's configuration for this order type; checked against the plugin's JSON
    /// Schema. Omitted → the config the order type is served with now (kept across
    /// versions), or `{}` (the plugin's defaults) for its first activation.
    #[schema(value_type = Option<Object>)]
    pub config: Option<serde_json::Value>,
    /// Skip the smoke check: by default the version is first tried on the order type's 5
    /// most recently changed active carts, and refused (409 `activation_check_failed`) if
    /// it fails on one the active version judges.
    #[serde(default)]
    pub force: bool,
}

/// Which plugin version and config serves an order type.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderTypeResponse {
    pub order_type: String,
    pub plugin_id: Uuid,
    pub name: String,
    pub version: String,
    pub sha256: String,
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    pub activated_at: DateTime<Utc>,
}

impl From<&Activation> for OrderTypeResponse {
    fn from(a: &Activation) -> Self {
        Self {
            order_type: a.order_type.clone(),
            plugin_id: a.plugin.id.0,
            name: a.plugin.info.name.clone(),
            version: a.plugin.info.version.clone(),
            sha256: a.plugin.sha256.clone(),
            config: a.config.clone(),
            activated_at: a.activated_at,
        }
    }
}
