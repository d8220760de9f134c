//! The assembled cart a shopper reads: durable lines, priced against the current catalog.
//!
//! Commercial truth is derived at read time (SPEC §1): each line is priced at the catalog's
//! current price and flagged `price_changed` when that differs from the price it was added
//! at; the subtotal is the sum of the rounded line totals at current prices.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::collections::HashMap;

use super::cart::{Cart, CartStatus, Context, line_total};
use super::catalog::CatalogItem;
use super::ids::{CartId, LineId};
use super::line_key::{Attributes, Sku};
use super::money::Currency;
use super::plugin::{Evaluation, FulfillmentRules, PluginId};

/// Whether a line can still be had. Inventory tracking is not in place yet, so every sku
/// that is still in the catalog is untracked (always available, SPEC §1); one that left
/// the catalog is unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Untracked,
    Unavailable,
}

impl Availability {
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Untracked => "untracked",
            Availability::Unavailable => "unavailable",
        }
    }
}

/// A fee an order type charges (delivery, bag, small basket …).
#[derive(Debug, Clone, PartialEq)]
pub struct Fee {
    pub code: String,
    pub label: String,
    pub amount: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub code: String,
    pub message: String,
    pub line_id: Option<LineId>,
    pub severity: Severity,
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
    Unavailable { order_type: String, reason: String },
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
