//! Checkout snapshots and orders (SPEC §4): the binding, immutable numbers of a cart at one
//! moment, with its stock held; an order is made from a snapshot, never from the live cart.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::cart::Context;
use super::ids::{CartId, LineId, TenantId};
pub use super::ids::{CheckoutId, OrderId};
use super::line_key::Sku;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutStatus {
    /// Stock held, waiting for complete or cancel.
    Pending,
    Completed,
    Cancelled,
    /// Not completed in time; its holds were released.
    Expired,
}

impl CheckoutStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckoutStatus::Pending => "pending",
            CheckoutStatus::Completed => "completed",
            CheckoutStatus::Cancelled => "cancelled",
            CheckoutStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            CheckoutStatus::Pending,
            CheckoutStatus::Completed,
            CheckoutStatus::Cancelled,
            CheckoutStatus::Expired,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// One line with its bound price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotLine {
    pub line_id: LineId,
    pub sku: Sku,
    pub title: Option<String>,
    pub quantity: u32,
    /// The price bound at checkout, and its catalog revision.
    pub unit_price: Decimal,
    pub price_revision: i64,
    pub line_total: Decimal,
    pub attributes: BTreeMap<String, String>,
    pub seller: Option<String>,
    pub fulfillment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotFee {
    pub code: String,
    pub label: String,
    pub amount: Decimal,
}

/// The plugin version that priced the snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotPlugin {
    pub order_type: String,
    pub plugin_id: uuid::Uuid,
    pub version: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotFulfillment {
    pub allowed_modes: Vec<String>,
    pub lead_time_minutes: Option<u32>,
    pub requirements: Vec<String>,
    pub max_distance_km: Option<Decimal>,
    pub notes: Vec<String>,
}

/// Stock held for the snapshot, per sku (untracked skus hold nothing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotReservation {
    pub sku: Sku,
    pub quantity: u32,
}

/// The immutable part of a checkout: written once, read back byte for byte.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckoutSnapshot {
    pub checkout_id: CheckoutId,
    pub cart_id: CartId,
    /// The cart version the snapshot was taken from.
    pub cart_version: i64,
    pub currency: String,
    pub lines: Vec<SnapshotLine>,
    pub fees: Vec<SnapshotFee>,
    pub subtotal: Decimal,
    pub total: Decimal,
    pub fulfillment: Option<SnapshotFulfillment>,
    pub plugin: Option<SnapshotPlugin>,
    pub reservations: Vec<SnapshotReservation>,
    pub customer_id: Option<String>,
    /// The cart's request context (`delivery_slot`, `distance_km`, `age_verified` …) the
    /// order type priced and judged it with, so support can see what the shopper saw.
    /// Stored inside the snapshot document (no column of its own); snapshots written
    /// before it existed read back with an empty one.
    #[serde(default)]
    pub context: Context,
    pub validated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A checkout as stored: the snapshot and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkout {
    pub tenant_id: TenantId,
    pub snapshot: CheckoutSnapshot,
    pub status: CheckoutStatus,
    pub order_id: Option<OrderId>,
}

/// An order: made exactly once from a completed checkout's snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: OrderId,
    pub tenant_id: TenantId,
    pub checkout_id: CheckoutId,
    pub cart_id: CartId,
    pub customer_id: Option<String>,
    /// `placed`.
    pub status: String,
    pub currency: String,
    pub lines: Vec<SnapshotLine>,
    pub fees: Vec<SnapshotFee>,
    pub subtotal: Decimal,
    pub total: Decimal,
    /// The snapshot's request context, carried into the order document (older orders
    /// read back with an empty one).
    #[serde(default)]
    pub context: Context,
    pub created_at: DateTime<Utc>,
}

/// A sku a checkout could not hold enough of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shortage {
    pub sku: Sku,
    pub requested: u32,
    pub available: i64,
    /// The cart lines that asked for it.
    pub line_ids: Vec<LineId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> CheckoutSnapshot {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        CheckoutSnapshot {
            checkout_id: CheckoutId::new(),
            cart_id: CartId::new(),
            cart_version: 3,
            currency: "USD".into(),
            lines: Vec::new(),
            fees: Vec::new(),
            subtotal: Decimal::ZERO,
            total: Decimal::ZERO,
            fulfillment: None,
            plugin: None,
            reservations: Vec::new(),
            customer_id: None,
            context: Context::from([("distance_km".to_owned(), "3.2".to_owned())]),
            validated_at: at,
            expires_at: at,
        }
    }

    #[test]
    fn the_context_is_kept_in_the_stored_document() {
        let snap = snapshot();
        let json = serde_json::to_string(&snap).unwrap();
        let back: CheckoutSnapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, snap);
    }

    #[test]
    fn documents_stored_before_the_context_read_back_with_none() {
        let mut json = serde_json::to_value(snapshot()).unwrap();
        json.as_object_mut().unwrap().remove("context");
        let back: CheckoutSnapshot = serde_json::from_value(json).unwrap();
        assert!(back.context.is_empty());
    }
}
