//! The read-only cart a plugin judges.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::Decimal;

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
    /// Sorted by key, one pair per key (see [`sorted_context`]): a `BTreeMap`'s code is
    /// ~3 KB of WebAssembly for a handful of pairs.
    pub(crate) context: Vec<(String, String)>,
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
        self.lines.iter().find(|line| line.line_id() == line_id)
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
        self.context
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .and_then(|index| self.context.get(index))
            .map(|(_, value)| value.as_str())
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

/// Sorts context pairs by key; of pairs with the same key, the later one wins.
pub(crate) fn sorted_context(
    pairs: impl IntoIterator<Item = (String, String)>,
) -> Vec<(String, String)> {
    let mut sorted: Vec<(String, String)> = Vec::new();
    for pair in pairs {
        match sorted.binary_search_by(|kept| kept.0.cmp(&pair.0)) {
            Ok(index) => {
                if let Some(kept) = sorted.get_mut(index) {
                    *kept = pair;
                }
            }
            Err(index) => sorted.insert(index, pair),
        }
    }
    sorted
}

/// A byte range of a line's text, on character boundaries (checked when the line is built).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TextSpan {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// An attribute: key and value spans of a line's text.
pub(crate) type AttrSpans = (TextSpan, TextSpan);

/// One cart line: what was asked for, at which price, from whom, and the attributes of the
/// catalog item and of the line itself (kept apart).
///
/// Its strings live in one buffer shared by every line of the cart (the packed cart the
/// host sent), so unpacking a cart costs a handful of allocations, not several per line.
#[derive(Clone)]
pub struct Line {
    pub(crate) text: Arc<str>,
    pub(crate) line_id: TextSpan,
    pub(crate) sku: TextSpan,
    pub(crate) quantity: u32,
    pub(crate) unit_price: Decimal,
    pub(crate) line_total: Decimal,
    pub(crate) category: TextSpan,
    pub(crate) seller: Option<TextSpan>,
    pub(crate) fulfillment: Option<TextSpan>,
    /// Sorted by key, one pair per key (see [`sorted_attributes`]).
    pub(crate) item_attributes: Vec<AttrSpans>,
    /// Sorted by key, one pair per key.
    pub(crate) line_attributes: Vec<AttrSpans>,
}

/// Sorts attribute pairs by key; of pairs with the same key, the later one wins.
///
/// Inserted one by one into a sorted list rather than sorted with `sort_by` (a line has a
/// handful of attributes): the standard library's stable sort is ~5 KB of WebAssembly per use.
pub(crate) fn sorted_attributes(text: &str, pairs: Vec<AttrSpans>) -> Vec<AttrSpans> {
    let key = |span: TextSpan| text.get(span.start..span.end).unwrap_or_default();
    let mut sorted: Vec<AttrSpans> = Vec::with_capacity(pairs.len());
    for pair in pairs {
        match sorted.binary_search_by(|kept| key(kept.0).cmp(key(pair.0))) {
            Ok(index) => {
                if let Some(kept) = sorted.get_mut(index) {
                    *kept = pair;
                }
            }
            Err(index) => sorted.insert(index, pair),
        }
    }
    sorted
}

impl Line {
    fn str(&self, span: TextSpan) -> &str {
        // Spans are checked when the line is built.
        self.text.get(span.start..span.end).unwrap_or_default()
    }

    fn lookup<'a>(&'a self, pairs: &[AttrSpans], key: &str) -> Option<&'a str> {
        pairs
            .binary_search_by(|&(k, _)| self.str(k).cmp(key))
            .ok()
            .and_then(|index| pairs.get(index))
            .map(|&(_, value)| self.str(value))
    }

    /// The line's stable id; pass it to [`Violation::for_line`](crate::Violation::for_line).
    pub fn line_id(&self) -> &str {
        self.str(self.line_id)
    }

    /// The catalog SKU.
    pub fn sku(&self) -> &str {
        self.str(self.sku)
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
        self.str(self.category)
    }

    /// The seller or outlet (a restaurant, a pharmacy …), if the line has one.
    pub fn seller(&self) -> Option<&str> {
        self.seller.map(|span| self.str(span))
    }

    /// The fulfillment mode asked for this line (`delivery`, `pickup` …), if any.
    pub fn fulfillment(&self) -> Option<&str> {
        self.fulfillment.map(|span| self.str(span))
    }

    /// An attribute of the catalog item, e.g. `line.item_attribute("cold_chain")`.
    pub fn item_attribute(&self, key: &str) -> Option<&str> {
        self.lookup(&self.item_attributes, key)
    }

    /// `true` when the catalog item attribute `key` is a yes (`true`, `yes` or `1`, any case).
    pub fn item_flag(&self, key: &str) -> bool {
        self.item_attribute(key).is_some_and(is_yes)
    }

    /// An attribute of the line itself (variant, `prescription_ref` …).
    pub fn line_attribute(&self, key: &str) -> Option<&str> {
        self.lookup(&self.line_attributes, key)
    }

    /// Every catalog item attribute, sorted by key.
    pub fn item_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.item_attributes
            .iter()
            .map(|&(k, v)| (self.str(k), self.str(v)))
    }

    /// Every line attribute, sorted by key.
    pub fn line_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.line_attributes
            .iter()
            .map(|&(k, v)| (self.str(k), self.str(v)))
    }
}

impl PartialEq for Line {
    fn eq(&self, other: &Self) -> bool {
        self.line_id() == other.line_id()
            && self.sku() == other.sku()
            && self.quantity == other.quantity
            && self.unit_price == other.unit_price
            && self.line_total == other.line_total
            && self.category() == other.category()
            && self.seller() == other.seller()
            && self.fulfillment() == other.fulfillment()
            && self.item_attributes().eq(other.item_attributes())
            && self.line_attributes().eq(other.line_attributes())
    }
}

impl Eq for Line {}

impl fmt::Debug for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Line")
            .field("line_id", &self.line_id())
            .field("sku", &self.sku())
            .field("quantity", &self.quantity)
            .field("unit_price", &self.unit_price)
            .field("line_total", &self.line_total)
            .field("category", &self.category())
            .field("seller", &self.seller())
            .field("fulfillment", &self.fulfillment())
            .field(
                "item_attributes",
                &self.item_attributes().collect::<BTreeMap<_, _>>(),
            )
            .field(
                "line_attributes",
                &self.line_attributes().collect::<BTreeMap<_, _>>(),
            )
            .finish()
    }
}

/// Attribute and context values are strings; these spell "yes".
fn is_yes(value: &str) -> bool {
    let value = value.trim();
    ["true", "yes", "1"]
        .iter()
        .any(|yes| value.eq_ignore_ascii_case(yes))
}
