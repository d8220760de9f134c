use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use trolley_core::domain::{AuditEntry, AuditPage};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries per page: 1–200, default 50.
    pub limit: Option<u64>,
    /// Only entries older than this one: the `next_before` of the previous page.
    pub before: Option<Uuid>,
}

/// One admin (or operator) change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryResponse {
    /// UUID v7.
    pub audit_id: Uuid,
    pub tenant_id: Uuid,
    /// The `key_id` of the API key that made the change, or `operator`.
    pub actor: String,
    /// `catalog.upsert`, `catalog.delete`, `inventory.set`, `config.put`, `config.patch`,
    /// `plugin.upload`, `order_type.activate`, `order_type.rollback`, `tenant.create`,
    /// `tenant.update`, `api_key.create`, `api_key.revoke`, `customer_token_secret.create`,
    /// `customer_token_secret.delete`.
    pub action: String,
    /// A sku, an order type, a plugin id, `config`, the tenant id, a key id or a
    /// customer-token secret id.
    pub target: String,
    /// The thing before the change; `null` when it did not exist.
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    /// The thing after the change; `null` when it no longer exists.
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
    pub at: DateTime<Utc>,
}

impl From<&AuditEntry> for AuditEntryResponse {
    fn from(e: &AuditEntry) -> Self {
        Self {
            audit_id: e.id,
            tenant_id: e.tenant_id.0,
            actor: e.actor.to_string(),
            action: e.action.clone(),
            target: e.target.clone(),
            before: e.before.clone(),
            after: e.after.clone(),
            at: e.at,
        }
    }
}

/// A page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPageResponse {
    pub entries: Vec<AuditEntryResponse>,
    /// Pass as `before` for the next (older) page; `null` on the last page.
    pub next_before: Option<Uuid>,
}

impl From<&AuditPage> for AuditPageResponse {
    fn from(page: &AuditPage) -> Self {
        Self {
            entries: page.entries.iter().map(AuditEntryResponse::from).collect(),
            next_before: page.next_before,
        }
    }
}
