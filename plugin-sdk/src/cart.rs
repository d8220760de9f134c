//! The read-only cart a plugin judges.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::money;

/// The cart as a plugin sees it: lines, currency, subtotal and the request context the
/// storefront attached (`distance_km`, `age_verified`, `delivery_slot`, `local_time` …).
///
/// Money is already parsed into [`Decimal`]; nothing here can be changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    pub(crate) cart_id: String,
    pub(crate) currency: String,
    pub(crate) subtotal: Decimal,
    pub(crate) lines: Vec<Line>,
    pub(crate) context: BTreeMap<String, String>,
}

impl Cart {
    /// The cart's id.
    pub fn cart_id(&self) -> &str {
        &self.cart_id
    }

    /// The cart's ISO 4217 currency code, e.g. `USD`.
    pub fn currency(&self) -> &str {
        &self.currency
    }

    /// The subtotal the host computed: the sum of the rounded line totals.
    pub fn subtotal(&self) -> Decimal {
        self.subtotal
    }

    /// The lines, in cart order.
    pub fn lines(&self) -> std::slice::Iter<'_, Line> {
        self.lines.iter()
    }

    /// The line with this id, if the cart has it.
    pub fn line(&self, line_id: &str) -> Option<&Line> {
        self.lines.iter().find(|line| line.line_id == line_id)
    }

    /// `true` when the cart has no lines.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The sum of all line quantities.
    pub fn total_quantity(&self) -> u64 {
        self.lines.iter().map(|line| u64::from(line.quantity)).sum()
    }

    /// A value of the request context, e.g. `cart.context("distance_km")`.
    ///
    /// When the host sent a key twice, the last value wins.
    pub fn context(&self, key: &str) -> Option<&str> {
        self.context.get(key).map(String::as_str)
    }

    /// `true` when the context value of `key` is a yes (`true`, `yes` or `1`, any case).
    pub fn context_flag(&self, key: &str) -> bool {
        self.context(key).is_some_and(is_yes)
    }

    /// Every context pair, sorted by key.
    pub fn context_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.context.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many decimal places an amount in this cart's currency has (2 for USD, 0 for
    /// JPY …); see [`money::minor_units`].
    pub fn minor_units(&self) -> u32 {
        money::minor_units(&self.currency)
    }

    /// Rounds an amount to this cart's currency (half away from zero); see
    /// [`money::round`].
    pub fn round_money(&self, amount: Decimal) -> Decimal {
        money::round(amount, &self.currency)
    }
}

/// One cart line: what was asked for, at which price, from whom, and the attributes of the
/// catalog item and of the line itself (kept apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub(crate) line_id: String,
    pub(crate) sku: String,
    pub(crate) quantity: u32,
    pub(crate) unit_price: Decimal,
    pub(crate) line_total: Decimal,
    pub(crate) category: String,
    pub(crate) seller: Option<String>,
    pub(crate) fulfillment: Option<String>,
    pub(crate) item_attributes: BTreeMap<String, String>,
    pub(crate) line_attributes: BTreeMap<String, String>,
}

impl Line {
    /// The line's stable id; pass it to [`Violation::for_line`](crate::Violation::for_line).
    pub fn line_id(&self) -> &str {
        &self.line_id
    }

    /// The catalog SKU.
    pub fn sku(&self) -> &str {
        &self.sku
    }

    /// How many units (at least 1).
    pub fn quantity(&self) -> u32 {
        self.quantity
    }

    /// The current unit price.
    pub fn unit_price(&self) -> Decimal {
        self.unit_price
    }

    /// `unit_price × quantity`, unrounded.
    pub fn line_total(&self) -> Decimal {
        self.line_total
    }

    /// The catalog category.
    pub fn category(&self) -> &str {
        &self.category
    }

    /// The seller or outlet (a restaurant, a pharmacy …), if the line has one.
    pub fn seller(&self) -> Option<&str> {
        self.seller.as_deref()
    }

    /// The fulfillment mode asked for this line (`delivery`, `pickup` …), if any.
    pub fn fulfillment(&self) -> Option<&str> {
        self.fulfillment.as_deref()
    }

    /// An attribute of the catalog item, e.g. `line.item_attribute("cold_chain")`.
    pub fn item_attribute(&self, key: &str) -> Option<&str> {
        self.item_attributes.get(key).map(String::as_str)
    }

    /// `true` when the catalog item attribute `key` is a yes (`true`, `yes` or `1`, any case).
    pub fn item_flag(&self, key: &str) -> bool {
        self.item_attribute(key).is_some_and(is_yes)
    }

    /// An attribute of the line itself (variant, `prescription_ref` …).
    pub fn line_attribute(&self, key: &str) -> Option<&str> {
        self.line_attributes.get(key).map(String::as_str)
    }

    /// Every catalog item attribute, sorted by key.
    pub fn item_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.item_attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Every line attribute, sorted by key.
    pub fn line_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.line_attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Attribute and context values are strings; these spell "yes".
fn is_yes(value: &str) -> bool {
    let value = value.trim();
    ["true", "yes", "1"]
        .iter()
        .any(|yes| value.eq_ignore_ascii_case(yes))
}
