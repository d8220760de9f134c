use super::*;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// A delivered cart from `pizzeria` with one line of `quantity` × `price`.
fn cart(quantity: u32, price: &str) -> CartBuilder {
    CartBuilder::new("USD").line(
        LineBuilder::new("MARGHERITA")
            .id("pizza")
            .quantity(quantity)
            .price(price)
            .category("food")
            .seller("pizzeria"),
    )
}

/// A 20.00 cart at 2 km, at noon: nothing to complain about.
fn good() -> CartBuilder {
    cart(2, "10.00")
        .context("distance_km", "2")
        .context("local_time", "12:00")
}

fn evaluate(cart: CartBuilder) -> Evaluation {
    testing::evaluate::<Food>(&cart.build(), &Config::default())
}

fn evaluate_with(cart: CartBuilder, config: &str) -> Evaluation {
    testing::evaluate_json::<Food>(&cart.build(), config).unwrap()
}

#[test]
fn a_good_cart_has_no_violations_and_both_fees() {
    let evaluation = evaluate(good());
    assert!(
        evaluation.violations.is_empty(),
        "{:?}",
        evaluation.violations
    );
    assert_eq!(evaluation.fee_amount("food.delivery"), Some(dec("1.99")));
    assert_eq!(evaluation.fee_amount("food.service"), Some(dec("1.00")));
}

#[test]
fn an_empty_cart_says_nothing() {
    let evaluation = evaluate(CartBuilder::new("USD"));
    assert!(evaluation.violations.is_empty());
    assert!(evaluation.fees.is_empty());
}

// --- one outlet ---

#[test]
fn a_line_from_a_second_outlet_is_rejected_on_that_line() {
    let evaluation = evaluate(
        good().line(
            LineBuilder::new("SUSHI")
                .id("sushi")
                .price("12.00")
                .seller("sushi-bar"),
        ),
    );
    let violation = evaluation.violation("food.one_outlet").unwrap();
    assert_eq!(violation.field_name(), Some("seller"));
    assert_eq!(violation.severity(), Severity::Reject);
    assert_eq!(violation.line_id(), Some("sushi"));
    assert!(violation.message().contains("pizzeria"));
    assert_eq!(evaluation.violations.len(), 1);
}

#[test]
fn more_lines_from_the_same_outlet_are_fine() {
    let evaluation =
        evaluate(good().line(LineBuilder::new("COLA").price("2.00").seller("pizzeria")));
    assert!(!evaluation.has_violation("food.one_outlet"));
}

#[test]
fn every_line_from_other_outlets_is_named() {
    let evaluation = evaluate(
        good()
            .line(LineBuilder::new("A").id("a").price("1").seller("x"))
            .line(LineBuilder::new("B").id("b").price("1").seller("pizzeria"))
            .line(LineBuilder::new("C").id("c").price("1").seller("y")),
    );
    let lines: Vec<_> = evaluation
        .violations
        .iter()
        .filter(|v| v.code() == "food.one_outlet")
        .map(|v| v.line_id().unwrap())
        .collect();
    assert_eq!(lines, ["a", "c"]);
}

#[test]
fn lines_without_a_seller_are_not_judged_for_the_outlet() {
    let evaluation = evaluate(good().line(LineBuilder::new("NAPKINS").price("0.50")));
    assert!(!evaluation.has_violation("food.one_outlet"));
}

// --- minimum order ---

#[test]
fn just_below_the_minimum_order_blocks_checkout() {
    let evaluation = evaluate(
        cart(1, "9.99")
            .context("distance_km", "1")
            .context("local_time", "12:00"),
    );
    let violation = evaluation.violation("food.min_order").unwrap();
    assert_eq!(violation.severity(), Severity::BlockCheckout);
    assert!(evaluation.is_accepted());
    assert!(!evaluation.can_check_out());
}

#[test]
fn exactly_the_minimum_order_can_check_out() {
    let evaluation = evaluate(cart(1, "10.00").context("distance_km", "1"));
    assert!(evaluation.can_check_out(), "{:?}", evaluation.violations);
}

