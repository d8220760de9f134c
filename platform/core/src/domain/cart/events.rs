//! What a cart mutation reports besides the new state: its events, and what an add that
//! replaced the cart took out of it.

use serde::Serialize;
use std::collections::BTreeMap;

use super::Line;
use crate::domain::ids::{CartId, LineId};
use crate::domain::line_key::{LineKey, Sku};

/// What happened to a cart, for logs, metrics and (later) outbox consumers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum CartEvent {
    CartCreated {
        cart_id: CartId,
    },
    LineAdded {
        line_id: LineId,
        sku: Sku,
        quantity: u32,
    },
    LineQuantityChanged {
        line_id: LineId,
        from: u32,
        to: u32,
    },
    LineRemoved {
        line_id: LineId,
        sku: Sku,
    },
    CartCleared {
        removed_lines: usize,
    },
    /// The cart was emptied to take a line of another order type (`replace_incompatible`).
    CartReplaced(Replaced),
    ContextReplaced {
        keys: usize,
    },
    /// A merge conflict was resolved by a mutation of one side; the other side is gone.
    ReviewResolved {
        kept: LineId,
        removed: LineId,
    },
    /// A guest cart became a customer's cart.
    CartAdopted {
        customer_id: String,
    },
    /// A guest cart was merged into this one.
    CartMerged {
        source: CartId,
        policy: crate::domain::MergePolicy,
        counts: BTreeMap<String, usize>,
    },
    /// This guest cart was absorbed by `target`: it has ended (the other side of
    /// [`CartEvent::CartMerged`]).
    CartMergedInto {
        target: CartId,
    },
}

/// What an add with `replace_incompatible` took out of the cart to make room for a line of
/// another order type (SPEC §2: it "empties the cart first and says so"). Everything a
/// storefront needs to tell the shopper, or to put the lines back, is here.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replaced {
    /// The cart's order type before the add (the lines' order type).
    pub previous_order_type: Option<String>,
    /// The order type the cart has now.
    pub order_type: Option<String>,
    /// Every line that was removed, as it was.
    pub removed_lines: Vec<RemovedLine>,
}

/// A line taken out of a cart, with its identity and quantity as they were.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemovedLine {
    pub line_id: LineId,
    pub key: LineKey,
    pub title: Option<String>,
    pub quantity: u32,
}

impl RemovedLine {
    pub(super) fn of(line: &Line) -> Self {
        Self {
            line_id: line.id,
            key: line.key.clone(),
            title: line.title.clone(),
            quantity: line.quantity.get(),
        }
    }
}
