//! Unit-test order types natively, with plain `cargo test`: no WebAssembly, no host.
//!
//! ```
//! use trolley_plugin_sdk::prelude::*;
//!
//! struct Bags;
//! impl OrderType for Bags {
//!     type Config = ();
//!     fn describe() -> PluginInfo { PluginInfo::new("bags", "1.0.0") }
//!     fn calculate_fees(cart: &Cart, _: &()) -> Vec<Fee> {
//!         let amount = Decimal::new(10, 2) * Decimal::from(cart.total_quantity());
//!         Fee::new("bags", "Bags", amount).into_iter().collect()
//!     }
//! }
//!
//! let cart = CartBuilder::new("USD")
//!     .line(LineBuilder::new("APPLE").quantity(2).price("0.50").category("grocery"))
//!     .line(LineBuilder::new("MILK").price("1.20").item_attr("cold_chain", "true"))
//!     .context("delivery_slot", "2030-01-01T10:00/12:00")
//!     .build();
//! assert_eq!(cart.subtotal().to_string(), "2.20");
//!
//! let evaluation = testing::evaluate::<Bags>(&cart, &());
//! assert_eq!(evaluation.fee_amount("bags"), Some(Decimal::new(30, 2)));
//!
//! // The same call through the JSON configuration and the wire format the host uses.
//! let evaluation = testing::evaluate_json::<Bags>(&cart, "null").unwrap();
//! assert_eq!(evaluation.total_fees().to_string(), "0.30");
//! ```
//!
//! The builders panic on malformed input (a price that is not a decimal): they are for
//! tests, where a panic is a failed test with a clear message.

use std::collections::BTreeMap;

use crate::Decimal;

use crate::bindings::Guest;
use crate::cart::TextSpan;
use crate::wire::{self, DerivedSchema, Export};
use crate::{Cart, Evaluation, Line, OrderType};

#[cfg(not(target_arch = "wasm32"))]
pub use crate::log::LogLine;

/// Evaluates a cart with a typed configuration, exactly as the host's `evaluate` would
/// after parsing, and checks the answer as the host would.
///
/// # Panics
/// When the host would refuse the answer (`BadOutput`): a code with whitespace, an empty
/// message, a violation about a line that is not in the cart, a malformed `field` … The panic
/// says what is wrong.
pub fn evaluate<T: OrderType>(cart: &Cart, config: &T::Config) -> Evaluation {
    let evaluation = crate::evaluate::<T>(cart, config);
    if let Err(problem) = check_output(&evaluation, cart) {
        panic!("the host would refuse this answer (bad output): {problem}");
    }
    evaluation
}

/// Whether the host would accept `evaluation` as the answer about `cart`: the same rules
/// (codes, texts, decimals, signs, line ids, fields).
///
/// # Errors
/// What the host would say is wrong.
pub fn check_output(evaluation: &Evaluation, cart: &Cart) -> Result<(), String> {
    wire::evaluation_from_wit(wire::evaluation_to_wit(evaluation.clone()), cart).map(|_| ())
}

/// Evaluates a cart with a JSON configuration through the same path a WebAssembly call
/// takes: the configuration is checked against the plugin's JSON Schema (as at activation),
/// the cart converted to the WIT types, the configuration parsed from JSON, and the answer
/// read back and checked the way the host does.
///
/// # Errors
/// A configuration the schema refuses (`invalid config: /field: …`), the plugin's own error
/// (a configuration that does not deserialize) or an answer the host would refuse (a
/// malformed decimal, a negative fee, an unknown line id …).
pub fn evaluate_json<T: OrderType>(cart: &Cart, config_json: &str) -> Result<Evaluation, String> {
    check_config::<T>(config_json)
        .map_err(|errors| format!("invalid config: {}", errors.join("; ")))?;
    let answer = <Export<T> as Guest>::evaluate(wire::cart_to_wit(cart), config_json.to_owned())?;
    wire::evaluation_from_wit(answer, cart)
}

