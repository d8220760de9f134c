use super::*;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn evaluate(cart: CartBuilder) -> Evaluation {
    testing::evaluate::<Medicine>(&cart.build(), &Config::default())
}

fn evaluate_with(cart: CartBuilder, config: &str) -> Evaluation {
    testing::evaluate_json::<Medicine>(&cart.build(), config).unwrap()
}

fn pharmacy() -> CartBuilder {
    CartBuilder::new("EUR")
}

fn plain(sku: &str, quantity: u32) -> LineBuilder {
    LineBuilder::new(sku)
        .id(format!("{sku}-{quantity}"))
        .quantity(quantity)
        .price("4.99")
        .category("medicine")
        .seller("pharmacy-1")
}

fn rx(sku: &str) -> LineBuilder {
    plain(sku, 1).item_attr("rx_required", "true")
}

fn adult(sku: &str) -> LineBuilder {
    plain(sku, 1).item_attr("age_restricted", "true")
}

#[test]
fn over_the_counter_items_need_nothing() {
    let evaluation = evaluate(pharmacy().line(plain("PARACETAMOL", 2)));
    assert!(evaluation.violations.is_empty());
    assert!(evaluation.fees.is_empty());
    assert!(evaluation.fulfillment.requirements().is_empty());
}

// --- prescriptions ---

#[test]
fn a_prescription_item_without_a_reference_is_rejected_on_its_line() {
    let evaluation = evaluate(
        pharmacy()
            .line(plain("PLASTERS", 1))
            .line(rx("AMOXICILLIN")),
    );
    let violation = evaluation
        .violation("medicine.prescription_required")
        .unwrap();
    assert_eq!(violation.severity(), Severity::Reject);
    assert_eq!(violation.line_id(), Some("AMOXICILLIN-1"));
    assert_eq!(violation.field_name(), Some("attributes.prescription_ref"));
    assert_eq!(evaluation.violations.len(), 1);
}

