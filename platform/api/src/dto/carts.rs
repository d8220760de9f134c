use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

use trolley_core::service::MergeSource;
use uuid::Uuid;

use trolley_core::domain::{
    CartView, FulfillmentRules, Judgement, Line, LineView, Replaced, Violation,
};

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
    /// Empty a cart of another order type first instead of answering 409; the answer's
    /// `replaced` then says what was removed.
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ViolationResponse {
    pub code: String,
    pub message: String,
    pub line_id: Option<Uuid>,
    /// `reject`, `block_checkout` or `warning`.
    pub severity: String,
    /// What the shopper changes to fix it, when the order type says: `attributes.<key>` of
    /// the line `line_id`, `context.<key>` (`PUT /v1/carts/{cart_id}/context`), `quantity`,
    /// `seller` or `fulfillment`.
    #[schema(example = "context.delivery_slot")]
    pub field: Option<String>,
}

impl From<&Violation> for ViolationResponse {
    fn from(v: &Violation) -> Self {
        Self {
            code: v.code.clone(),
            message: v.message.clone(),
            line_id: v.line_id.map(|id| id.0),
            severity: v.severity.as_str().to_owned(),
            field: v.field.clone(),
        }
    }
}

/// How the cart's order type allows it to be fulfilled.
#[derive(Debug, Serialize, ToSchema)]
pub struct FulfillmentResponse {
    /// Empty means any mode.
    pub allowed_modes: Vec<String>,
    pub lead_time_minutes: Option<u32>,
    /// `cold_chain`, `age_check`, `prescription`, `delivery_slot` …
    pub requirements: Vec<String>,
    #[schema(value_type = Option<String>)]
    pub max_distance_km: Option<Decimal>,
    pub notes: Vec<String>,
}

impl From<&FulfillmentRules> for FulfillmentResponse {
    fn from(f: &FulfillmentRules) -> Self {
        Self {
            allowed_modes: f.allowed_modes.clone(),
            lead_time_minutes: f.lead_time_minutes,
            requirements: f.requirements.clone(),
            max_distance_km: f.max_distance_km,
            notes: f.notes.clone(),
        }
    }
}

/// The plugin version that judged (priced) this cart.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginRef {
    pub order_type: String,
    pub plugin_id: Uuid,
    pub version: String,
    pub sha256: String,
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
    /// `in_stock`, `low_stock`, `out_of_stock`, `untracked` (no inventory record: always
    /// available), `not_checked` (an `interest` line) or `unavailable` (left the catalog).
    /// A decoration as of this read; only a checkout (or a `reserve` line) holds stock.
    pub availability: String,
    /// Claim strength: `interest`, `soft` or `reserve`.
    pub claim: String,
    /// Until when a `reserve` line's stock is held (renewed by cart activity).
    pub held_until: Option<DateTime<Utc>>,
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
            claim: l.claim.as_str().to_owned(),
            held_until: l.held_until,
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
    /// Fulfillment rules from the cart's order-type plugin.
    pub fulfillment: Option<FulfillmentResponse>,
    /// The plugin version that judged this cart, if one did.
    pub plugin: Option<PluginRef>,
    /// `ok` (judged by `plugin`), `none` (no order type or no active plugin) or
    /// `unavailable` (the plugin failed and the tenant fails open: no fees or violations).
    pub plugin_status: String,
    /// With `plugin_status: unavailable`: why the plugin failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin_failure: Option<PluginFailureResponse>,
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
    /// Present only in the answer to an add with `replace_incompatible: true` that had to
    /// empty the cart: what was removed and why. Reads never carry it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced: Option<ReplacedResponse>,
}

/// Why and what an add with `replace_incompatible: true` removed from the cart before
/// adding its line.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplacedResponse {
    /// `incompatible_order_type`: the cart's lines were of another order type.
    pub reason: String,
    /// The order type the removed lines had.
    pub previous_order_type: Option<String>,
    /// The cart's order type now (the added line's).
    pub order_type: Option<String>,
    /// Every removed line as it was, enough to show the shopper or to add it back.
    pub removed_lines: Vec<RemovedLineResponse>,
}

/// A line removed by an add with `replace_incompatible`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RemovedLineResponse {
    pub line_id: Uuid,
    pub sku: String,
    pub title: Option<String>,
    pub quantity: u32,
    pub attributes: BTreeMap<String, String>,
    pub seller: Option<String>,
    pub fulfillment: Option<String>,
}

