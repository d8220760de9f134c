//! The SDK as a plugin author and the host see it: an order type exported with the macro,
//! called through the generated world with the host's WIT values.

use trolley_plugin_sdk::__private::{Export, Guest};
use trolley_plugin_sdk::bindings::trolley::order_type::types as wit;
use trolley_plugin_sdk::prelude::*;

/// Configuration of the test order type.
#[derive(Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct Config {
    /// Below this subtotal checkout is blocked.
    min_order: Decimal,
    /// Flat fee on every cart.
    flat_fee: Decimal,
    /// Optional cap.
    cap: Option<Decimal>,
    /// Distance bands.
    bands: Vec<Band>,
}

/// One band.
#[derive(Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
struct Band {
    /// Up to this distance.
    max_km: Decimal,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            min_order: Decimal::new(1000, 2),
            flat_fee: Decimal::new(299, 2),
            cap: None,
            bands: Vec::new(),
        }
    }
}

struct Shop;

impl OrderType for Shop {
    type Config = Config;

    fn describe() -> PluginInfo {
        PluginInfo::new("shop", "1.2.3").name("Test shop")
    }

    fn validate(cart: &Cart, config: &Config) -> Vec<Violation> {
        let mut violations = Vec::new();
        if cart.subtotal() < config.min_order {
            violations.push(Violation::block_checkout("shop.min_order", "below minimum"));
        }
        for line in cart.lines() {
            if line.item_flag("forbidden") {
                violations
                    .push(Violation::reject("shop.forbidden", "not sold").for_line(line.line_id()));
            }
        }
        violations
    }

    fn calculate_fees(_: &Cart, config: &Config) -> Vec<Fee> {
        Fee::new("shop.flat", "Flat fee", config.flat_fee)
            .into_iter()
            .collect()
    }

    fn fulfillment_rules(cart: &Cart, _: &Config) -> FulfillmentRules {
        let mut rules = FulfillmentRules::new()
            .allow_mode("delivery")
            .lead_time_minutes(15);
        if cart.context_flag("needs_id") {
            rules.add_requirement("age_check");
        }
        let _ = rules.set_max_distance_km(Decimal::new(75, 1));
        rules
    }
}

export_order_type!(Shop);

/// Says nothing: every judging method is the trait's default.
struct Silent;

impl OrderType for Silent {
    type Config = ();

    fn describe() -> PluginInfo {
        PluginInfo::new("silent", "0.1.0")
    }
}

export_order_type!(Silent);