#[test]
fn a_zero_cap_is_refused_like_at_activation() {
    let error =
        testing::evaluate_json::<Medicine>(&pharmacy().build(), r#"{"max_quantity_per_sku": 0}"#)
            .unwrap_err();
    assert!(
        error.starts_with("invalid config: /max_quantity_per_sku"),
        "{error}"
    );
}

#[test]
fn a_prescription_reference_satisfies_the_rule() {
    let evaluation =
        evaluate(pharmacy().line(rx("AMOXICILLIN").line_attr("prescription_ref", "RX-2024-001")));
    assert!(
        evaluation.violations.is_empty(),
        "{:?}",
        evaluation.violations
    );
}

#[test]
fn a_blank_reference_or_one_in_the_catalog_does_not_count() {
    let blank = evaluate(pharmacy().line(rx("AMOXICILLIN").line_attr("prescription_ref", "  ")));
    assert!(blank.has_violation("medicine.prescription_required"));
    let wrong_place =
        evaluate(pharmacy().line(rx("AMOXICILLIN").item_attr("prescription_ref", "RX-1")));
    assert!(wrong_place.has_violation("medicine.prescription_required"));
}

#[test]
fn rx_required_false_needs_no_prescription() {
    let evaluation =
        evaluate(pharmacy().line(plain("VITAMIN_C", 1).item_attr("rx_required", "false")));
    assert!(evaluation.violations.is_empty());
    assert!(evaluation.fees.is_empty());
}

// --- age check ---

#[test]
fn age_restricted_items_block_checkout_until_the_age_is_verified() {
    let evaluation = evaluate(pharmacy().line(adult("NICOTINE_GUM")));
    let violation = evaluation
        .violation("medicine.age_verification_required")
        .unwrap();
    assert_eq!(violation.severity(), Severity::BlockCheckout);
    assert_eq!(violation.line_id(), Some("NICOTINE_GUM-1"));
    assert_eq!(violation.field_name(), Some("context.age_verified"));
    assert!(evaluation.is_accepted());

    let verified = evaluate(
        pharmacy()
            .line(adult("NICOTINE_GUM"))
            .context("age_verified", "true"),
    );
    assert!(verified.violations.is_empty());
}

#[test]
fn only_a_yes_verifies_the_age() {
    for value in ["false", "no", "", "maybe"] {
        let evaluation = evaluate(
            pharmacy()
                .line(adult("NICOTINE_GUM"))
                .context("age_verified", value),
        );
        assert!(
            evaluation.has_violation("medicine.age_verification_required"),
            "{value:?}"
        );
    }
    for value in ["true", "TRUE", "yes", "1"] {
        let evaluation = evaluate(
            pharmacy()
                .line(adult("NICOTINE_GUM"))
                .context("age_verified", value),
        );
        assert!(
            !evaluation.has_violation("medicine.age_verification_required"),
            "{value:?}"
        );
    }
}

// --- quantity caps ---

#[test]
fn exactly_the_default_cap_is_accepted_and_one_more_rejected() {
    assert!(
        evaluate(pharmacy().line(plain("IBUPROFEN", 10)))
            .violations
            .is_empty()
    );
    let evaluation = evaluate(pharmacy().line(plain("IBUPROFEN", 11)));
    let violation = evaluation.violation("medicine.quantity_cap").unwrap();
    assert_eq!(violation.severity(), Severity::Reject);
    assert_eq!(violation.line_id(), Some("IBUPROFEN-11"));
    assert!(
        violation.message().contains("at most 10"),
        "{}",
        violation.message()
    );
}

#[test]
fn the_cap_counts_a_sku_over_all_its_lines_and_names_the_last_one() {
    let evaluation = evaluate(
        pharmacy()
            .line(plain("IBUPROFEN", 6))
            .line(plain("PLASTERS", 10))
            .line(plain("IBUPROFEN", 5).seller("pharmacy-2")),
    );
    let capped: Vec<_> = evaluation
        .violations
        .iter()
        .filter(|v| v.code() == "medicine.quantity_cap")
        .collect();
    assert_eq!(capped.len(), 1);
    assert_eq!(capped[0].line_id(), Some("IBUPROFEN-5"));
}

#[test]
fn per_sku_limits_override_the_default_cap() {
    let config = r#"{"sku_limits": {"CODEINE": 2, "PLASTERS": 100}}"#;
    let evaluation = evaluate_with(pharmacy().line(plain("CODEINE", 2)), config);
    assert!(evaluation.violations.is_empty());
    let evaluation = evaluate_with(pharmacy().line(plain("CODEINE", 3)), config);
    assert!(evaluation.has_violation("medicine.quantity_cap"));
    let evaluation = evaluate_with(pharmacy().line(plain("PLASTERS", 100)), config);
    assert!(evaluation.violations.is_empty());
    let evaluation = evaluate_with(pharmacy().line(plain("IBUPROFEN", 11)), config);
    assert!(evaluation.has_violation("medicine.quantity_cap"));
}

#[test]
fn a_null_default_cap_leaves_only_per_sku_limits() {
    let config = r#"{"max_quantity_per_sku": null, "sku_limits": {"CODEINE": 1}}"#;
    let evaluation = evaluate_with(pharmacy().line(plain("PLASTERS", 5000)), config);
    assert!(evaluation.violations.is_empty());
    let evaluation = evaluate_with(pharmacy().line(plain("CODEINE", 2)), config);
    assert!(evaluation.has_violation("medicine.quantity_cap"));
}

// --- pharmacist fee ---

#[test]
fn any_prescription_item_adds_one_pharmacist_fee() {
    let evaluation = evaluate(
        pharmacy()
            .line(rx("AMOXICILLIN").line_attr("prescription_ref", "RX-1"))
            .line(rx("INSULIN").line_attr("prescription_ref", "RX-2"))
            .line(plain("PLASTERS", 1)),
    );
    assert_eq!(evaluation.fees.len(), 1);
    assert_eq!(
        evaluation.fee_amount("medicine.pharmacist"),
        Some(dec("2.50"))
    );
}

#[test]
fn the_pharmacist_fee_is_charged_even_while_the_prescription_is_missing() {
    // The reject refuses the line anyway; the fee shows what it would cost.
    let evaluation = evaluate(pharmacy().line(rx("AMOXICILLIN")));
    assert_eq!(
        evaluation.fee_amount("medicine.pharmacist"),
        Some(dec("2.50"))
    );
}

#[test]
fn the_pharmacist_fee_comes_from_the_config_and_zero_turns_it_off() {
    let cart = || pharmacy().line(rx("AMOXICILLIN").line_attr("prescription_ref", "RX-1"));
    let evaluation = evaluate_with(cart(), r#"{"pharmacist_fee": "4.75"}"#);
    assert_eq!(
        evaluation
            .fee_amount("medicine.pharmacist")
            .unwrap()
            .to_string(),
        "4.75"
    );
    let evaluation = evaluate_with(cart(), r#"{"pharmacist_fee": "0"}"#);
    assert!(evaluation.fees.is_empty());
}

// --- fulfillment ---

#[test]
fn fulfillment_requires_prescription_and_age_check_accordingly() {
    let rules = evaluate(pharmacy().line(plain("PLASTERS", 1))).fulfillment;
    assert!(rules.requirements().is_empty());
    assert_eq!(rules.allowed_modes(), ["delivery", "pickup"]);
    assert_eq!(rules.lead_time(), Some(60));

    let rules = evaluate(pharmacy().line(rx("AMOXICILLIN"))).fulfillment;
    assert_eq!(rules.requirements(), ["prescription"]);

    let rules = evaluate(pharmacy().line(adult("NICOTINE_GUM"))).fulfillment;
    assert_eq!(rules.requirements(), ["age_check"]);

    let rules = evaluate(
        pharmacy()
            .line(rx("AMOXICILLIN"))
            .line(adult("NICOTINE_GUM"))
            .context("age_verified", "true"),
    )
    .fulfillment;
    assert_eq!(rules.requirements(), ["prescription", "age_check"]);
    assert_eq!(rules.notes().len(), 2);
}

// --- configuration ---

#[test]
fn the_default_configuration_is_what_empty_json_gives() {
    assert_eq!(
        testing::parse_config::<Medicine>("null").unwrap(),
        Config::default()
    );
    assert_eq!(
        testing::parse_config::<Medicine>("{}").unwrap(),
        Config::default()
    );
    let error = testing::parse_config::<Medicine>(r#"{"sku_limits": {"X": -1}}"#).unwrap_err();
    assert!(error.starts_with("invalid configuration"), "{error}");
}

#[test]
fn the_schema_documents_every_field() {
    let schema: serde_json::Value =
        serde_json::from_str(&testing::config_schema::<Medicine>()).unwrap();
    let properties = schema["properties"].as_object().unwrap();
    assert_eq!(properties.len(), 5);
    for (name, property) in properties {
        assert!(
            property["description"].is_string(),
            "{name} has no description"
        );
        assert!(property.get("default").is_some(), "{name} has no default");
    }
    assert_eq!(properties["pharmacist_fee"]["type"], "string");
    assert_eq!(Medicine::describe().order_type(), "medicine");
}
