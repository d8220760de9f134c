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
                    needs_review: false,
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
