//! Host bindings generated from `plugin-sdk/wit`, the one copy of the contract, and the
//! conversion of core's cart into them. The generated types never leave this crate; what comes
//! back from a plugin is converted (and checked) in [`crate::output`].
//!
//! The cart is lowered from borrowed data (`ownership: Borrowing`): the host packs every
//! string of the cart into one buffer ([`CartArena`], a handful of allocations whatever the
//! cart's size) and the generated `Cart<'_>` points into it. Cloning each of a 200-line cart's
//! ~1,400 strings into owned bindgen types was a third of the host's time per call.

use std::fmt::Write as _;
use std::ops::Range;

use trolley_core::domain::{PluginCart, PluginLine};

wasmtime::component::bindgen!({
    path: "../../plugin-sdk/wit",
    world: "order-type",
    ownership: Borrowing { duplicate_if_necessary: true },
});

// `Cart`, `Evaluation`, `PluginInfo` … are already in scope: the world `use`s them.
pub(crate) use trolley::order_type::types::{Line, Pair, Severity};

/// A string in [`CartArena::text`].
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: usize,
    end: usize,
}

#[derive(Debug)]
struct LineSpans {
    line_id: Span,
    sku: Span,
    quantity: u32,
    unit_price: Span,
    category: Span,
    seller: Option<Span>,
    fulfillment: Option<Span>,
    item_attributes: Range<usize>,
    line_attributes: Range<usize>,
}

/// A cart packed for the boundary: every string in one buffer, pairs in one list. Owned and
/// `Send`, so it moves to the thread that runs the call.
#[derive(Debug)]
pub(crate) struct CartArena {
    text: String,
    cart_id: Span,
    currency: Span,
    subtotal: Span,
    lines: Vec<LineSpans>,
    pairs: Vec<(Span, Span)>,
    context: Range<usize>,
}

fn text_len(cart: &PluginCart) -> usize {
    let pairs = |m: &std::collections::BTreeMap<String, String>| {
        m.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
    };
    let line = |l: &PluginLine| {
        l.line_id.len()
            + l.sku.len()
            + l.category.len()
            + l.seller.as_ref().map_or(0, String::len)
            + l.fulfillment.as_ref().map_or(0, String::len)
            + pairs(&l.item_attributes)
            + pairs(&l.line_attributes)
            // A unit price rarely needs more.
            + 16
    };
    cart.cart_id.len()
        + cart.currency.len()
        + 32
        + cart.lines.iter().map(line).sum::<usize>()
        + pairs(&cart.context)
}

impl CartArena {
    pub fn new(cart: &PluginCart) -> Self {
        let mut text = String::with_capacity(text_len(cart));
        let push = |text: &mut String, s: &str| {
            let start = text.len();
            text.push_str(s);
            Span {
                start,
                end: text.len(),
            }
        };
        let decimal = |text: &mut String, d: &rust_decimal::Decimal| {
            let start = text.len();
            // Writing into a String cannot fail.
            let _ = write!(text, "{d}");
            Span {
                start,
                end: text.len(),
            }
        };
        let pair_count = cart.context.len()
            + cart
                .lines
                .iter()
                .map(|l| l.item_attributes.len() + l.line_attributes.len())
                .sum::<usize>();
        let mut pairs = Vec::with_capacity(pair_count);
        let mut push_pairs =
            |text: &mut String, map: &std::collections::BTreeMap<String, String>| {
                let start = pairs.len();
                for (k, v) in map {
                    let key = push(text, k);
                    let value = push(text, v);
                    pairs.push((key, value));
                }
                start..pairs.len()
            };
        let cart_id = push(&mut text, &cart.cart_id);
        let currency = push(&mut text, &cart.currency);
        let subtotal = decimal(&mut text, &cart.subtotal);
        let lines = cart
            .lines
            .iter()
            .map(|l| LineSpans {
                line_id: push(&mut text, &l.line_id),
                sku: push(&mut text, &l.sku),
                quantity: l.quantity,
                unit_price: decimal(&mut text, &l.unit_price),
                category: push(&mut text, &l.category),
                seller: l.seller.as_deref().map(|s| push(&mut text, s)),
                fulfillment: l.fulfillment.as_deref().map(|s| push(&mut text, s)),
                item_attributes: push_pairs(&mut text, &l.item_attributes),
                line_attributes: push_pairs(&mut text, &l.line_attributes),
            })
            .collect();
        let context = push_pairs(&mut text, &cart.context);
        Self {
            text,
            cart_id,
            currency,
            subtotal,
            lines,
            pairs,
            context,
        }
    }

