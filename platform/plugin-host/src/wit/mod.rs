//! Host bindings generated from `plugin-sdk/wit`, the one copy of the contract: one module
//! per released version ([`v1_0`], [`v1_1`]), and the lowering of core's cart into them,
//! shared by both. The generated types never leave this crate; what comes back from a plugin
//! is converted to 1.1's shape by its version module and checked in [`crate::output`].
//!
//! The cart is lowered from borrowed data (`ownership: Borrowing`) and in the WIT's packed
//! shape: the host writes every line string into one buffer ([`CartArena`]) and the lines
//! and attribute pairs hold spans of it, so the cart crosses the boundary in a handful of
//! guest allocations whatever its size (one per string and per list was ~1,500 for a
//! 200-line cart, most of a call's time). Both versions' `types` are the same records (1.1
//! only adds `violation.field`), so the arena is generic over the version's generated line
//! and pair types ([`Wire`], implemented by [`lowering!`] in each version module).

use std::fmt::Write as _;

use trolley_core::domain::{PluginCart, PluginLine};

pub(crate) mod v1_0;
pub(crate) mod v1_1;

/// The contract versions the host loads, newest first.
pub const CONTRACT_VERSIONS: &[&str] = &["1.1.0", "1.0.0"];
/// The functions a module of contract `version` exports (its world's exports).
pub fn exports_of(version: &str) -> &'static [&'static str] {
    match version {
        "1.0.0" => &[
            "describe",
            "evaluate",
            "validate",
            "calculate-fees",
            "fulfillment-rules",
        ],
        "1.1.0" => &["describe", "evaluate"],
        _ => &[],
    }
}

/// The contract new plugins are built against.
pub(crate) const CURRENT_CONTRACT: &str = "1.1.0";

/// A string in [`CartArena::text`], as the wire spells it: start and length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: u32,
    pub len: u32,
}

/// One line's spans, before they take a version's generated shape.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineSpans {
    pub line_id: Span,
    pub sku: Span,
    pub quantity: u32,
    pub unit_price: Span,
    pub category: Span,
    pub seller: Option<Span>,
    pub fulfillment: Option<Span>,
    /// Ranges of [`CartArena`]'s attribute pairs (items, not bytes).
    pub item_attributes: Span,
    pub line_attributes: Span,
}

/// A contract version's generated line and attribute pair types.
pub(crate) trait Wire {
    type Line;
    type PackedPair;
    fn line(spans: &LineSpans) -> Self::Line;
    fn pair(key: Span, value: Span) -> Self::PackedPair;
}

/// The lowering of a [`CartArena`] into the generated types of the version module it is
/// invoked in: `Packing` (its [`Wire`]), `context(&arena)` and `cart(&arena, &context)`.
macro_rules! lowering {
    () => {
        use trolley::order_type::types::{
            Line as WireLine, OptSpan as WireOptSpan, PackedPair as WirePackedPair,
            Pair as WirePair, Span as WireSpan,
        };

        /// This version's [`Wire`](super::Wire).
        pub(crate) struct Packing;

        fn wire_span(span: super::Span) -> WireSpan {
            WireSpan {
                start: span.start,
                len: span.len,
            }
        }

        impl super::Wire for Packing {
            type Line = WireLine;
            type PackedPair = WirePackedPair;

            fn line(l: &super::LineSpans) -> WireLine {
                let opt = |span: Option<super::Span>| match span {
                    Some(span) => WireOptSpan {
                        has: true,
                        start: span.start,
                        len: span.len,
                    },
                    None => WireOptSpan {
                        has: false,
                        start: 0,
                        len: 0,
                    },
                };
                WireLine {
                    line_id: wire_span(l.line_id),
                    sku: wire_span(l.sku),
                    quantity: l.quantity,
                    unit_price: wire_span(l.unit_price),
                    category: wire_span(l.category),
                    seller: opt(l.seller),
                    fulfillment: opt(l.fulfillment),
                    item_attributes: wire_span(l.item_attributes),
                    line_attributes: wire_span(l.line_attributes),
                }
            }

            fn pair(key: super::Span, value: super::Span) -> WirePackedPair {
                WirePackedPair {
                    key: wire_span(key),
                    value: wire_span(value),
                }
            }
        }

        /// The context pairs as the generated bindings want them, for [`cart`].
        pub(crate) fn context(arena: &super::CartArena<Packing>) -> Vec<WirePair<'_>> {
            arena
                .context_spans()
                .map(|(key, value)| WirePair { key, value })
                .collect()
        }

        /// The cart as the generated bindings want it, borrowing `context` from [`context`].
        pub(crate) fn cart<'a>(
            arena: &'a super::CartArena<Packing>,
            context: &'a [WirePair<'a>],
        ) -> Cart<'a> {
            let (cart_id, currency, subtotal) = arena.header();
            Cart {
                cart_id,
                currency,
                subtotal,
                text: arena.text(),
                lines: arena.lines(),
                attributes: arena.attributes(),
                context,
            }
        }
    };
}
pub(crate) use lowering;