fn pair(key: &str, value: &str) -> wit::Pair {
    wit::Pair {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

/// A line before packing: its strings are packed into the cart by [`wit_cart`].
struct TestLine {
    line_id: &'static str,
    unit_price: &'static str,
    quantity: u32,
}

fn wit_line(line_id: &'static str, unit_price: &'static str, quantity: u32) -> TestLine {
    TestLine {
        line_id,
        unit_price,
        quantity,
    }
}

/// Packs strings and attribute pairs the way the host does.
#[derive(Default)]
struct Packer {
    text: String,
    attributes: Vec<wit::PackedPair>,
}

impl Packer {
    fn span(&mut self, s: &str) -> wit::Span {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        wit::Span {
            start,
            len: s.len() as u32,
        }
    }

    fn some(&mut self, s: &str) -> wit::OptSpan {
        let wit::Span { start, len } = self.span(s);
        wit::OptSpan {
            has: true,
            start,
            len,
        }
    }

    fn pairs(&mut self, pairs: &[(&str, &str)]) -> wit::Span {
        let start = self.attributes.len() as u32;
        for (key, value) in pairs {
            let key = self.span(key);
            let value = self.span(value);
            self.attributes.push(wit::PackedPair { key, value });
        }
        wit::Span {
            start,
            len: pairs.len() as u32,
        }
    }
}

fn wit_cart(subtotal: &str, lines: Vec<TestLine>) -> wit::Cart {
    let mut packer = Packer::default();
    let lines = lines
        .into_iter()
        .map(|line| wit::Line {
            line_id: packer.span(line.line_id),
            sku: packer.span("SKU"),
            quantity: line.quantity,
            unit_price: packer.span(line.unit_price),
            category: packer.span("general"),
            seller: packer.some("outlet-1"),
            fulfillment: packer.some("delivery"),
            item_attributes: packer.pairs(&[("forbidden", "false"), ("forbidden", "TRUE")]),
            line_attributes: packer.pairs(&[("note", "ring twice")]),
        })
        .collect();
    wit::Cart {
        cart_id: "c-1".to_owned(),
        currency: "USD".to_owned(),
        subtotal: subtotal.to_owned(),
        text: packer.text,
        lines,
        attributes: packer.attributes,
        context: vec![pair("needs_id", "yes")],
    }
}

#[test]
fn packed_lines_unpack_into_the_authoring_cart() {
    let mut cart = wit_cart("7.00", vec![wit_line("l-1", "3.50", 2)]);
    cart.lines[0].fulfillment.has = false;
    let evaluation = <Export<Echo> as Guest>::evaluate(cart, String::new()).expect("evaluates");
    assert_eq!(
        evaluation.violations[0].message,
        "l-1|SKU|2|3.50|7.00|general|Some(\"outlet-1\")|None|forbidden=TRUE|note=ring twice|needs_id=yes"
    );
}

#[test]
fn the_harness_packs_and_unpacks_every_field() {
    let cart = CartBuilder::new("USD")
        .context("needs_id", "yes")
        .line(
            LineBuilder::new("SKU")
                .id("l-1")
                .quantity(2)
                .price("3.50")
                .category("général")
                .seller("outlet-1")
                .item_attr("b", "2")
                .item_attr("a", "1")
                .line_attr("note", "ring twice"),
        )
        .line(LineBuilder::new("EMPTY").id("l-2").price("0"))
        .build();
    let evaluation = testing::evaluate_json::<Echo>(&cart, "").expect("evaluates");
    let messages: Vec<_> = evaluation
        .violations
        .iter()
        .map(Violation::message)
        .collect();
    assert_eq!(
        messages,
        [
            "l-1|SKU|2|3.50|7.00|général|Some(\"outlet-1\")|None|a=1,b=2|note=ring twice|needs_id=yes",
            "l-2|EMPTY|1|0|0|general|None|None|||needs_id=yes",
        ]
    );
}

#[test]
fn spans_out_of_range_or_off_a_character_boundary_are_errors_not_panics() {
    type Breakage = (&'static str, fn(&mut wit::Cart));
    let broken: [Breakage; 8] = [
        ("line id past the end", |c| {
            c.lines[0].line_id.start = 10_000
        }),
        ("sku overflowing u32", |c| {
            c.lines[0].sku = wit::Span {
                start: u32::MAX,
                len: 2,
            }
        }),
        ("unit price too long", |c| {
            c.lines[0].unit_price.len = 10_000
        }),
        ("seller past the end", |c| c.lines[0].seller.start = 10_000),
        ("attributes past the end", |c| {
            c.lines[0].item_attributes.start = 100
        }),
        ("attribute count overflowing", |c| {
            c.lines[0].line_attributes = wit::Span {
                start: 1,
                len: u32::MAX,
            }
        }),
        ("attribute key past the end", |c| {
            c.attributes[0].key.len = 10_000
        }),
        ("category inside a character", |c| {
            let start = c.text.len() as u32;
            c.text.push('é');
            c.lines[0].category = wit::Span { start, len: 1 };
        }),
    ];
    for (name, breakage) in broken {
        let mut cart = wit_cart("7.00", vec![wit_line("l-1", "3.50", 2)]);
        breakage(&mut cart);
        let error = <Export<Shop> as Guest>::evaluate(cart, String::new()).expect_err(name);
        assert!(error.contains("cart"), "{name}: {error}");
    }
}

/// Reports every field of its first line as one warning message.
struct Echo;

impl OrderType for Echo {
    type Config = ();

    fn describe() -> PluginInfo {
        PluginInfo::new("echo", "0.1.0")
    }

    fn validate(cart: &Cart, _: &()) -> Vec<Violation> {
        let pairs = |it: &mut dyn Iterator<Item = (&str, &str)>| {
            it.map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        cart.lines()
            .map(|l| {
                let message = format!(
                    "{}|{}|{}|{}|{}|{}|{:?}|{:?}|{}|{}|{}",
                    l.line_id(),
                    l.sku(),
                    l.quantity(),
                    l.unit_price(),
                    l.line_total(),
                    l.category(),
                    l.seller(),
                    l.fulfillment(),
                    pairs(&mut l.item_attributes()),
                    pairs(&mut l.line_attributes()),
                    pairs(&mut cart.context_pairs()),
                );
                Violation::warning("echo", message)
            })
            .collect()
    }
}

#[test]
fn evaluate_through_the_world_parses_money_and_writes_it_back_as_strings() {
    let cart = wit_cart("7.00", vec![wit_line("l-1", "3.50", 2)]);
    let evaluation = <Export<Shop> as Guest>::evaluate(cart, r#"{"flat_fee": "1.10"}"#.into())
        .expect("evaluates");

    assert_eq!(evaluation.fees.len(), 1);
    assert_eq!(evaluation.fees[0].amount, "1.10");
    let codes: Vec<_> = evaluation
        .violations
        .iter()
        .map(|v| v.code.as_str())
        .collect();
    assert_eq!(codes, ["shop.min_order", "shop.forbidden"]);
    assert_eq!(evaluation.violations[1].line_id.as_deref(), Some("l-1"));
    assert!(matches!(
        evaluation.violations[0].severity,
        wit::Severity::BlockCheckout
    ));
    assert!(matches!(
        evaluation.violations[1].severity,
        wit::Severity::Reject
    ));
    assert_eq!(evaluation.fulfillment.allowed_modes, ["delivery"]);
    assert_eq!(evaluation.fulfillment.lead_time_minutes, Some(15));
    assert_eq!(evaluation.fulfillment.requirements, ["age_check"]);
    assert_eq!(
        evaluation.fulfillment.max_distance_km.as_deref(),
        Some("7.5")
    );
}

#[test]
fn evaluate_answers_what_the_three_methods_say() {
    let cart = wit_cart("20.00", vec![wit_line("l-1", "10.00", 2)]);
    let all = <Export<Shop> as Guest>::evaluate(cart, String::new()).expect("evaluates");
    assert_eq!(all.violations[0].code, "shop.forbidden");
    assert_eq!(all.fees[0].amount, "2.99");
    assert_eq!(all.fulfillment.allowed_modes, ["delivery"]);
}

#[test]
fn a_malformed_unit_price_is_an_error_naming_the_line_not_a_panic() {
    let cart = wit_cart("7.00", vec![wit_line("l-9", "3,50", 2)]);
    let error = <Export<Shop> as Guest>::evaluate(cart, String::new()).unwrap_err();
    assert!(error.contains("l-9"), "{error}");
    assert!(error.contains("3,50"), "{error}");
}

#[test]
fn a_malformed_subtotal_is_an_error_in_every_export() {
    let cart = || wit_cart("lots", vec![wit_line("l-1", "3.50", 2)]);
    assert!(<Export<Shop> as Guest>::evaluate(cart(), String::new()).is_err());
}

#[test]
fn an_overflowing_line_total_is_an_error() {
    let cart = wit_cart(
        "1",
        vec![wit_line("l-1", "79228162514264337593543950335", 2)],
    );
    let error = <Export<Shop> as Guest>::evaluate(cart, String::new()).unwrap_err();
    assert!(error.contains("overflows"), "{error}");
}

#[test]
fn empty_and_null_configurations_are_the_default() {
    for config in ["", "   ", "null", " null "] {
        assert_eq!(
            testing::parse_config::<Shop>(config).unwrap(),
            Config::default()
        );
    }
    assert_eq!(
        testing::parse_config::<Shop>("{}").unwrap(),
        Config::default()
    );
}

#[test]
fn a_configuration_that_does_not_deserialize_is_an_error() {
    let cart = wit_cart("7.00", vec![wit_line("l-1", "3.50", 2)]);
    for config in [
        r#"{"min_order": 10}"#,
        r#"{"min_order": "ten"}"#,
        r#"{"typo": "1"}"#,
        "[1, 2]",
        "{",
    ] {
        let error =
            <Export<Shop> as Guest>::evaluate(wit_cart("1", vec![]), config.into()).unwrap_err();
        assert!(
            error.starts_with("invalid configuration"),
            "{config}: {error}"
        );
    }
    let error = <Export<Shop> as Guest>::evaluate(cart, "{".into()).unwrap_err();
    assert!(error.starts_with("invalid configuration"), "{error}");
}

#[test]
fn describe_reports_identity_and_the_configuration_schema() {
    let info = <Export<Shop> as Guest>::describe();
    assert_eq!(info.order_type, "shop");
    assert_eq!(info.name, "Test shop");
    assert_eq!(info.version, "1.2.3");

    let schema: serde_json::Value = serde_json::from_str(&info.config_schema).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["additionalProperties"], false);
    let min_order = &schema["properties"]["min_order"];
    assert_eq!(min_order["type"], "string", "{schema:#}");
    assert_eq!(min_order["pattern"], r"^-?\d+(\.\d+)?$");
    assert_eq!(
        min_order["description"],
        "Below this subtotal checkout is blocked."
    );
    assert_eq!(min_order["default"], "10.00");
    assert_eq!(
        schema["properties"]["cap"]["type"],
        serde_json::json!(["string", "null"])
    );
    let band = &schema["$defs"]["Band"]["properties"]["max_km"];
    assert_eq!(band["type"], "string", "{schema:#}");
}

#[test]
fn the_name_defaults_to_the_order_type() {
    let info = <Export<Silent> as Guest>::describe();
    assert_eq!(info.name, "silent");
    assert_eq!(info.config_schema, testing::config_schema::<Silent>());
}

#[test]
fn default_methods_say_nothing() {
    let cart = CartBuilder::new("USD")
        .line(LineBuilder::new("A").price("1.00"))
        .build();
    let evaluation = testing::evaluate::<Silent>(&cart, &());
    assert_eq!(evaluation, Evaluation::default());
    assert!(evaluation.can_check_out());
    assert_eq!(evaluation.total_fees(), Decimal::ZERO);
}

#[test]
fn the_builder_computes_ids_totals_and_subtotal() {
    let cart = CartBuilder::new("USD")
        .cart_id("c-7")
        .line(
            LineBuilder::new("APPLE")
                .quantity(3)
                .price("0.333")
                .category("grocery")
                .seller("farm")
                .fulfillment("pickup")
                .item_attr("cold_chain", "True")
                .line_attr("gift", "no"),
        )
        .line(LineBuilder::new("PEAR").id("custom").price("2"))
        .context("distance_km", "3")
        .build();

    assert_eq!(cart.cart_id(), "c-7");
    assert_eq!(cart.currency(), "USD");
    let lines: Vec<&Line> = cart.lines().collect();
    assert_eq!(lines[0].line_id(), "line-1");
    assert_eq!(lines[1].line_id(), "custom");
    assert_eq!(lines[0].line_total().to_string(), "0.999");
    // Each line total rounded to cents, then summed: 1.00 + 2.00.
    assert_eq!(cart.subtotal().to_string(), "3.00");
    assert_eq!(cart.total_quantity(), 4);
    assert_eq!(lines[0].sku(), "APPLE");
    assert_eq!(lines[0].category(), "grocery");
    assert_eq!(lines[0].seller(), Some("farm"));
    assert_eq!(lines[0].fulfillment(), Some("pickup"));
    assert!(lines[0].item_flag("cold_chain"));
    assert!(!lines[0].item_flag("missing"));
    assert_eq!(lines[0].line_attribute("gift"), Some("no"));
    assert_eq!(lines[0].item_attribute("gift"), None);
    assert_eq!(lines[1].seller(), None);
    assert_eq!(cart.context("distance_km"), Some("3"));
    assert_eq!(cart.line("custom").map(Line::sku), Some("PEAR"));
    assert!(cart.line("nope").is_none());
}

#[test]
fn the_builder_refuses_malformed_prices() {
    let error = CartBuilder::new("USD")
        .line(LineBuilder::new("A").price("1,5"))
        .try_build()
        .unwrap_err();
    assert!(error.contains("line-1"), "{error}");
    assert!(CartBuilder::new("USD").subtotal("x").try_build().is_err());
}

#[test]
#[should_panic(expected = "not a decimal")]
fn build_panics_on_a_malformed_price() {
    let _ = CartBuilder::new("USD")
        .line(LineBuilder::new("A").price("abc"))
        .build();
}

#[test]
fn evaluate_json_takes_the_wire_path() {
    let cart = CartBuilder::new("USD")
        .line(LineBuilder::new("A").quantity(2).price("6.00"))
        .build();
    let evaluation = testing::evaluate_json::<Shop>(&cart, r#"{"flat_fee": "0.50"}"#).unwrap();
    assert_eq!(
        evaluation.fee_amount("shop.flat"),
        Some(Decimal::new(50, 2))
    );
    assert!(evaluation.can_check_out());
    assert!(testing::evaluate_json::<Shop>(&cart, "{").is_err());
}

struct BadMoney;

impl OrderType for BadMoney {
    type Config = ();

    fn describe() -> PluginInfo {
        PluginInfo::new("bad", "0.0.1")
    }

    fn calculate_fees(_: &Cart, _: &()) -> Vec<Fee> {
        vec![Fee::__unchecked_raw_amount("bad", "Bad", "12,5abc")]
    }
}

#[test]
fn the_raw_amount_escape_hatch_sends_malformed_money_that_the_harness_refuses() {
    let cart = CartBuilder::new("USD").build();
    let answer =
        <Export<BadMoney> as Guest>::evaluate(trolley_plugin_sdk_cart_to_wit(&cart), String::new())
            .unwrap();
    assert_eq!(answer.fees[0].amount, "12,5abc");
    let error = testing::evaluate_json::<BadMoney>(&cart, "").unwrap_err();
    assert!(error.contains("12,5abc"), "{error}");
}

fn trolley_plugin_sdk_cart_to_wit(cart: &Cart) -> wit::Cart {
    wit::Cart {
        cart_id: cart.cart_id().to_owned(),
        currency: cart.currency().to_owned(),
        subtotal: cart.subtotal().to_string(),
        text: String::new(),
        lines: Vec::new(),
        attributes: Vec::new(),
        context: Vec::new(),
    }
}

#[test]
fn evaluation_helpers() {
    let evaluation = Evaluation {
        violations: vec![
            Violation::warning("w", "just so you know"),
            Violation::block_checkout("b", "not yet"),
        ],
        fees: vec![
            Fee::new("a", "A", Decimal::new(150, 2)).unwrap(),
            Fee::new("b", "B", Decimal::new(25, 2)).unwrap(),
        ],
        fulfillment: FulfillmentRules::new(),
    };
    assert!(evaluation.is_accepted());
    assert!(!evaluation.can_check_out());
    assert_eq!(evaluation.violation_codes(), ["w", "b"]);
    assert_eq!(evaluation.total_fees().to_string(), "1.75");
    assert_eq!(evaluation.fee("b").map(Fee::label), Some("B"));
    assert_eq!(
        evaluation.violation("b").map(Violation::severity),
        Some(Severity::BlockCheckout)
    );
}

#[test]
fn fulfillment_rules_deduplicate_and_keep_the_longest_lead_time() {
    let mut rules = FulfillmentRules::new()
        .require("cold_chain")
        .require("cold_chain")
        .allow_mode("delivery")
        .allow_mode("delivery")
        .lead_time_minutes(30);
    rules.set_lead_time_minutes(10).add_note("n");
    assert_eq!(rules.requirements(), ["cold_chain"]);
    assert_eq!(rules.allowed_modes(), ["delivery"]);
    assert_eq!(rules.lead_time(), Some(30));
    assert_eq!(rules.notes(), ["n"]);
    assert_eq!(rules.max_distance(), None);
}

#[test]
fn money_rounds_to_the_currency() {
    use trolley_plugin_sdk::money;
    let usd = CartBuilder::new("USD").build();
    let jpy = CartBuilder::new("JPY").build();
    let vnd = CartBuilder::new("VND").build();
    assert_eq!(usd.round_money(Decimal::new(1005, 3)).to_string(), "1.01");
    assert_eq!(usd.round_money(Decimal::new(-1005, 3)).to_string(), "-1.01");
    assert_eq!(usd.round_money(Decimal::from(4)).to_string(), "4.00");
    assert_eq!(jpy.round_money(Decimal::new(1495, 1)).to_string(), "150");
    assert_eq!(vnd.minor_units(), 0);
    assert_eq!(money::minor_units("BHD"), 3);
    assert_eq!(money::minor_units("XYZ"), 2);
}