    fn str(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or_default()
    }

    /// The line ids of the cart, in order.
    pub fn line_ids(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(|l| self.str(l.line_id))
    }

    pub fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// Calls `f` with the cart as the generated bindings want it.
    pub fn with_cart<R>(&self, f: impl FnOnce(Cart<'_>) -> R) -> R {
        let pairs: Vec<Pair<'_>> = self
            .pairs
            .iter()
            .map(|&(key, value)| Pair {
                key: self.str(key),
                value: self.str(value),
            })
            .collect();
        let slice = |range: &Range<usize>| pairs.get(range.clone()).unwrap_or_default();
        let lines: Vec<Line<'_>> = self
            .lines
            .iter()
            .map(|l| Line {
                line_id: self.str(l.line_id),
                sku: self.str(l.sku),
                quantity: l.quantity,
                unit_price: self.str(l.unit_price),
                category: self.str(l.category),
                seller: l.seller.map(|s| self.str(s)),
                fulfillment: l.fulfillment.map(|s| self.str(s)),
                item_attributes: slice(&l.item_attributes),
                line_attributes: slice(&l.line_attributes),
            })
            .collect();
        f(Cart {
            cart_id: self.str(self.cart_id),
            currency: self.str(self.currency),
            subtotal: self.str(self.subtotal),
            lines: &lines,
            context: slice(&self.context),
        })
    }
}

impl From<Severity> for trolley_core::domain::Severity {
    fn from(severity: Severity) -> Self {
        match severity {
            Severity::Reject => Self::Reject,
            Severity::BlockCheckout => Self::BlockCheckout,
            Severity::Warning => Self::Warning,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_arena_lowers_every_field() {
        let cart = PluginCart {
            cart_id: "cart-1".into(),
            currency: "EUR".into(),
            subtotal: "12.50".parse().unwrap(),
            lines: vec![PluginLine {
                line_id: "l1".into(),
                sku: "milk".into(),
                quantity: 3,
                unit_price: "4.10".parse().unwrap(),
                category: "dairy".into(),
                seller: Some("shop".into()),
                fulfillment: None,
                item_attributes: BTreeMap::from([("cold_chain".into(), "true".into())]),
                line_attributes: BTreeMap::from([("size".into(), "1l".into())]),
            }],
            context: BTreeMap::from([("distance_km".into(), "3".into())]),
        };
        let arena = CartArena::new(&cart);
        arena.with_cart(|c| {
            assert_eq!(
                (c.cart_id, c.currency, c.subtotal),
                ("cart-1", "EUR", "12.50")
            );
            let l = &c.lines[0];
            assert_eq!(
                (l.line_id, l.sku, l.quantity, l.unit_price),
                ("l1", "milk", 3, "4.10")
            );
            assert_eq!(
                (l.category, l.seller, l.fulfillment),
                ("dairy", Some("shop"), None)
            );
            assert_eq!(
                (l.item_attributes[0].key, l.item_attributes[0].value),
                ("cold_chain", "true")
            );
            assert_eq!(
                (l.line_attributes[0].key, l.line_attributes[0].value),
                ("size", "1l")
            );
            assert_eq!((c.context[0].key, c.context[0].value), ("distance_km", "3"));
        });
        assert_eq!(arena.line_ids().collect::<Vec<_>>(), ["l1"]);
    }
}