/// A length or an offset on the wire. The host bounds carts far below 4 GiB; a larger one
/// would give spans the guest refuses, never a wrong string.
fn wire_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn span(start: usize, end: usize) -> Span {
    Span {
        start: wire_u32(start),
        len: wire_u32(end.saturating_sub(start)),
    }
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
    span(start, text.len())
}

fn push_decimal(text: &mut String, d: &rust_decimal::Decimal) -> Span {
    let start = text.len();
    // Writing into a String cannot fail.
    let _ = write!(text, "{d}");
    span(start, text.len())
}

/// A cart packed for the boundary in contract version `W`'s types: every string in one
/// buffer, lines and attribute pairs already in their wire shape.
pub(crate) struct CartArena<W: Wire> {
    text: String,
    cart_id: Span,
    currency: Span,
    subtotal: Span,
    line_ids: Vec<Span>,
    lines: Vec<W::Line>,
    attributes: Vec<W::PackedPair>,
    context: Vec<(Span, Span)>,
}

impl<W: Wire> CartArena<W> {
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
                    let key = push(text, k);
                    let value = push(text, v);
                    attributes.push(W::pair(key, value));
                }
                span(start, attributes.len())
            };
        let cart_id = push(&mut text, &cart.cart_id);
        let currency = push(&mut text, &cart.currency);
        let subtotal = push_decimal(&mut text, &cart.subtotal);
        let mut line_ids = Vec::with_capacity(cart.lines.len());
        let mut lines = Vec::with_capacity(cart.lines.len());
        for l in &cart.lines {
            let line_id = push(&mut text, &l.line_id);
            line_ids.push(line_id);
            let spans = LineSpans {
                line_id,
                sku: push(&mut text, &l.sku),
                quantity: l.quantity,
                unit_price: push_decimal(&mut text, &l.unit_price),
                category: push(&mut text, &l.category),
                seller: l.seller.as_deref().map(|s| push(&mut text, s)),
                fulfillment: l.fulfillment.as_deref().map(|s| push(&mut text, s)),
                item_attributes: push_pairs(&mut text, &l.item_attributes),
                line_attributes: push_pairs(&mut text, &l.line_attributes),
            };
            lines.push(W::line(&spans));
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
        let start = span.start as usize;
        let end = start.saturating_add(span.len as usize);
        self.text.get(start..end).unwrap_or_default()
    }

    /// The line ids of the cart, in order.
    pub fn line_ids(&self) -> impl Iterator<Item = &str> {
        self.line_ids.iter().map(|&span| self.str(span))
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn lines(&self) -> &[W::Line] {
        &self.lines
    }

    pub fn attributes(&self) -> &[W::PackedPair] {
        &self.attributes
    }

    /// Cart id, currency and subtotal.
    pub fn header(&self) -> (&str, &str, &str) {
        (
            self.str(self.cart_id),
            self.str(self.currency),
            self.str(self.subtotal),
        )
    }

    pub fn context_spans(&self) -> impl Iterator<Item = (&str, &str)> {
        self.context
            .iter()
            .map(|&(key, value)| (self.str(key), self.str(value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use v1_1::trolley::order_type::types::{OptSpan, Span as WitSpan};

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
        let arena = CartArena::<v1_1::Packing>::new(&cart);
        let context = v1_1::context(&arena);
        {
            let c = v1_1::cart(&arena, &context);
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
