use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

use trolley_core::domain::checkout::{SnapshotFee, SnapshotLine};
use trolley_core::domain::{Checkout, Order, StockLevel};
use trolley_core::ports::SweepReport;

/// `PUT /v1/admin/inventory/{sku}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetInventoryRequest {
    /// Units on hand, 0 to 10^9; refused below what is currently held.
    pub on_hand: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryResponse {
    pub sku: String,
    pub on_hand: i64,
    /// Held by `reserve` lines and pending checkouts.
    pub reserved: i64,
    pub available: i64,
}

impl From<&StockLevel> for InventoryResponse {
    fn from(s: &StockLevel) -> Self {
        Self {
            sku: s.sku.to_string(),
            on_hand: s.on_hand,
            reserved: s.reserved,
            available: s.available(),
        }
    }
}

/// `POST /v1/carts/{cart_id}/checkout`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// Bind the current catalog prices even if they changed since the lines were added;
    /// without it such a checkout answers `409 price_changed`.
    #[serde(default)]
    pub accept_price_changes: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotLineResponse {
    pub line_id: Uuid,
    pub sku: String,
    pub title: Option<String>,
    pub quantity: u32,
    /// The bound price and its catalog revision.
    #[schema(value_type = String)]
    pub unit_price: Decimal,
    pub price_revision: i64,
    #[schema(value_type = String)]
    pub line_total: Decimal,
    pub attributes: BTreeMap<String, String>,
    pub seller: Option<String>,
    pub fulfillment: Option<String>,
}