#[test]
fn the_minimum_order_comes_from_the_config() {
    let evaluation = evaluate_with(good(), r#"{"min_order": "25.00"}"#);
    assert!(evaluation.has_violation("food.min_order"));
    let evaluation = evaluate_with(
        cart(1, "0.50").context("distance_km", "1"),
        r#"{"min_order": "0"}"#,
    );
    assert!(!evaluation.has_violation("food.min_order"));
}

// --- delivery bands ---

#[test]
fn the_delivery_fee_follows_the_distance_bands_inclusively() {
    for (km, fee) in [
        ("0", "1.99"),
        ("2.5", "1.99"),
        ("3", "1.99"),
        ("3.0", "1.99"),
        ("3.01", "3.99"),
        ("7", "3.99"),
    ] {
        let evaluation = evaluate(cart(2, "10.00").context("distance_km", km));
        assert_eq!(
            evaluation.fee_amount("food.delivery"),
            Some(dec(fee)),
            "{km} km"
        );
        assert!(
            evaluation.can_check_out(),
            "{km} km: {:?}",
            evaluation.violations
        );
    }
}

#[test]
fn beyond_the_last_band_blocks_checkout_and_charges_no_delivery() {
    let evaluation = evaluate(cart(2, "10.00").context("distance_km", "7.01"));
    let violation = evaluation.violation("food.out_of_range").unwrap();
    assert_eq!(violation.severity(), Severity::BlockCheckout);
    assert_eq!(violation.field_name(), Some("context.distance_km"));
    assert!(
        violation.message().contains("7 km"),
        "{}",
        violation.message()
    );
    assert_eq!(evaluation.fee_amount("food.delivery"), None);
    assert!(evaluation.fee_amount("food.service").is_some());
}

#[test]
fn a_missing_distance_blocks_checkout_until_the_storefront_sends_it() {
    let evaluation = evaluate(cart(2, "10.00"));
    assert_eq!(
        evaluation
            .violation("food.distance_required")
            .map(Violation::severity),
        Some(Severity::BlockCheckout)
    );
    assert_eq!(evaluation.fee_amount("food.delivery"), None);
}

#[test]
fn a_malformed_or_negative_distance_blocks_checkout() {
    for km in ["far", "3,5", "-1", "", "1e3"] {
        let evaluation = evaluate(cart(2, "10.00").context("distance_km", km));
        assert!(evaluation.has_violation("food.distance_invalid"), "{km:?}");
        assert_eq!(evaluation.fee_amount("food.delivery"), None);
    }
}

#[test]
fn bands_are_sorted_whatever_order_the_config_lists_them_in() {
    let config = r#"{"delivery_bands": [
        {"max_km": "10", "fee": "5.00"},
        {"max_km": "2", "fee": "0.99"}
    ]}"#;
    let evaluation = evaluate_with(cart(2, "10.00").context("distance_km", "1"), config);
    assert_eq!(evaluation.fee_amount("food.delivery"), Some(dec("0.99")));
    let evaluation = evaluate_with(cart(2, "10.00").context("distance_km", "9"), config);
    assert_eq!(evaluation.fee_amount("food.delivery"), Some(dec("5.00")));
    assert_eq!(evaluation.fulfillment.max_distance(), Some(dec("10")));
}

#[test]
fn pickup_carts_need_no_distance_and_pay_no_delivery() {
    let pickup = CartBuilder::new("USD").line(
        LineBuilder::new("MARGHERITA")
            .price("20.00")
            .seller("pizzeria")
            .fulfillment("pickup"),
    );
    let evaluation = evaluate(pickup);
    assert!(evaluation.can_check_out(), "{:?}", evaluation.violations);
    assert_eq!(evaluation.fee_amount("food.delivery"), None);
}

#[test]
fn a_cart_with_any_delivered_line_is_delivered() {
    let mixed = cart(2, "10.00").line(
        LineBuilder::new("COLA")
            .price("2.00")
            .seller("pizzeria")
            .fulfillment("pickup"),
    );
    assert!(evaluate(mixed).has_violation("food.distance_required"));
}

