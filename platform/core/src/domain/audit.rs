//! The audit trail: who changed what in a tenant, and how it looked before and after.
//!
//! Entries are written by the same store call as the change they describe (inside its
//! transaction where it has one), so a change and its entry are never one without the
//! other. `before`/`after` are JSON snapshots shaped here, once, so every adapter writes
//! the same document for the same change.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::fmt;
use uuid::Uuid;

use super::catalog::CatalogItem;
use super::credentials::{ApiKeyInfo, CustomerTokenSecret};
use super::ids::TenantId;
use super::inventory::StockLevel;
use super::plugin::{Activation, PluginRecord};
use super::tenant::{Tenant, TenantConfig};

/// Who made a change: an API key (by its id, never its secret) or the platform operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    ApiKey(Uuid),
    Operator,
}

impl Actor {
    const OPERATOR: &'static str = "operator";

    /// The stored form: the key's UUID, or `operator`.
    pub fn parse(s: &str) -> Option<Self> {
        if s == Self::OPERATOR {
            return Some(Actor::Operator);
        }
        Uuid::parse_str(s).ok().map(Actor::ApiKey)
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::ApiKey(id) => id.fmt(f),
            Actor::Operator => f.write_str(Self::OPERATOR),
        }
    }
}

/// What kind of change an entry records. Stored as its string, which is part of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// A catalog item written by `PUT …/items/{sku}` or one item of a batch.
    CatalogUpsert,
    CatalogDelete,
    InventorySet,
    ConfigPut,
    ConfigPatch,
    PluginUpload,
    OrderTypeActivate,
    OrderTypeRollback,
    TenantCreate,
    TenantUpdate,
    ApiKeyCreate,
    ApiKeyRevoke,
    CustomerTokenSecretCreate,
    CustomerTokenSecretDelete,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::CatalogUpsert => "catalog.upsert",
            AuditAction::CatalogDelete => "catalog.delete",
            AuditAction::InventorySet => "inventory.set",
            AuditAction::ConfigPut => "config.put",
            AuditAction::ConfigPatch => "config.patch",
            AuditAction::PluginUpload => "plugin.upload",
            AuditAction::OrderTypeActivate => "order_type.activate",
            AuditAction::OrderTypeRollback => "order_type.rollback",
            AuditAction::TenantCreate => "tenant.create",
            AuditAction::TenantUpdate => "tenant.update",
            AuditAction::ApiKeyCreate => "api_key.create",
            AuditAction::ApiKeyRevoke => "api_key.revoke",
            AuditAction::CustomerTokenSecretCreate => "customer_token_secret.create",
            AuditAction::CustomerTokenSecretDelete => "customer_token_secret.delete",
        }
    }
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// UUID v7: entries sort by id newest last, which is what pagination walks.
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub actor: Actor,
    /// An [`AuditAction`] string. Kept as text on the way out so entries written by an
    /// older or newer release still read.
    pub action: String,
    /// What changed: a sku, an order type, a plugin id, `config`, the tenant id.
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub at: DateTime<Utc>,
}

impl AuditEntry {
    pub fn new(
        tenant_id: TenantId,
        actor: Actor,
        action: AuditAction,
        target: impl Into<String>,
        before: Option<Value>,
        after: Option<Value>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            tenant_id,
            actor,
            action: action.as_str().to_owned(),
            target: target.into(),
            before,
            after,
            at,
        }
    }
}

/// One page of a tenant's audit log, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// The cursor for the next (older) page; `None` on the last one.
    pub next_before: Option<Uuid>,
}

/// The most entries one page of the audit log holds.
pub const MAX_AUDIT_PAGE: u64 = 200;
/// A page's size when the caller names none.
pub const DEFAULT_AUDIT_PAGE: u64 = 50;

/// The JSON snapshots entries hold: the same fields (and spelling) the admin API shows.
pub mod snapshot {
    use super::*;

    pub fn catalog_item(item: &CatalogItem) -> Value {
        json!({
            "sku": item.sku.as_str(),
            "price": item.price.amount().to_string(),
            "currency": item.price.currency().code(),
            "price_revision": item.price_revision,
            "category": item.category,
            "seller": item.seller,
            "attributes": serde_json::to_value(&item.attributes).unwrap_or(Value::Null),
            "claim_policy": item.claim_policy.map(|p| p.as_str()),
            "title": item.title,
        })
    }

    pub fn stock(level: &StockLevel) -> Value {
        json!({
            "sku": level.sku.as_str(),
            "on_hand": level.on_hand,
            "reserved": level.reserved,
        })
    }

    pub fn config(config: &TenantConfig) -> Value {
        serde_json::to_value(config).unwrap_or(Value::Null)
    }

    pub fn plugin(record: &PluginRecord) -> Value {
        json!({
            "plugin_id": record.id.to_string(),
            "order_type": record.info.order_type,
            "name": record.info.name,
            "version": record.info.version,
            "sha256": record.sha256,
            "size_bytes": record.size_bytes,
        })
    }

    pub fn activation(activation: &Activation) -> Value {
        json!({
            "order_type": activation.order_type,
            "plugin_id": activation.plugin.id.to_string(),
            "version": activation.plugin.info.version,
            "config": activation.config,
        })
    }

    /// A key as `GET /v1/admin/api-keys` lists it: never its secret (nor its hash).
    pub fn api_key(key: &ApiKeyInfo) -> Value {
        json!({
            "key_id": key.id.to_string(),
            "kind": key.kind.as_str(),
            "name": key.name,
            "created_at": key.created_at.to_rfc3339(),
            "revoked_at": key.revoked_at.map(|t| t.to_rfc3339()),
        })
    }

    /// Its id and age only: the log is readable by every admin key.
    pub fn customer_token_secret(secret: &CustomerTokenSecret) -> Value {
        json!({
            "secret_id": secret.id.to_string(),
            "created_at": secret.created_at.to_rfc3339(),
        })
    }

    /// Never the customer-token secret: the log is readable by every admin key.
    pub fn tenant(tenant: &Tenant) -> Value {
        json!({
            "tenant_id": tenant.id.to_string(),
            "name": tenant.name,
            "currency": tenant.currency.code(),
            "status": tenant.status.as_str(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_round_trip_through_their_stored_form() {
        let key = Actor::ApiKey(Uuid::now_v7());
        assert_eq!(Actor::parse(&key.to_string()), Some(key));
        assert_eq!(Actor::parse("operator"), Some(Actor::Operator));
        assert_eq!(Actor::parse("someone"), None);
    }
}
