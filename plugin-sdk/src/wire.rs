//! The WebAssembly boundary: conversions between the generated WIT types and the author
//! types, configuration parsing, the configuration schema, and the `Guest` implementation
//! that `export_order_type!` exports.

use std::marker::PhantomData;
use std::sync::Arc;

use crate::Decimal;
use schemars::generate::SchemaSettings;

use crate::bindings::trolley::order_type::types as wit;
use crate::cart::{AttrSpans, TextSpan, sorted_attributes, sorted_context};
use crate::{Cart, Evaluation, Fee, FulfillmentRules, Line, OrderType, Severity, Violation, rules};

/// Implements the generated world for an [`OrderType`]; `export_order_type!` exports it.
/// `S` says where `describe` takes the configuration's JSON Schema from.
pub struct Export<T, S = DerivedSchema>(PhantomData<fn() -> (T, S)>);

/// Where `describe` takes the configuration's JSON Schema from.
pub trait ConfigSchema {
    /// The schema of `C` as JSON text.
    fn schema<C: schemars::JsonSchema>() -> String;
}

/// Derived with `schemars` when `describe` is called (the default): simplest, but it
/// compiles `schemars` and JSON serialization into the module.
pub struct DerivedSchema;

impl ConfigSchema for DerivedSchema {
    fn schema<C: schemars::JsonSchema>() -> String {
        config_schema::<C>()
    }
}

impl<T: OrderType, S: ConfigSchema> crate::bindings::Guest for Export<T, S> {
    fn describe() -> wit::PluginInfo {
        crate::log::install_panic_hook();
        describe::<T, S>()
    }

    fn evaluate(cart: wit::Cart, config: String) -> Result<wit::Evaluation, String> {
        crate::log::install_panic_hook();
        let (cart, config) = inputs::<T>(cart, &config)?;
        Ok(evaluation_to_wit(crate::evaluate::<T>(&cart, &config)))
    }
}

pub(crate) fn describe<T: OrderType, S: ConfigSchema>() -> wit::PluginInfo {
    let info = T::describe();
    wit::PluginInfo {
        order_type: info.order_type().to_owned(),
        name: info.display_name().to_owned(),
        version: info.version().to_owned(),
        config_schema: S::schema::<T::Config>(),
    }
}

/// Parses the cart and the configuration, or says why not.
fn inputs<T: OrderType>(cart: wit::Cart, config: &str) -> Result<(Cart, T::Config), String> {
    let cart = cart_from_wit(cart)?;
    let config = parse_config::<T::Config>(config)?;
    Ok((cart, config))
}

/// An empty or `null` configuration is the default one: a tenant may activate a plugin
/// without configuring it.
pub(crate) fn parse_config<C: serde::de::DeserializeOwned + Default>(
    config: &str,
) -> Result<C, String> {
    let trimmed = config.trim();
    if trimmed.is_empty() || trimmed == "null" {
        return Ok(C::default());
    }
    crate::json::from_str(trimmed).map_err(|e| format!("invalid configuration: {e}"))
}

/// The JSON Schema (draft 2020-12) of a configuration type, as JSON text ([`Decimal`] fields
/// are decimal strings: see its `JsonSchema`).
pub(crate) fn config_schema<C: schemars::JsonSchema>() -> String {
    let schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<C>();
    serde_json::to_string(&schema).unwrap_or_else(|_| String::from("{}"))
}

/// Unpacks the WIT cart: every line string is a span of `cart.text`, every line attribute a
/// range of `cart.attributes`. A span out of range or off a UTF-8 character boundary is an
/// error, never a panic.
pub(crate) fn cart_from_wit(cart: wit::Cart) -> Result<Cart, String> {
    let subtotal = parse_decimal(&cart.subtotal, || "cart subtotal".to_owned())?;
    // Every line shares this one copy of the text.
    let shared: Arc<str> = Arc::from(cart.text.as_str());
    let packed = Packed {
        text: &shared,
        attributes: &cart.attributes,
    };
    let lines = cart
        .lines
        .iter()
        .enumerate()
        .map(|(index, line)| packed.line(index, line))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Cart {
        cart_id: cart.cart_id,
        currency: cart.currency,
        subtotal,
        lines,
        context: sorted_context(cart.context.into_iter().map(|p| (p.key, p.value))),
    })
}

/// The shared buffers of a packed cart.
struct Packed<'a> {
    text: &'a Arc<str>,
    attributes: &'a [wit::PackedPair],
}

/// `start + len` as a range, if it fits.
fn range(start: u32, len: u32) -> Option<(usize, usize)> {
    let start = usize::try_from(start).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    Some((start, end))
}