/// Checks a JSON configuration against the plugin's JSON Schema, as the host does when a
/// tenant activates the plugin (an empty or `null` configuration is the default and is not
/// checked).
///
/// # Errors
/// One message per failing value, each starting with its JSON Pointer
/// (`/max_per_sku: 0 is less than the minimum of 1`).
#[cfg(not(target_arch = "wasm32"))]
pub fn check_config<T: OrderType>(config_json: &str) -> Result<(), Vec<String>> {
    let trimmed = config_json.trim();
    if trimmed.is_empty() || trimmed == "null" {
        return Ok(());
    }
    let config: serde_json::Value =
        serde_json::from_str(trimmed).map_err(|e| vec![format!("/: not JSON: {e}")])?;
    let schema: serde_json::Value = serde_json::from_str(&config_schema::<T>())
        .map_err(|e| vec![format!("the config schema is not JSON: {e}")])?;
    let validator = jsonschema::validator_for(&schema)
        .map_err(|e| vec![format!("the config schema is not a valid JSON Schema: {e}")])?;
    let errors: Vec<String> = validator
        .iter_errors(&config)
        .map(|e| {
            let path = e.instance_path().to_string();
            let path = if path.is_empty() {
                "/".to_owned()
            } else {
                path
            };
            format!("{path}: {e}")
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// On `wasm32` there is no schema validator: every configuration passes.
///
/// # Errors
/// Never.
#[cfg(target_arch = "wasm32")]
pub fn check_config<T: OrderType>(_config_json: &str) -> Result<(), Vec<String>> {
    Ok(())
}

/// The lines logged on this thread (with [`crate::log`]'s macros) since the last call, oldest
/// first; the buffer is emptied.
#[cfg(not(target_arch = "wasm32"))]
pub fn take_logs() -> Vec<LogLine> {
    crate::log::take()
}

/// Parses a JSON configuration the way the plugin will (empty or `null` → default).
///
/// # Errors
/// The message the plugin would answer for a configuration that does not deserialize.
pub fn parse_config<T: OrderType>(config_json: &str) -> Result<T::Config, String> {
    wire::parse_config::<T::Config>(config_json)
}

/// The JSON Schema text `describe` reports for the plugin's configuration (derived from
/// `Config`; with `export_order_type!(T, schema = "…")` the module embeds the file, which
/// `config_schema_file_is_current` keeps equal to this).
pub fn config_schema<T: OrderType>() -> String {
    wire::describe::<T, DerivedSchema>().config_schema
}

#[doc(hidden)]
pub fn derived_config_schema<C: schemars::JsonSchema>() -> String {
    wire::config_schema::<C>()
}

/// The test `export_order_type!(T, schema = "file")` adds: writes the derived schema to
/// `path` when the file is missing (or `TROLLEY_UPDATE_SCHEMA=1`), fails when it differs.
#[doc(hidden)]
#[cfg(not(target_arch = "wasm32"))]
pub fn check_schema_file<T: OrderType>(path: &str) {
    let derived: serde_json::Value = match serde_json::from_str(&config_schema::<T>()) {
        Ok(schema) => schema,
        Err(e) => panic!("the derived config schema is not JSON: {e}"),
    };
    let pretty = match serde_json::to_string_pretty(&derived) {
        Ok(text) => text + "\n",
        Err(e) => panic!("cannot write the config schema: {e}"),
    };
    let update = std::env::var_os("TROLLEY_UPDATE_SCHEMA").is_some_and(|v| v == "1");
    let on_disk = std::fs::read_to_string(path).ok();
    let current = on_disk
        .as_deref()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok());
    if current.as_ref() == Some(&derived) {
        return;
    }
    if on_disk.is_none() || update {
        if let Err(e) = std::fs::write(path, pretty) {
            panic!("cannot write {path}: {e}");
        }
        return;
    }
    panic!(
        "{path} is not the JSON Schema of the plugin's Config any more (the module embeds the \
         file, so the host would check configurations against a stale schema). Rewrite it with \
         `TROLLEY_UPDATE_SCHEMA=1 cargo test` and commit it.\nderived:\n{pretty}"
    );
}

#[doc(hidden)]
#[cfg(target_arch = "wasm32")]
pub fn check_schema_file<T: OrderType>(_path: &str) {}

/// Builds a [`Cart`] for tests: `CartBuilder::new("USD").line(..).context(..).build()`.
#[derive(Debug, Clone)]
pub struct CartBuilder {
    cart_id: String,
    currency: String,
    subtotal: Option<String>,
    lines: Vec<LineBuilder>,
    context: BTreeMap<String, String>,
}

impl CartBuilder {
    /// An empty cart in this currency, with id `cart-1`.
    pub fn new(currency: impl Into<String>) -> Self {
        Self {
            cart_id: "cart-1".to_owned(),
            currency: currency.into(),
            subtotal: None,
            lines: Vec::new(),
            context: BTreeMap::new(),
        }
    }

    /// Sets the cart id.
    #[must_use]
    pub fn cart_id(mut self, cart_id: impl Into<String>) -> Self {
        self.cart_id = cart_id.into();
        self
    }

    /// Adds a line. A line without an explicit id gets `line-<n>` (1-based position).
    #[must_use]
    pub fn line(mut self, line: LineBuilder) -> Self {
        self.lines.push(line);
        self
    }

    /// Adds a request context pair (`distance_km`, `age_verified` …).
    #[must_use]
    pub fn context(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.context.insert(key.into(), value.into());
        self
    }

    /// Overrides the subtotal, which is otherwise the sum of the line totals, each rounded
    /// to the currency (as the host computes it).
    #[must_use]
    pub fn subtotal(mut self, subtotal: impl Into<String>) -> Self {
        self.subtotal = Some(subtotal.into());
        self
    }

    /// The cart.
    ///
    /// # Panics
    /// When a price or the subtotal is not a decimal; see [`try_build`](Self::try_build).
    pub fn build(self) -> Cart {
        match self.try_build() {
            Ok(cart) => cart,
            Err(message) => panic!("CartBuilder: {message}"),
        }
    }

    /// The cart, or why a price or the subtotal is not a decimal.
    ///
    /// # Errors
    /// A message naming the malformed decimal.
    pub fn try_build(self) -> Result<Cart, String> {
        let mut lines = Vec::with_capacity(self.lines.len());
        for (index, line) in self.lines.into_iter().enumerate() {
            lines.push(line.build(index + 1)?);
        }
        let subtotal = match self.subtotal {
            Some(subtotal) => Decimal::from_str_exact(&subtotal)
                .map_err(|_| format!("subtotal is not a decimal: `{subtotal}`"))?,
            None => lines
                .iter()
                .map(|line: &Line| crate::money::round(line.line_total, &self.currency))
                .sum(),
        };
        Ok(Cart {
            cart_id: self.cart_id,
            currency: self.currency,
            subtotal,
            lines,
            context: self.context.into_iter().collect(),
        })
    }
}

/// Builds one line for a [`CartBuilder`]: quantity 1, price `0`, category `general`, no
/// seller, no fulfillment mode, no attributes, unless set.
#[derive(Debug, Clone)]
pub struct LineBuilder {
    line_id: Option<String>,
    sku: String,
    quantity: u32,
    price: String,
    category: String,
    seller: Option<String>,
    fulfillment: Option<String>,
    item_attributes: BTreeMap<String, String>,
    line_attributes: BTreeMap<String, String>,
}

impl LineBuilder {
    /// A line of one unit of `sku`.
    pub fn new(sku: impl Into<String>) -> Self {
        Self {
            line_id: None,
            sku: sku.into(),
            quantity: 1,
            price: "0".to_owned(),
            category: "general".to_owned(),
            seller: None,
            fulfillment: None,
            item_attributes: BTreeMap::new(),
            line_attributes: BTreeMap::new(),
        }
    }

    /// Sets the line id (default `line-<n>`).
    #[must_use]
    pub fn id(mut self, line_id: impl Into<String>) -> Self {
        self.line_id = Some(line_id.into());
        self
    }

    /// Sets the quantity.
    #[must_use]
    pub fn quantity(mut self, quantity: u32) -> Self {
        self.quantity = quantity;
        self
    }

    /// Sets the unit price, a decimal string such as `"3.50"`.
    #[must_use]
    pub fn price(mut self, price: impl Into<String>) -> Self {
        self.price = price.into();
        self
    }

    /// Sets the catalog category.
    #[must_use]
    pub fn category(mut self, category: impl Into<String>) -> Self {
        self.category = category.into();
        self
    }

    /// Sets the seller or outlet.
    #[must_use]
    pub fn seller(mut self, seller: impl Into<String>) -> Self {
        self.seller = Some(seller.into());
        self
    }

    /// Sets the fulfillment mode (`delivery`, `pickup` …).
    #[must_use]
    pub fn fulfillment(mut self, mode: impl Into<String>) -> Self {
        self.fulfillment = Some(mode.into());
        self
    }

    /// Adds a catalog item attribute (`cold_chain` = `true` …).
    #[must_use]
    pub fn item_attr(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.item_attributes.insert(key.into(), value.into());
        self
    }

    /// Adds a line attribute (`prescription_ref` …).
    #[must_use]
    pub fn line_attr(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.line_attributes.insert(key.into(), value.into());
        self
    }

    fn build(self, position: usize) -> Result<Line, String> {
        let line_id = self.line_id.unwrap_or_else(|| format!("line-{position}"));
        let unit_price = Decimal::from_str_exact(&self.price).map_err(|_| {
            format!(
                "price of line `{line_id}` is not a decimal: `{}`",
                self.price
            )
        })?;
        let line_total = unit_price
            .times(self.quantity)
            .ok_or_else(|| format!("the total of line `{line_id}` overflows"))?;
        let mut text = String::new();
        let mut push = |s: &str| {
            let start = text.len();
            text.push_str(s);
            TextSpan {
                start,
                end: text.len(),
            }
        };
        let line_id = push(&line_id);
        let sku = push(&self.sku);
        let category = push(&self.category);
        let seller = self.seller.as_deref().map(&mut push);
        let fulfillment = self.fulfillment.as_deref().map(&mut push);
        // A map's pairs are already sorted and unique.
        let item_attributes = self
            .item_attributes
            .iter()
            .map(|(k, v)| (push(k), push(v)))
            .collect();
        let line_attributes = self
            .line_attributes
            .iter()
            .map(|(k, v)| (push(k), push(v)))
            .collect();
        Ok(Line {
            text: text.into(),
            line_id,
            sku,
            quantity: self.quantity,
            unit_price,
            line_total,
            category,
            seller,
            fulfillment,
            item_attributes,
            line_attributes,
        })
    }
}