#[test]
fn no_bands_means_free_delivery_at_any_distance() {
    let evaluation = evaluate_with(cart(2, "10.00"), r#"{"delivery_bands": []}"#);
    assert!(evaluation.can_check_out(), "{:?}", evaluation.violations);
    assert_eq!(evaluation.fee_amount("food.delivery"), None);
    assert_eq!(evaluation.fulfillment.max_distance(), None);
}

// --- service fee ---

#[test]
fn the_service_fee_is_a_percentage_rounded_to_cents() {
    // 5 % of 23.45 = 1.1725 → 1.17; of 23.50 = 1.175 → 1.18 (half away from zero).
    for (price, fee) in [("23.45", "1.17"), ("23.50", "1.18"), ("10.00", "0.50")] {
        let evaluation = evaluate(cart(1, price).context("distance_km", "1"));
        let amount = evaluation.fee_amount("food.service").unwrap();
        assert_eq!(amount.to_string(), fee, "{price}");
    }
}

#[test]
fn the_service_fee_is_capped() {
    // 5 % of 79.80 = 3.99, of 80.00 = 4.00 (the cap), of 200.00 = 10.00 → 4.00.
    for (price, fee) in [("79.80", "3.99"), ("80.00", "4.00"), ("200.00", "4.00")] {
        let evaluation = evaluate(cart(1, price).context("distance_km", "1"));
        assert_eq!(
            evaluation.fee_amount("food.service").unwrap().to_string(),
            fee,
            "{price}"
        );
    }
}

#[test]
fn a_null_cap_lifts_the_cap_and_a_zero_percent_turns_the_fee_off() {
    let big = || cart(1, "200.00").context("distance_km", "1");
    let evaluation = evaluate_with(big(), r#"{"service_fee_cap": null}"#);
    assert_eq!(evaluation.fee_amount("food.service"), Some(dec("10.00")));
    let evaluation = evaluate_with(big(), r#"{"service_fee_percent": "0"}"#);
    assert_eq!(evaluation.fee_amount("food.service"), None);
}

#[test]
fn zero_decimal_currencies_round_to_whole_units() {
    let yen = CartBuilder::new("JPY")
        .line(
            LineBuilder::new("RAMEN")
                .quantity(1)
                .price("1250")
                .seller("ramen-ya"),
        )
        .context("distance_km", "1");
    let config = r#"{"service_fee_cap": null, "delivery_bands": [{"max_km": "5", "fee": "300"}]}"#;
    let evaluation = evaluate_with(yen, config);
    // 5 % of 1250 = 62.5 → 63.
    assert_eq!(
        evaluation.fee_amount("food.service").unwrap().to_string(),
        "63"
    );
    assert_eq!(
        evaluation.fee_amount("food.delivery").unwrap().to_string(),
        "300"
    );

    let dong = CartBuilder::new("VND")
        .line(LineBuilder::new("PHO").price("85000").seller("pho-24"))
        .context("distance_km", "1");
    let evaluation = evaluate_with(
        dong,
        r#"{"service_fee_percent": "3.3", "service_fee_cap": null, "min_order": "0"}"#,
    );
    assert_eq!(
        evaluation.fee_amount("food.service").unwrap().to_string(),
        "2805"
    );
}

// --- opening hours ---

#[test]
fn outlets_are_open_from_opening_time_until_just_before_closing() {
    for (time, open) in [
        ("09:59", false),
        ("10:00", true),
        ("12:00", true),
        ("21:59", true),
        ("21:59:59", true),
        ("22:00", false),
        ("23:30", false),
        ("00:00", false),
        ("9:59", false),
    ] {
        let evaluation = evaluate(
            cart(2, "10.00")
                .context("distance_km", "1")
                .context("local_time", time),
        );
        assert_eq!(
            !evaluation.has_violation("food.outlet_closed"),
            open,
            "{time}"
        );
    }
}

#[test]
fn a_closed_outlet_blocks_checkout_and_says_when_it_opens() {
    let evaluation = evaluate(good().context("local_time", "08:00"));
    let violation = evaluation.violation("food.outlet_closed").unwrap();
    assert_eq!(violation.severity(), Severity::BlockCheckout);
    assert!(
        violation.message().contains("10:00–22:00"),
        "{}",
        violation.message()
    );
}

#[test]
fn outlet_hours_override_the_default_and_may_span_midnight() {
    let config = r#"{"outlet_hours": {"pizzeria": {"open": "18:00", "close": "02:00"}}}"#;
    for (time, open) in [
        ("12:00", false),
        ("18:00", true),
        ("23:59", true),
        ("01:59", true),
        ("02:00", false),
    ] {
        let evaluation = evaluate_with(good().context("local_time", time), config);
        assert_eq!(
            !evaluation.has_violation("food.outlet_closed"),
            open,
            "{time}"
        );
    }
}

#[test]
fn equal_opening_and_closing_times_mean_always_open() {
    let config = r#"{"opening_hours": {"open": "00:00", "close": "00:00"}}"#;
    let evaluation = evaluate_with(good().context("local_time", "03:00"), config);
    assert!(!evaluation.has_violation("food.outlet_closed"));
}

#[test]
fn without_local_time_hours_are_not_checked_and_a_malformed_one_blocks() {
    let evaluation = evaluate(cart(2, "10.00").context("distance_km", "1"));
    assert!(evaluation.can_check_out());
    for time in ["noon", "24:00", "12:60", "1200", "12:5"] {
        let evaluation = evaluate(good().context("local_time", time));
        assert!(
            evaluation.has_violation("food.local_time_invalid"),
            "{time}"
        );
    }
}

#[test]
fn malformed_hours_in_the_config_are_a_configuration_error() {
    let error = testing::evaluate_json::<Food>(
        &good().build(),
        r#"{"opening_hours": {"open": "25:00", "close": "22:00"}}"#,
    )
    .unwrap_err();
    // Refused by the schema, as at activation…
    assert!(
        error.starts_with("invalid config: /opening_hours/open"),
        "{error}"
    );
    // …and by the plugin itself, should a configuration ever reach it.
    let error =
        testing::parse_config::<Food>(r#"{"opening_hours": {"open": "25:00", "close": "22:00"}}"#)
            .err()
            .unwrap();
    assert!(error.contains("not a time of day"), "{error}");
}

// --- fulfillment and configuration ---

#[test]
fn fulfillment_lists_modes_lead_time_and_the_last_band() {
    let rules = evaluate(good()).fulfillment;
    assert_eq!(rules.allowed_modes(), ["delivery", "pickup"]);
    assert_eq!(rules.lead_time(), Some(30));
    assert_eq!(rules.max_distance(), Some(dec("7")));
    assert_eq!(rules.notes(), ["pizzeria takes orders 10:00–22:00"]);
}

#[test]
fn the_default_configuration_round_trips_through_json() {
    assert_eq!(
        testing::parse_config::<Food>("{}").unwrap(),
        Config::default()
    );
    let json = serde_json::to_string(&Config::default()).unwrap();
    assert_eq!(
        testing::parse_config::<Food>(&json).unwrap(),
        Config::default()
    );
}

#[test]
fn the_schema_documents_every_field() {
    let schema: serde_json::Value =
        serde_json::from_str(&testing::config_schema::<Food>()).unwrap();
    let properties = schema["properties"].as_object().unwrap();
    for (name, property) in properties {
        assert!(
            property["description"].is_string(),
            "{name} has no description"
        );
        assert!(property.get("default").is_some(), "{name} has no default");
    }
    assert_eq!(properties["min_order"]["default"], "10.00");
    assert_eq!(properties["opening_hours"]["default"]["open"], "10:00");
    let band = &schema["$defs"]["DeliveryBand"]["properties"];
    assert_eq!(band["fee"]["type"], "string");
    assert_eq!(Food::describe().order_type(), "food");
}
