//! The assembled cart a shopper reads: durable lines, priced against the current catalog.
//!
//! Commercial truth is derived at read time (SPEC §1): each line is priced at the catalog's
//! current price and flagged `price_changed` when that differs from the price it was added
//! at; the subtotal is the sum of the rounded line totals at current prices.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::collections::HashMap;

use super::cart::{Cart, CartStatus, Context, line_total};
use super::catalog::{CatalogItem, ClaimPolicy};
use super::ids::{CartId, LineId};
use super::line_key::{Attributes, Sku};
use super::money::Currency;
use super::plugin::{Evaluation, FulfillmentRules, PluginId};

/// Whether a line can still be had, as of this read (allocation truth ages in
/// milliseconds: it is decoration, never a promise — only a checkout holds stock for sure,
/// and a `reserve` line holds its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// No inventory record: always available, never held (SPEC §1).
    Untracked,
    /// Enough stock for the line's quantity.
    InStock,
    /// Enough, but at or under the tenant's low-stock threshold.
    LowStock,
    /// Not enough stock for the line's quantity.
    OutOfStock,
    /// An `interest` line: stock is not checked until checkout.
    NotChecked,
    /// The sku left the catalog.
    Unavailable,
}

impl Availability {
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Untracked => "untracked",
            Availability::InStock => "in_stock",
            Availability::LowStock => "low_stock",
            Availability::OutOfStock => "out_of_stock",
            Availability::NotChecked => "not_checked",
            Availability::Unavailable => "unavailable",
        }
    }

    /// How a line of `quantity` shows against `available` units (its own hold included).
    pub fn of(available: i64, quantity: u32, low_stock_threshold: u32) -> Self {
        if available < i64::from(quantity) {
            Availability::OutOfStock
        } else if available - i64::from(quantity) < i64::from(low_stock_threshold) {
            Availability::LowStock
        } else {
            Availability::InStock
        }
    }
}

/// A fee an order type charges (delivery, bag, small basket …).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fee {
    pub code: String,
    pub label: String,
    pub amount: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Severity {
    /// Refuses the mutation that caused it.
    Reject,
    /// The cart may exist but cannot check out.
    BlockCheckout,
    /// Shown only.
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Reject => "reject",
            Severity::BlockCheckout => "block_checkout",
            Severity::Warning => "warning",
        }
    }
}

/// An order type's finding about a cart.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Violation {
    pub code: String,
    pub message: String,
    pub line_id: Option<LineId>,
    pub severity: Severity,
    /// What the shopper changes to fix it, when the plugin says (contract 1.1):
    /// `attributes.<key>` of the line named by `line_id`, `context.<key>`, `quantity`,
    /// `seller` or `fulfillment`. Storefronts point the shopper at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LineView {
    pub line_id: LineId,
    pub sku: Sku,
    pub title: Option<String>,
    pub category: String,
    pub quantity: u32,
    pub line_version: i64,
    /// The current catalog price (the price at add if the item left the catalog).
    pub unit_price: Decimal,
    /// The price when the line was added.
    pub added_unit_price: Decimal,
    pub price_changed: bool,
    pub line_total: Decimal,
    pub attributes: Attributes,
    pub seller: Option<String>,
    pub fulfillment: Option<String>,
    pub availability: Availability,
    /// The line's claim strength (catalog item's policy, else the tenant default).
    pub claim: ClaimPolicy,
    /// Until when a `reserve` line's stock is held.
    pub held_until: Option<DateTime<Utc>>,
    pub needs_review: bool,
    pub updated_at: DateTime<Utc>,
}

/// Which plugin version judged (priced) a cart view.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedBy {
    pub order_type: String,
    pub plugin_id: PluginId,
    pub version: String,
    pub sha256: String,
}

