use super::*;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn evaluate(cart: &Cart) -> Evaluation {
    testing::evaluate::<Grocery>(cart, &Config::default())
}

/// One line of `quantity` units at `price`.
fn cart_of(quantity: u32, price: &str) -> Cart {
    CartBuilder::new("USD")
        .line(
            LineBuilder::new("APPLE")
                .quantity(quantity)
                .price(price)
                .category("grocery"),
        )
        .build()
}

// --- quantity cap ---

#[test]
fn exactly_the_maximum_quantity_is_accepted() {
    let cart = CartBuilder::new("USD")
        .line(LineBuilder::new("A").quantity(30).price("1.00"))
        .line(LineBuilder::new("B").quantity(20).price("1.00"))
        .build();
    assert!(!evaluate(&cart).has_violation("grocery.max_quantity"));
}

#[test]
fn one_over_the_maximum_quantity_is_rejected() {
    let cart = CartBuilder::new("USD")
        .line(LineBuilder::new("A").quantity(30).price("1.00"))
        .line(LineBuilder::new("B").quantity(21).price("1.00"))
        .build();
    let evaluation = evaluate(&cart);
    let violation = evaluation.violation("grocery.max_quantity").unwrap();
    assert_eq!(violation.severity(), Severity::Reject);
    assert_eq!(violation.line_id(), None);
    assert!(
        violation.message().contains("50"),
        "{}",
        violation.message()
    );
    assert!(!evaluation.is_accepted());
}

#[test]
fn the_quantity_cap_comes_from_the_config_and_null_lifts_it() {
    let cart = cart_of(11, "1.00");
    let strict = Config {
        max_total_quantity: Some(10),
        ..Config::default()
    };
    assert!(testing::evaluate::<Grocery>(&cart, &strict).has_violation("grocery.max_quantity"));

    let unlimited = testing::evaluate_json::<Grocery>(
        &cart_of(100_000, "1.00"),
        r#"{"max_total_quantity": null}"#,
    )
    .unwrap();
    assert!(!unlimited.has_violation("grocery.max_quantity"));
}

// --- cold chain ---

fn cold_cart(slot: Option<&str>) -> Cart {
    let mut builder = CartBuilder::new("USD")
        .line(LineBuilder::new("BREAD").price("20.00"))
        .line(
            LineBuilder::new("MILK")
                .id("milk")
                .price("1.20")
                .item_attr("cold_chain", "true"),
        )
        .line(
            LineBuilder::new("ICE")
                .id("ice")
                .price("3.00")
                .item_attr("cold_chain", "TRUE"),
        );
    if let Some(slot) = slot {
        builder = builder.context("delivery_slot", slot);
    }
    builder.build()
}

#[test]
fn cold_chain_lines_without_a_delivery_slot_block_checkout() {
    let evaluation = evaluate(&cold_cart(None));
    let blocked: Vec<_> = evaluation
        .violations
        .iter()
        .filter(|v| v.code() == "grocery.delivery_slot_required")
        .collect();
    assert_eq!(blocked.len(), 2);
    assert_eq!(blocked[0].line_id(), Some("milk"));
    assert_eq!(blocked[0].field_name(), Some("context.delivery_slot"));
    assert_eq!(blocked[1].line_id(), Some("ice"));
    assert!(
        blocked
            .iter()
            .all(|v| v.severity() == Severity::BlockCheckout)
    );
    assert!(evaluation.is_accepted());
    assert!(!evaluation.can_check_out());
}

#[test]
fn a_delivery_slot_lets_cold_chain_carts_check_out() {
    let evaluation = evaluate(&cold_cart(Some("2030-05-01T10:00/12:00")));
    assert!(
        evaluation.violations.is_empty(),
        "{:?}",
        evaluation.violations
    );
    assert!(evaluation.can_check_out());
}

#[test]
fn a_blank_delivery_slot_is_no_slot() {
    let evaluation = evaluate(&cold_cart(Some("   ")));
    assert!(evaluation.has_violation("grocery.delivery_slot_required"));
}

#[test]
fn cold_chain_false_or_absent_needs_no_slot() {
    let cart = CartBuilder::new("USD")
        .line(
            LineBuilder::new("RICE")
                .price("20.00")
                .item_attr("cold_chain", "false"),
        )
        .line(LineBuilder::new("SALT").price("1.00"))
        .build();
    let evaluation = evaluate(&cart);
    assert!(evaluation.violations.is_empty());
    assert!(evaluation.fulfillment.requirements().is_empty());
}

#[test]
fn the_cold_chain_is_a_line_attribute_only_when_in_the_catalog() {
    // A shopper cannot mark their own line cold: only the catalog item's attribute counts.
    let cart = CartBuilder::new("USD")
        .line(
            LineBuilder::new("RICE")
                .price("20.00")
                .line_attr("cold_chain", "true"),
        )
        .build();
    assert!(evaluate(&cart).violations.is_empty());
}

#[test]
fn cold_chain_carts_require_cold_chain_and_a_delivery_slot() {
    let evaluation = evaluate(&cold_cart(Some("slot-1")));
    let rules = &evaluation.fulfillment;
    assert_eq!(rules.requirements(), ["cold_chain", "delivery_slot"]);
    assert_eq!(rules.allowed_modes(), ["delivery", "pickup"]);
    assert_eq!(rules.lead_time(), Some(60));
    assert_eq!(rules.notes().len(), 1);
}

// --- small-basket fee ---