impl From<&Replaced> for ReplacedResponse {
    fn from(r: &Replaced) -> Self {
        Self {
            reason: "incompatible_order_type".to_owned(),
            previous_order_type: r.previous_order_type.clone(),
            order_type: r.order_type.clone(),
            removed_lines: r
                .removed_lines
                .iter()
                .map(|l| RemovedLineResponse {
                    line_id: l.line_id.0,
                    sku: l.key.sku.to_string(),
                    title: l.title.clone(),
                    quantity: l.quantity,
                    attributes: l.key.attributes.as_map().clone(),
                    seller: l.key.seller.clone(),
                    fulfillment: l.key.fulfillment.clone(),
                })
                .collect(),
        }
    }
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
            violations: v.violations.iter().map(ViolationResponse::from).collect(),
            fulfillment: v.fulfillment.as_ref().map(FulfillmentResponse::from),
            plugin: match &v.judgement {
                Judgement::Judged(by) => Some(PluginRef {
                    order_type: by.order_type.clone(),
                    plugin_id: by.plugin_id.0,
                    version: by.version.clone(),
                    sha256: by.sha256.clone(),
                }),
                _ => None,
            },
            plugin_status: match &v.judgement {
                Judgement::NotJudged => "none",
                Judgement::Judged(_) => "ok",
                Judgement::Unavailable { .. } => "unavailable",
            }
            .to_owned(),
            plugin_failure: match &v.judgement {
                Judgement::Unavailable {
                    order_type,
                    failure,
                    run_id,
                } => Some(PluginFailureResponse {
                    order_type: order_type.clone(),
                    kind: failure.kind().to_owned(),
                    transient: failure.is_transient(),
                    run_id: run_id.map(|id| id.0),
                }),
                _ => None,
            },
            customer_id: v.customer_id.clone(),
            context: v.context.clone(),
            merged_into: v.merged_into.map(|id| id.0),
            created_at: v.created_at,
            updated_at: v.updated_at,
            expires_at: v.expires_at,
            cart_token: None,
            replaced: None,
        }
    }
}

/// Why a cart was shown without its order type's judgement (fail-open).
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginFailureResponse {
    pub order_type: String,
    /// `deadline_exceeded`, `unavailable` (both transient), `trapped`, `bad_output`,
    /// `out_of_memory`, `output_too_large`, `config_rejected`.
    pub kind: String,
    /// Whether a later read may succeed; otherwise the plugin fails the same way until the
    /// tenant fixes or rolls it back.
    pub transient: bool,
    /// The tenant admin reads it at `GET /v1/admin/order-types/{order_type}/runs/{run_id}`.
    pub run_id: Option<Uuid>,
}

/// `POST /v1/carts/{cart_id}/merge`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The guest cart to absorb. Equal to `{cart_id}`: adopt that guest cart as the
    /// customer's own (when they have no live cart yet).
    pub source_cart_id: Uuid,
    /// The guest cart's token, proving the caller holds it.
    pub source_cart_token: String,
    /// `sum`, `latest`, `keep_target`, `keep_source` or `review`; the tenant's default if
    /// omitted.
    pub policy: Option<crate::dto::tenants::MergePolicyDto>,
}

/// What the merge did to one line key.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergeOutcomeResponse {
    /// Canonical line key (sku, attributes, seller, fulfillment).
    pub line_key: String,
    pub sku: String,
    /// The resulting line in the merged cart; null when nothing was added.
    pub line_id: Option<Uuid>,
    /// `added`, `summed`, `kept_target`, `kept_source`, `conflict_surfaced`, `capped`,
    /// `dropped_unavailable` or `left_in_source` (not moved: the line stays in the guest
    /// cart, which stays active; `reason` says why).
    pub outcome: String,
    pub target_quantity: Option<u32>,
    pub source_quantity: Option<u32>,
    /// Quantity in the merged cart (0: not added).
    pub quantity: u32,
    /// `max_quantity`, `max_lines`, `not_in_catalog`, `incompatible_order_type`, `adopted`.
    pub reason: Option<String>,
}

impl From<&trolley_core::domain::merge::LineOutcome> for MergeOutcomeResponse {
    fn from(o: &trolley_core::domain::merge::LineOutcome) -> Self {
        Self {
            line_key: o.line_key.clone(),
            sku: o.sku.clone(),
            line_id: o.line_id.map(|id| id.0),
            outcome: o.outcome.as_str().to_owned(),
            target_quantity: o.target_quantity,
            source_quantity: o.source_quantity,
            quantity: o.quantity,
            reason: o.reason.clone(),
        }
    }
}

/// The merged cart and every line's outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergeResponse {
    pub cart: CartResponse,
    pub outcomes: Vec<MergeOutcomeResponse>,
    pub policy: String,
    /// True when this source had been merged already: the first merge's outcomes.
    pub replayed: bool,
    /// Where the guest cart stands now.
    pub source: MergeSourceResponse,
}

/// The guest cart after a merge.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergeSourceResponse {
    pub cart_id: Uuid,
    /// `merged` when absorbed. `active` when its lines were of another order type than the
    /// customer's cart: they stayed in it (`left_in_source`), and it is still reachable
    /// with its cart token, to show the shopper, check out on its own, or merge later
    /// (e.g. after the customer cart is emptied). For an adoption, the adopted cart.
    pub status: String,
    pub order_type: Option<String>,
    /// How many of its lines the merge left in it.
    pub lines_left: usize,
}

impl From<&MergeSource> for MergeSourceResponse {
    fn from(s: &MergeSource) -> Self {
        Self {
            cart_id: s.cart_id.0,
            status: s.status.as_str().to_owned(),
            order_type: s.order_type.clone(),
            lines_left: s.lines_left,
        }
    }
}
