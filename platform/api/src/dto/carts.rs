use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use trolley_core::domain::{CartView, Line, LineView};

/// `POST /v1/carts`. A customer token makes a customer cart (or returns the customer's live
/// one); without one the cart is a guest cart and the answer carries its `cart_token`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCartRequest {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddLineRequest {
    pub sku: String,
    /// 1 to the tenant's `max_quantity` (999 by default).
    pub quantity: i64,
    /// Variant attributes (colour, size …): part of the line's identity.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Seller/outlet; defaults to the catalog item's.
    pub seller: Option<String>,
    /// Fulfillment mode, e.g. `delivery` or `pickup`.
    pub fulfillment: Option<String>,
    /// Empty a cart of another order type first instead of answering 409.
    #[serde(default)]
    pub replace_incompatible: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchLineRequest {
    pub quantity: i64,
    /// The line version the client last saw; a stale one answers `409 line_conflict`.
    pub expected_line_version: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RemoveLineQuery {
    /// The line version the client last saw; a stale one answers `409 line_conflict`.
    pub expected_line_version: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeeResponse {
    pub code: String,
    pub label: String,
    #[schema(value_type = String)]
    pub amount: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ViolationResponse {
    pub code: String,
    pub message: String,
    pub line_id: Option<Uuid>,
    /// `reject`, `block_checkout` or `warning`.
    pub severity: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineResponse {
    pub line_id: Uuid,
    pub sku: String,
    pub title: Option<String>,
    pub category: String,
    pub quantity: u32,
    pub line_version: i64,
    /// The current catalog price.
    #[schema(value_type = String, example = "12.50")]
    pub unit_price: Decimal,
    /// The price when the line was added.
    #[schema(value_type = String, example = "12.00")]
    pub added_unit_price: Decimal,
    /// The catalog price differs from the price at add.
    pub price_changed: bool,
    /// `unit_price` × `quantity`, rounded to the currency.
    #[schema(value_type = String, example = "25.00")]
    pub line_total: Decimal,
    pub attributes: BTreeMap<String, String>,
    pub seller: Option<String>,
    pub fulfillment: Option<String>,
    /// `untracked` (no inventory record: always available) or `unavailable` (the sku left
    /// the catalog).
    pub availability: String,
    pub needs_review: bool,
    pub updated_at: DateTime<Utc>,
}

impl From<&LineView> for LineResponse {
    fn from(l: &LineView) -> Self {
        Self {
            line_id: l.line_id.0,
            sku: l.sku.to_string(),
            title: l.title.clone(),
            category: l.category.clone(),
            quantity: l.quantity,
            line_version: l.line_version,
            unit_price: l.unit_price,
            added_unit_price: l.added_unit_price,
            price_changed: l.price_changed,
            line_total: l.line_total,
            attributes: l.attributes.as_map().clone(),
            seller: l.seller.clone(),
            fulfillment: l.fulfillment.clone(),
            availability: l.availability.as_str().to_owned(),
            needs_review: l.needs_review,
            updated_at: l.updated_at,
        }
    }
}

/// The line as stored, carried by `409 line_conflict` so the client can reconcile.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentLine {
    pub line_id: Uuid,
    pub sku: String,
    pub quantity: u32,
    pub line_version: i64,
    pub attributes: BTreeMap<String, String>,
    pub seller: Option<String>,
    pub fulfillment: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Line> for CurrentLine {
    fn from(l: &Line) -> Self {
        Self {
            line_id: l.id.0,
            sku: l.key.sku.to_string(),
            quantity: l.quantity.get(),
            line_version: l.line_version,
            attributes: l.key.attributes.as_map().clone(),
            seller: l.key.seller.clone(),
            fulfillment: l.key.fulfillment.clone(),
            updated_at: l.updated_at,
        }
    }
}

/// The assembled cart (SPEC §10). `subtotal` and `total` are provisional: the binding
/// numbers exist only in a checkout snapshot.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartResponse {
    pub cart_id: Uuid,
    /// `active`, `checking_out`, `converted`, `merged` or `expired`.
    pub status: String,
    pub order_type: Option<String>,
    pub currency: String,
    /// Increments on every mutation; also the `ETag`.
    pub version: i64,
    pub lines: Vec<LineResponse>,
    #[schema(value_type = String, example = "25.00")]
    pub subtotal: Decimal,
    /// Fees from the cart's order-type plugin.
    pub fees: Vec<FeeResponse>,
    #[schema(value_type = String, example = "25.00")]
    pub total: Decimal,
    /// Findings of the cart's order-type plugin.
    pub violations: Vec<ViolationResponse>,
    /// Fulfillment rules from the cart's order-type plugin, once it has one.
    #[schema(value_type = Option<Object>)]
    pub fulfillment: Option<serde_json::Value>,
    pub customer_id: Option<String>,
    /// Request context passed to order-type plugins.
    pub context: BTreeMap<String, String>,
    pub merged_into: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the cart expires if left idle.
    pub expires_at: DateTime<Utc>,
    /// The guest cart's secret, present only in the answer that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cart_token: Option<String>,
}

impl From<&CartView> for CartResponse {
    fn from(v: &CartView) -> Self {
        Self {
            cart_id: v.cart_id.0,
            status: v.status.as_str().to_owned(),
            order_type: v.order_type.clone(),
            currency: v.currency.code().to_owned(),
            version: v.version,
            lines: v.lines.iter().map(LineResponse::from).collect(),
            subtotal: v.subtotal,
            fees: v
                .fees
                .iter()
                .map(|f| FeeResponse {
                    code: f.code.clone(),
                    label: f.label.clone(),
                    amount: f.amount,
                })
                .collect(),
            total: v.total,
            violations: v
                .violations
                .iter()
                .map(|x| ViolationResponse {
                    code: x.code.clone(),
                    message: x.message.clone(),
                    line_id: x.line_id.map(|id| id.0),
                    severity: x.severity.as_str().to_owned(),
                })
                .collect(),
            fulfillment: None,
            customer_id: v.customer_id.clone(),
            context: v.context.clone(),
            merged_into: v.merged_into.map(|id| id.0),
            created_at: v.created_at,
            updated_at: v.updated_at,
            expires_at: v.expires_at,
            cart_token: None,
        }
    }
}
