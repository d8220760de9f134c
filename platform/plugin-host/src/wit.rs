//! Host bindings generated from `plugin-sdk/wit`, the one copy of the contract, and the
//! conversion of core's cart into them. The generated types never leave this crate; what comes
//! back from a plugin is converted (and checked) in [`crate::output`].
//!
//! The cart is lowered from borrowed data (`ownership: Borrowing`) and in the WIT's packed
//! shape: the host writes every line string into one buffer ([`CartArena`]) and the lines
//! and attribute pairs hold spans of it, so the cart crosses the boundary in a handful of
//! guest allocations whatever its size (one per string and per list was ~1,500 for a
//! 200-line cart, most of a call's time).

use std::fmt::Write as _;
use std::ops::Range;

use trolley_core::domain::{PluginCart, PluginLine};

wasmtime::component::bindgen!({
    path: "../../plugin-sdk/wit",
    world: "order-type",
    ownership: Borrowing { duplicate_if_necessary: true },
    // Calls run on the request's own task and yield to it at every epoch tick
    // (`sandbox.rs`), instead of hopping to a blocking thread.
    exports: { default: async },
});

// `Cart`, `Evaluation`, `PluginInfo` … are already in scope: the world `use`s them.
use trolley::order_type::types::Span as WitSpan;
pub(crate) use trolley::order_type::types::{Line, OptSpan, PackedPair, Pair, Severity};

/// A string in [`CartArena::text`].
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: usize,
    end: usize,
}

/// A length or an offset on the wire. The host bounds carts far below 4 GiB; a larger one
/// would give spans the guest refuses, never a wrong string.
fn wire_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Span {
    fn wit(self) -> WitSpan {
        WitSpan {
            start: wire_u32(self.start),
            len: wire_u32(self.end.saturating_sub(self.start)),
        }
    }

    fn opt(span: Option<Self>) -> OptSpan {
        match span {
            Some(span) => {
                let WitSpan { start, len } = span.wit();
                OptSpan {
                    has: true,
                    start,
                    len,
                }
            }
            None => OptSpan {
                has: false,
                start: 0,
                len: 0,
            },
        }
    }
}

fn range_wit(range: &Range<usize>) -> WitSpan {
    WitSpan {
        start: wire_u32(range.start),
        len: wire_u32(range.len()),
    }
}

/// A cart packed for the boundary: every string in one buffer, lines and attribute pairs
/// already in their wire shape.
#[derive(Debug)]
pub(crate) struct CartArena {
    text: String,
    cart_id: Span,
    currency: Span,
    subtotal: Span,
    line_ids: Vec<Span>,
    lines: Vec<Line>,
    attributes: Vec<PackedPair>,
    context: Vec<(Span, Span)>,
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

fn push(text: &mut String, s: &str) -> Span {
    let start = text.len();
    text.push_str(s);
    Span {
        start,
        end: text.len(),
    }
}

fn push_decimal(text: &mut String, d: &rust_decimal::Decimal) -> Span {
    let start = text.len();
    // Writing into a String cannot fail.
    let _ = write!(text, "{d}");
    Span {
        start,
        end: text.len(),
    }
}

impl CartArena {
    pub fn new(cart: &PluginCart) -> Self {
        let mut text = String::with_capacity(text_len(cart));
        let attribute_count = cart
            .lines
            .iter()
            .map(|l| l.item_attributes.len() + l.line_attributes.len())
            .sum::<usize>();
        let mut attributes = Vec::with_capacity(attribute_count);
        let mut push_pairs =
            |text: &mut String, map: &std::collections::BTreeMap<String, String>| {
                let start = attributes.len();
                for (k, v) in map {
                    let key = push(text, k).wit();
                    let value = push(text, v).wit();
                    attributes.push(PackedPair { key, value });
                }
                start..attributes.len()
            };
        let cart_id = push(&mut text, &cart.cart_id);
        let currency = push(&mut text, &cart.currency);
        let subtotal = push_decimal(&mut text, &cart.subtotal);
        let mut line_ids = Vec::with_capacity(cart.lines.len());
        let mut lines = Vec::with_capacity(cart.lines.len());
        for l in &cart.lines {
            let line_id = push(&mut text, &l.line_id);
            line_ids.push(line_id);
            lines.push(Line {
                line_id: line_id.wit(),
                sku: push(&mut text, &l.sku).wit(),
                quantity: l.quantity,
                unit_price: push_decimal(&mut text, &l.unit_price).wit(),
                category: push(&mut text, &l.category).wit(),
                seller: Span::opt(l.seller.as_deref().map(|s| push(&mut text, s))),
                fulfillment: Span::opt(l.fulfillment.as_deref().map(|s| push(&mut text, s))),
                item_attributes: range_wit(&push_pairs(&mut text, &l.item_attributes)),
                line_attributes: range_wit(&push_pairs(&mut text, &l.line_attributes)),
            });
        }
        let context = cart
            .context
            .iter()
            .map(|(k, v)| (push(&mut text, k), push(&mut text, v)))
            .collect();
        Self {
            text,
            cart_id,
            currency,
            subtotal,
            line_ids,
            lines,
            attributes,
            context,
        }
    }

    fn str(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or_default()
    }

    /// The line ids of the cart, in order.
    pub fn line_ids(&self) -> impl Iterator<Item = &str> {
        self.line_ids.iter().map(|&span| self.str(span))
    }

    pub fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// The context pairs as the generated bindings want them, for [`Self::cart`].
    pub fn context(&self) -> Vec<Pair<'_>> {
        self.context
            .iter()
            .map(|&(key, value)| Pair {
                key: self.str(key),
                value: self.str(value),
            })
            .collect()
    }

    /// The cart as the generated bindings want it, borrowing `context` from [`Self::context`].
    pub fn cart<'a>(&'a self, context: &'a [Pair<'a>]) -> Cart<'a> {
        Cart {
            cart_id: self.str(self.cart_id),
            currency: self.str(self.currency),
            subtotal: self.str(self.subtotal),
            text: &self.text,
            lines: &self.lines,
            attributes: &self.attributes,
            context,
        }
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
        let context = arena.context();
        {
            let c = arena.cart(&context);
            let text = |s: WitSpan| &c.text[s.start as usize..(s.start + s.len) as usize];
            let opt = |s: OptSpan| {
                s.has.then(|| {
                    text(WitSpan {
                        start: s.start,
                        len: s.len,
                    })
                })
            };
            let pairs = |s: WitSpan| {
                c.attributes[s.start as usize..(s.start + s.len) as usize]
                    .iter()
                    .map(|p| (text(p.key), text(p.value)))
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                (c.cart_id, c.currency, c.subtotal),
                ("cart-1", "EUR", "12.50")
            );
            assert_eq!(c.lines.len(), 1);
            let l = &c.lines[0];
            assert_eq!(
                (text(l.line_id), text(l.sku), l.quantity, text(l.unit_price)),
                ("l1", "milk", 3, "4.10")
            );
            assert_eq!(
                (text(l.category), opt(l.seller), opt(l.fulfillment)),
                ("dairy", Some("shop"), None)
            );
            assert_eq!(pairs(l.item_attributes), [("cold_chain", "true")]);
            assert_eq!(pairs(l.line_attributes), [("size", "1l")]);
            assert_eq!(c.attributes.len(), 2);
            assert_eq!((c.context[0].key, c.context[0].value), ("distance_km", "3"));
        }
        assert_eq!(arena.line_ids().collect::<Vec<_>>(), ["l1"]);
    }
}