/// What the order type had to say about a cart view.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Judgement {
    /// The cart has no order type, or no plugin is active for it.
    #[default]
    NotJudged,
    /// The plugin answered.
    Judged(PricedBy),
    /// The plugin failed and the tenant's fail mode is `open`: the cart is shown without
    /// fees, violations or fulfillment rules.
    Unavailable {
        order_type: String,
        failure: super::plugin::PluginError,
        /// The run record of the failure, when one was kept.
        run_id: Option<super::ids::PluginRunId>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct CartView {
    pub cart_id: CartId,
    pub status: CartStatus,
    pub order_type: Option<String>,
    pub currency: Currency,
    pub version: i64,
    pub lines: Vec<LineView>,
    pub subtotal: Decimal,
    /// The order type's fees and findings; empty while the cart has no order-type plugin.
    pub fees: Vec<Fee>,
    pub violations: Vec<Violation>,
    pub fulfillment: Option<FulfillmentRules>,
    pub judgement: Judgement,
    /// Subtotal plus fees.
    pub total: Decimal,
    pub customer_id: Option<String>,
    pub context: Context,
    pub merged_into: Option<CartId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl CartView {
    /// Prices `cart` against `catalog` (the current items for the cart's skus).
    pub fn assemble(cart: &Cart, catalog: &HashMap<Sku, CatalogItem>) -> Self {
        let lines: Vec<LineView> = cart
            .lines
            .iter()
            .map(|line| {
                let current = catalog.get(line.sku());
                let price = current.map_or(line.unit_price, |item| item.price);
                LineView {
                    line_id: line.id,
                    sku: line.key.sku.clone(),
                    title: line.title.clone(),
                    category: line.category.clone(),
                    quantity: line.quantity.get(),
                    line_version: line.line_version,
                    unit_price: price.amount(),
                    added_unit_price: line.unit_price.amount(),
                    price_changed: price != line.unit_price,
                    line_total: line_total(price, line.quantity),
                    attributes: line.key.attributes.clone(),
                    seller: line.key.seller.clone(),
                    fulfillment: line.key.fulfillment.clone(),
                    availability: if current.is_some() {
                        Availability::Untracked
                    } else {
                        Availability::Unavailable
                    },
                    claim: current
                        .and_then(|item| item.claim_policy)
                        .unwrap_or(ClaimPolicy::Soft),
                    held_until: None,
                    needs_review: line.needs_review(),
                    updated_at: line.updated_at,
                }
            })
            .collect();
        let mut subtotal: Decimal = lines.iter().map(|l| l.line_total).sum();
        // Always show the currency's decimal places: "0.00", not "0".
        subtotal.rescale(cart.currency.exponent());
        Self {
            cart_id: cart.id,
            status: cart.status,
            order_type: cart.order_type.clone(),
            currency: cart.currency,
            version: cart.version,
            lines,
            subtotal,
            // Fees and violations come from the cart's order-type plugin (none judges a
            // cart yet), so the total is the subtotal.
            fees: Vec::new(),
            violations: Vec::new(),
            fulfillment: None,
            judgement: Judgement::NotJudged,
            total: subtotal,
            customer_id: cart.owner.customer_id().map(str::to_owned),
            context: cart.context.clone(),
            merged_into: cart.merged_into,
            created_at: cart.created_at,
            updated_at: cart.updated_at,
            expires_at: cart.expires_at,
        }
    }
}

impl CartView {
    /// Applies an order type's evaluation: its fees (rounded to the currency), violations
    /// and fulfillment rules, and the total they make.
    pub fn judged(mut self, evaluation: Evaluation, by: PricedBy) -> Self {
        let currency = self.currency;
        self.fees = evaluation
            .fees
            .into_iter()
            .map(|mut fee| {
                fee.amount = currency.round(fee.amount);
                fee.amount.rescale(currency.exponent());
                fee
            })
            .collect();
        self.violations = evaluation.violations;
        self.fulfillment = Some(evaluation.fulfillment);
        self.total = self.subtotal + self.fees.iter().map(|f| f.amount).sum::<Decimal>();
        self.total.rescale(currency.exponent());
        self.judgement = Judgement::Judged(by);
        self
    }

    /// Violations that refuse the mutation that caused them.
    pub fn rejections(&self) -> Vec<Violation> {
        self.violations
            .iter()
            .filter(|v| v.severity == Severity::Reject)
            .cloned()
            .collect()
    }
}

/// Stock as one read sees it: levels of the tracked skus and the cart's own holds.
#[derive(Debug, Clone, Default)]
pub struct StockView {
    pub levels: HashMap<Sku, super::inventory::StockLevel>,
    /// Per line: units held and until when.
    pub holds: HashMap<LineId, (u32, DateTime<Utc>)>,
    /// Per sku: units the cart's pending checkout reserves. While a cart checks out its
    /// lines hold their stock through the checkout, not through line holds.
    pub checkout_holds: HashMap<Sku, u32>,
    pub default_claim: ClaimPolicy,
    pub low_stock_threshold: u32,
}

impl CartView {
    /// Decorates each line with its claim strength and availability.
    pub fn with_stock(mut self, stock: &StockView, catalog: &HashMap<Sku, CatalogItem>) -> Self {
        // The checkout's reservation of a sku, shared out over that sku's lines in order.
        let mut reserved_for_us = stock.checkout_holds.clone();
        for line in &mut self.lines {
            let Some(item) = catalog.get(&line.sku) else {
                continue; // left the catalog: stays `unavailable`
            };
            line.claim = item.claim_policy.unwrap_or(stock.default_claim);
            let hold = stock.holds.get(&line.line_id);
            line.held_until = hold.map(|(_, until)| *until);
            line.availability = match (line.claim, stock.levels.get(&line.sku)) {
                (ClaimPolicy::Interest, _) => Availability::NotChecked,
                (_, None) => Availability::Untracked,
                (_, Some(level)) => {
                    // A line's own hold, and its share of the checkout's, is stock it
                    // already has.
                    let by_checkout = reserved_for_us.get_mut(&line.sku).map_or(0, |left| {
                        let mine = (*left).min(line.quantity);
                        *left -= mine;
                        mine
                    });
                    let own = hold.map_or(0, |(q, _)| i64::from(*q)) + i64::from(by_checkout);
                    Availability::of(
                        level.available() + own,
                        line.quantity,
                        stock.low_stock_threshold,
                    )
                }
            };
        }
        self
    }
}