impl Packed<'_> {
    /// The span of `text` a wire span names, checked: in range and on character boundaries.
    /// `what` names it in the error.
    fn span(&self, span: wit::Span, what: impl FnOnce() -> String) -> Result<TextSpan, String> {
        range(span.start, span.len)
            .filter(|&(start, end)| self.text.get(start..end).is_some())
            .map(|(start, end)| TextSpan { start, end })
            .ok_or_else(|| {
                format!(
                    "{}: bytes {}+{} are not a string of the cart text ({} bytes)",
                    what(),
                    span.start,
                    span.len,
                    self.text.len()
                )
            })
    }

    fn str(&self, span: TextSpan) -> &str {
        self.text.get(span.start..span.end).unwrap_or_default()
    }

    fn opt(
        &self,
        span: wit::OptSpan,
        what: impl FnOnce() -> String,
    ) -> Result<Option<TextSpan>, String> {
        if !span.has {
            return Ok(None);
        }
        let span = wit::Span {
            start: span.start,
            len: span.len,
        };
        self.span(span, what).map(Some)
    }

    /// Sorted by key; later pairs win over earlier ones with the same key.
    fn pairs(&self, span: wit::Span, what: impl Fn() -> String) -> Result<Vec<AttrSpans>, String> {
        let pairs = range(span.start, span.len)
            .and_then(|(start, end)| self.attributes.get(start..end))
            .ok_or_else(|| {
                format!(
                    "{}: items {}+{} are not a range of the cart attributes ({} items)",
                    what(),
                    span.start,
                    span.len,
                    self.attributes.len()
                )
            })?;
        let pairs = pairs
            .iter()
            .map(|p| Ok((self.span(p.key, &what)?, self.span(p.value, &what)?)))
            .collect::<Result<Vec<_>, String>>()?;
        Ok(sorted_attributes(self.text, pairs))
    }

    fn line(&self, index: usize, line: &wit::Line) -> Result<Line, String> {
        let line_id = self.span(line.line_id, || format!("id of line {index}"))?;
        let id = self.str(line_id);
        let field = |name: &'static str| move || format!("{name} of line `{id}`");
        let unit_price_span = self.span(line.unit_price, field("unit price"))?;
        let unit_price = parse_decimal(self.str(unit_price_span), field("unit price"))?;
        let line_total = unit_price
            .times(line.quantity)
            .ok_or_else(|| format!("the total of line `{id}` overflows"))?;
        Ok(Line {
            text: Arc::clone(self.text),
            line_id,
            sku: self.span(line.sku, field("sku"))?,
            quantity: line.quantity,
            unit_price,
            line_total,
            category: self.span(line.category, field("category"))?,
            seller: self.opt(line.seller, field("seller"))?,
            fulfillment: self.opt(line.fulfillment, field("fulfillment"))?,
            item_attributes: self.pairs(line.item_attributes, field("item attributes"))?,
            line_attributes: self.pairs(line.line_attributes, field("line attributes"))?,
        })
    }
}

fn parse_decimal(text: &str, what: impl FnOnce() -> String) -> Result<Decimal, String> {
    Decimal::from_str_exact(text.trim())
        .map_err(|_| format!("{} is not a decimal: `{}`", what(), text))
}

