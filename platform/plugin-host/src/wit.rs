//! Host bindings generated from `plugin-sdk/wit`, the one copy of the contract, and the
//! conversions from the core types into them. The generated types never leave this crate;
//! what comes back from a plugin is converted (and checked) in [`crate::output`].

use std::collections::BTreeMap;

use trolley_core::domain::{PluginCart, PluginLine};

wasmtime::component::bindgen!({
    path: "../../plugin-sdk/wit",
    world: "order-type",
});

// `Cart`, `Evaluation`, `PluginInfo` … are already in scope: the world `use`s them.
pub(crate) use trolley::order_type::types::{Line, Pair, Severity};

fn pairs(map: &BTreeMap<String, String>) -> Vec<Pair> {
    map.iter()
        .map(|(key, value)| Pair {
            key: key.clone(),
            value: value.clone(),
        })
        .collect()
}

impl From<&PluginLine> for Line {
    fn from(line: &PluginLine) -> Self {
        Self {
            line_id: line.line_id.clone(),
            sku: line.sku.clone(),
            quantity: line.quantity,
            unit_price: line.unit_price.to_string(),
            category: line.category.clone(),
            seller: line.seller.clone(),
            fulfillment: line.fulfillment.clone(),
            item_attributes: pairs(&line.item_attributes),
            line_attributes: pairs(&line.line_attributes),
        }
    }
}

impl From<&PluginCart> for Cart {
    fn from(cart: &PluginCart) -> Self {
        Self {
            cart_id: cart.cart_id.clone(),
            currency: cart.currency.clone(),
            subtotal: cart.subtotal.to_string(),
            lines: cart.lines.iter().map(Line::from).collect(),
            context: pairs(&cart.context),
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