impl From<&SnapshotLine> for SnapshotLineResponse {
    fn from(l: &SnapshotLine) -> Self {
        Self {
            line_id: l.line_id.0,
            sku: l.sku.to_string(),
            title: l.title.clone(),
            quantity: l.quantity,
            unit_price: l.unit_price,
            price_revision: l.price_revision,
            line_total: l.line_total,
            attributes: l.attributes.clone(),
            seller: l.seller.clone(),
            fulfillment: l.fulfillment.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotFeeResponse {
    pub code: String,
    pub label: String,
    #[schema(value_type = String)]
    pub amount: Decimal,
}

impl From<&SnapshotFee> for SnapshotFeeResponse {
    fn from(f: &SnapshotFee) -> Self {
        Self {
            code: f.code.clone(),
            label: f.label.clone(),
            amount: f.amount,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReservationResponse {
    pub sku: String,
    pub quantity: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotFulfillmentResponse {
    pub allowed_modes: Vec<String>,
    pub lead_time_minutes: Option<u32>,
    pub requirements: Vec<String>,
    #[schema(value_type = Option<String>)]
    pub max_distance_km: Option<Decimal>,
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotPluginResponse {
    pub order_type: String,
    pub plugin_id: Uuid,
    pub version: String,
    pub sha256: String,
}

/// A checkout snapshot: binding and immutable; only `status` and `order_id` move.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutResponse {
    pub checkout_id: Uuid,
    pub cart_id: Uuid,
    pub cart_version: i64,
    /// `pending`, `completed`, `cancelled` or `expired`.
    pub status: String,
    pub currency: String,
    pub lines: Vec<SnapshotLineResponse>,
    pub fees: Vec<SnapshotFeeResponse>,
    #[schema(value_type = String)]
    pub subtotal: Decimal,
    #[schema(value_type = String)]
    pub total: Decimal,
    pub fulfillment: Option<SnapshotFulfillmentResponse>,
    /// The plugin version that priced it.
    pub plugin: Option<SnapshotPluginResponse>,
    /// Stock held for it, per tracked sku.
    pub reservations: Vec<ReservationResponse>,
    pub customer_id: Option<String>,
    /// The cart's request context (`PUT /v1/carts/{cart_id}/context`) the snapshot was
    /// priced and judged with.
    pub context: BTreeMap<String, String>,
    pub validated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub order_id: Option<Uuid>,
}

impl From<&Checkout> for CheckoutResponse {
    fn from(c: &Checkout) -> Self {
        let s = &c.snapshot;
        Self {
            checkout_id: s.checkout_id.0,
            cart_id: s.cart_id.0,
            cart_version: s.cart_version,
            status: c.status.as_str().to_owned(),
            currency: s.currency.clone(),
            lines: s.lines.iter().map(SnapshotLineResponse::from).collect(),
            fees: s.fees.iter().map(SnapshotFeeResponse::from).collect(),
            subtotal: s.subtotal,
            total: s.total,
            fulfillment: s.fulfillment.as_ref().map(|f| SnapshotFulfillmentResponse {
                allowed_modes: f.allowed_modes.clone(),
                lead_time_minutes: f.lead_time_minutes,
                requirements: f.requirements.clone(),
                max_distance_km: f.max_distance_km,
                notes: f.notes.clone(),
            }),
            plugin: s.plugin.as_ref().map(|p| SnapshotPluginResponse {
                order_type: p.order_type.clone(),
                plugin_id: p.plugin_id,
                version: p.version.clone(),
                sha256: p.sha256.clone(),
            }),
            reservations: s
                .reservations
                .iter()
                .map(|r| ReservationResponse {
                    sku: r.sku.to_string(),
                    quantity: r.quantity,
                })
                .collect(),
            customer_id: s.customer_id.clone(),
            context: s.context.clone(),
            validated_at: s.validated_at,
            expires_at: s.expires_at,
            order_id: c.order_id.map(|id| id.0),
        }
    }
}

/// An order, made from a checkout snapshot.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderResponse {
    pub order_id: Uuid,
    pub checkout_id: Uuid,
    pub cart_id: Uuid,
    pub customer_id: Option<String>,
    /// `placed`.
    pub status: String,
    pub currency: String,
    pub lines: Vec<SnapshotLineResponse>,
    pub fees: Vec<SnapshotFeeResponse>,
    #[schema(value_type = String)]
    pub subtotal: Decimal,
    #[schema(value_type = String)]
    pub total: Decimal,
    /// The request context its checkout snapshot was priced and judged with.
    pub context: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
}

impl From<&Order> for OrderResponse {
    fn from(o: &Order) -> Self {
        Self {
            order_id: o.order_id.0,
            checkout_id: o.checkout_id.0,
            cart_id: o.cart_id.0,
            customer_id: o.customer_id.clone(),
            status: o.status.clone(),
            currency: o.currency.clone(),
            lines: o.lines.iter().map(SnapshotLineResponse::from).collect(),
            fees: o.fees.iter().map(SnapshotFeeResponse::from).collect(),
            subtotal: o.subtotal,
            total: o.total,
            context: o.context.clone(),
            created_at: o.created_at,
        }
    }
}

/// What one sweep did (on this node; another node's concurrent sweep counts its own).
#[derive(Debug, Serialize, ToSchema)]
pub struct SweepResponse {
    /// Reserve-line holds past their expiry, released.
    pub holds_released: u64,
    /// Pending checkouts past their expiry: holds released, carts unfrozen.
    pub checkouts_expired: u64,
    /// Idle carts past their TTL, expired.
    pub carts_expired: u64,
    /// Ended carts past their tenant's `cart_retention_days`, deleted with their lines.
    pub carts_deleted: u64,
    /// Ended checkouts past their tenant's `cart_retention_days`, deleted (orders stay).
    pub checkouts_deleted: u64,
    /// Idempotency records older than their 24 h retention, deleted.
    pub idempotency_records_purged: u64,
}

impl From<&SweepReport> for SweepResponse {
    fn from(r: &SweepReport) -> Self {
        Self {
            holds_released: r.holds_released,
            checkouts_expired: r.checkouts_expired,
            carts_expired: r.carts_expired,
            carts_deleted: r.carts_deleted,
            checkouts_deleted: r.checkouts_deleted,
            idempotency_records_purged: r.idempotency_records_purged,
        }
    }
}