#[test]
fn just_under_the_threshold_pays_the_small_basket_fee() {
    let evaluation = evaluate(&cart_of(1, "14.99"));
    assert_eq!(
        evaluation.fee_amount("grocery.small_basket"),
        Some(dec("2.99"))
    );
}

#[test]
fn exactly_the_threshold_pays_no_small_basket_fee() {
    let evaluation = evaluate(&cart_of(3, "5.00"));
    assert_eq!(evaluation.fee_amount("grocery.small_basket"), None);
}

#[test]
fn an_empty_cart_pays_no_fees() {
    let evaluation = evaluate(&CartBuilder::new("USD").build());
    assert!(evaluation.fees.is_empty());
    assert!(evaluation.violations.is_empty());
}

#[test]
fn the_small_basket_fee_and_threshold_come_from_the_config() {
    let config = r#"{"small_basket_threshold": "30.00", "small_basket_fee": "4.50"}"#;
    let evaluation = testing::evaluate_json::<Grocery>(&cart_of(1, "29.99"), config).unwrap();
    assert_eq!(
        evaluation.fee_amount("grocery.small_basket"),
        Some(dec("4.50"))
    );
    let evaluation = testing::evaluate_json::<Grocery>(&cart_of(1, "30"), config).unwrap();
    assert_eq!(evaluation.fee_amount("grocery.small_basket"), None);
}

#[test]
fn a_zero_threshold_turns_the_small_basket_fee_off() {
    let evaluation = testing::evaluate_json::<Grocery>(
        &cart_of(1, "0.01"),
        r#"{"small_basket_threshold": "0"}"#,
    )
    .unwrap();
    assert_eq!(evaluation.fee_amount("grocery.small_basket"), None);
}

// --- bag fee ---

#[test]
fn bags_are_charged_per_started_group_of_items() {
    for (items, bags) in [(1, 1), (4, 1), (5, 1), (6, 2), (10, 2), (11, 3), (50, 10)] {
        let evaluation = evaluate(&cart_of(items, "20.00"));
        assert_eq!(
            evaluation.fee_amount("grocery.bags"),
            Some(dec("0.10") * Decimal::from(bags)),
            "{items} items"
        );
    }
}

#[test]
fn bags_count_the_total_quantity_across_lines() {
    let cart = CartBuilder::new("USD")
        .line(LineBuilder::new("A").quantity(3).price("5.00"))
        .line(LineBuilder::new("B").quantity(3).price("5.00"))
        .build();
    let evaluation = evaluate(&cart);
    assert_eq!(evaluation.fee_amount("grocery.bags"), Some(dec("0.20")));
    assert_eq!(evaluation.fee("grocery.bags").unwrap().label(), "Bags (2)");
}

#[test]
fn bag_fees_are_exact_decimals() {
    let config = Config {
        bag_fee: dec("0.15"),
        items_per_bag: 3,
        ..Config::default()
    };
    let evaluation = testing::evaluate::<Grocery>(&cart_of(7, "20.00"), &config);
    let amount = evaluation.fee_amount("grocery.bags").unwrap();
    assert_eq!(amount.to_string(), "0.45");
}

#[test]
fn zero_items_per_bag_or_a_zero_bag_fee_turns_bags_off() {
    for config in [r#"{"items_per_bag": 0}"#, r#"{"bag_fee": "0.00"}"#] {
        let evaluation = testing::evaluate_json::<Grocery>(&cart_of(7, "20.00"), config).unwrap();
        assert_eq!(evaluation.fee_amount("grocery.bags"), None, "{config}");
    }
}

#[test]
fn a_small_basket_pays_both_fees_through_the_wire() {
    let evaluation = testing::evaluate_json::<Grocery>(&cart_of(2, "3.50"), "").unwrap();
    assert_eq!(
        evaluation.fee_amount("grocery.small_basket"),
        Some(dec("2.99"))
    );
    assert_eq!(evaluation.fee_amount("grocery.bags"), Some(dec("0.10")));
    assert_eq!(evaluation.total_fees().to_string(), "3.09");
}

// --- configuration ---

#[test]
fn the_default_configuration_is_what_empty_json_gives() {
    assert_eq!(
        testing::parse_config::<Grocery>("{}").unwrap(),
        Config::default()
    );
    assert_eq!(
        testing::parse_config::<Grocery>("").unwrap(),
        Config::default()
    );
}

#[test]
fn money_in_the_configuration_must_be_a_decimal_string() {
    let error = testing::parse_config::<Grocery>(r#"{"bag_fee": 0.1}"#).unwrap_err();
    assert!(error.starts_with("invalid configuration"), "{error}");
    let error = testing::parse_config::<Grocery>(r#"{"bag_fees": "0.1"}"#).unwrap_err();
    assert!(error.contains("unknown field"), "{error}");
}

#[test]
fn the_schema_documents_every_field_with_its_default() {
    let schema: serde_json::Value =
        serde_json::from_str(&testing::config_schema::<Grocery>()).unwrap();
    let properties = schema["properties"].as_object().unwrap();
    assert_eq!(properties.len(), 7);
    for (name, property) in properties {
        assert!(
            property["description"].is_string(),
            "{name} has no description"
        );
        assert!(property.get("default").is_some(), "{name} has no default");
    }
    assert_eq!(properties["small_basket_fee"]["type"], "string");
    assert_eq!(properties["small_basket_fee"]["default"], "2.99");
    assert_eq!(properties["max_total_quantity"]["default"], 50);
    assert_eq!(Grocery::describe().order_type(), "grocery");
}