/// Packs a cart the way the host does, for the test harness.
pub(crate) fn cart_to_wit(cart: &Cart) -> wit::Cart {
    let mut packer = Packer::default();
    let lines = cart.lines.iter().map(|line| packer.line(line)).collect();
    wit::Cart {
        cart_id: cart.cart_id.clone(),
        currency: cart.currency.clone(),
        subtotal: cart.subtotal.to_string(),
        text: packer.text,
        lines,
        attributes: packer.attributes,
        context: cart
            .context
            .iter()
            .map(|(key, value)| wit::Pair {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
    }
}

/// The buffers of a cart being packed.
#[derive(Default)]
struct Packer {
    text: String,
    attributes: Vec<wit::PackedPair>,
}

/// A length or an offset on the wire; a test cart never nears 4 GiB.
fn wire_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Packer {
    fn span(&mut self, s: &str) -> wit::Span {
        let start = wire_u32(self.text.len());
        self.text.push_str(s);
        wit::Span {
            start,
            len: wire_u32(s.len()),
        }
    }

    fn opt(&mut self, s: Option<&str>) -> wit::OptSpan {
        match s {
            Some(s) => {
                let wit::Span { start, len } = self.span(s);
                wit::OptSpan {
                    has: true,
                    start,
                    len,
                }
            }
            None => wit::OptSpan {
                has: false,
                start: 0,
                len: 0,
            },
        }
    }

    fn pairs<'a>(&mut self, pairs: impl Iterator<Item = (&'a str, &'a str)>) -> wit::Span {
        let start = self.attributes.len();
        for (key, value) in pairs {
            let key = self.span(key);
            let value = self.span(value);
            self.attributes.push(wit::PackedPair { key, value });
        }
        wit::Span {
            start: wire_u32(start),
            len: wire_u32(self.attributes.len() - start),
        }
    }

    fn line(&mut self, line: &Line) -> wit::Line {
        wit::Line {
            line_id: self.span(line.line_id()),
            sku: self.span(line.sku()),
            quantity: line.quantity(),
            unit_price: self.span(&line.unit_price().to_string()),
            category: self.span(line.category()),
            seller: self.opt(line.seller()),
            fulfillment: self.opt(line.fulfillment()),
            item_attributes: self.pairs(line.item_attributes()),
            line_attributes: self.pairs(line.line_attributes()),
        }
    }
}

pub(crate) fn evaluation_to_wit(evaluation: Evaluation) -> wit::Evaluation {
    wit::Evaluation {
        violations: evaluation
            .violations
            .into_iter()
            .map(violation_to_wit)
            .collect(),
        fees: evaluation.fees.into_iter().map(fee_to_wit).collect(),
        fulfillment: fulfillment_to_wit(evaluation.fulfillment),
    }
}

fn violation_to_wit(violation: Violation) -> wit::Violation {
    wit::Violation {
        code: violation.code().to_owned(),
        message: violation.message().to_owned(),
        line_id: violation.line_id().map(str::to_owned),
        severity: match violation.severity() {
            Severity::Reject => wit::Severity::Reject,
            Severity::BlockCheckout => wit::Severity::BlockCheckout,
            Severity::Warning => wit::Severity::Warning,
        },
        field: violation.field_name().map(str::to_owned),
    }
}

fn fee_to_wit(fee: Fee) -> wit::Fee {
    wit::Fee {
        amount: fee.wire_amount(),
        code: fee.code().to_owned(),
        label: fee.label().to_owned(),
    }
}

fn fulfillment_to_wit(rules: FulfillmentRules) -> wit::FulfillmentRules {
    wit::FulfillmentRules {
        allowed_modes: rules.allowed_modes().to_vec(),
        lead_time_minutes: rules.lead_time(),
        requirements: rules.requirements().to_vec(),
        max_distance_km: rules.max_distance().map(Decimal::to_plain_string),
        notes: rules.notes().to_vec(),
    }
}

/// Reads a plugin's answer about `cart` back the way the host does, for the test harness:
/// the same rules ([`crate::rules`]) on codes, texts, decimals, signs, line ids and fields.
pub(crate) fn evaluation_from_wit(
    evaluation: wit::Evaluation,
    cart: &Cart,
) -> Result<Evaluation, String> {
    let mut violations = Vec::with_capacity(evaluation.violations.len());
    for v in evaluation.violations {
        rules::code("violation code", &v.code)?;
        rules::text("violation message", &v.message, rules::MAX_TEXT_BYTES)?;
        if let Some(line_id) = &v.line_id
            && cart.line(line_id).is_none()
        {
            return Err(format!(
                "violation `{}` names line `{}`, which is not in the cart",
                v.code,
                line_id.escape_debug()
            ));
        }
        if let Some(field) = &v.field {
            rules::field(field, v.line_id.is_some())?;
        }
        let severity = match v.severity {
            wit::Severity::Reject => Severity::Reject,
            wit::Severity::BlockCheckout => Severity::BlockCheckout,
            wit::Severity::Warning => Severity::Warning,
        };
        let mut violation = Violation::new(severity, v.code, v.message);
        if let Some(line_id) = v.line_id {
            violation = violation.for_line(line_id);
        }
        if let Some(field) = v.field {
            violation = violation.field(field);
        }
        violations.push(violation);
    }
    let fees = evaluation
        .fees
        .into_iter()
        .map(|f| {
            rules::code("fee code", &f.code)?;
            rules::text("fee label", &f.label, rules::MAX_TEXT_BYTES)?;
            let amount = non_negative(&format!("fee `{}` amount", f.code), &f.amount)?;
            Fee::new(f.code, f.label, amount).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    let wire = evaluation.fulfillment;
    let texts = |what: &str, values: &[String]| {
        values
            .iter()
            .try_for_each(|v| rules::text(what, v, rules::MAX_TEXT_BYTES))
    };
    texts("fulfillment mode", &wire.allowed_modes)?;
    texts("fulfillment requirement", &wire.requirements)?;
    texts("fulfillment note", &wire.notes)?;
    let mut fulfillment = FulfillmentRules::new();
    for mode in wire.allowed_modes {
        fulfillment.add_allowed_mode(mode);
    }
    if let Some(minutes) = wire.lead_time_minutes {
        fulfillment.set_lead_time_minutes(minutes);
    }
    for requirement in wire.requirements {
        fulfillment.add_requirement(requirement);
    }
    if let Some(km) = wire.max_distance_km {
        let km = non_negative("max distance", &km)?;
        fulfillment
            .set_max_distance_km(km)
            .map_err(|e| e.to_string())?;
    }
    for note in wire.notes {
        fulfillment.add_note(note);
    }
    Ok(Evaluation {
        violations,
        fees,
        fulfillment,
    })
}

/// A plain, non-negative decimal string, as the host demands of fee amounts and distances.
fn non_negative(what: &str, value: &str) -> Result<Decimal, String> {
    let amount = rules::is_decimal(value)
        .then(|| Decimal::from_str_exact(value).ok())
        .flatten()
        .ok_or_else(|| format!("{what} is not a decimal: `{}`", value.escape_debug()))?;
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(format!("{what} `{value}` is negative"));
    }
    Ok(amount)
}
