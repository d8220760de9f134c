//! What a plugin answers, checked and converted to core types. Nothing a plugin returns is
//! trusted: sizes, decimals, line ids and texts are all checked here.
//!
//! Output size is counted as the sum of the UTF-8 lengths of every string, plus
//! [`ELEMENT_BYTES`] for every list element (its pointer and length in the canonical ABI), so
//! a list of empty strings is not free. The answer is counted after wasmtime has copied it out
//! of the guest; the guest's memory cap bounds how much that can be.

use std::collections::HashSet;

use rust_decimal::Decimal;
use trolley_core::domain::{
    Evaluation, Fee, FulfillmentRules, LineId, PluginError, PluginInfo, Violation,
};

use crate::wit::v1_1 as wit;

/// Counted for each list element on top of its strings.
pub const ELEMENT_BYTES: usize = 8;
/// Longest code (violation or fee) accepted.
pub const MAX_CODE_BYTES: usize = 128;
/// Longest message, label, mode, requirement or note accepted.
pub const MAX_TEXT_BYTES: usize = 4096;
/// Longest decimal string accepted.
const MAX_DECIMAL_BYTES: usize = 64;
/// Longest violation `field` accepted.
pub const MAX_FIELD_BYTES: usize = 128;

fn strings_size<'a>(items: impl IntoIterator<Item = &'a String>) -> usize {
    items
        .into_iter()
        .map(|s| s.len().saturating_add(ELEMENT_BYTES))
        .fold(0, usize::saturating_add)
}

/// The size of an evaluation as counted against `PluginLimits::output_bytes`.
pub(crate) fn evaluation_size(e: &wit::Evaluation) -> usize {
    let violations = e
        .violations
        .iter()
        .map(|v| {
            ELEMENT_BYTES
                + v.code.len()
                + v.message.len()
                + v.line_id.as_ref().map_or(0, String::len)
                + v.field.as_ref().map_or(0, String::len)
        })
        .fold(0, usize::saturating_add);
    let fees = e
        .fees
        .iter()
        .map(|f| ELEMENT_BYTES + f.code.len() + f.label.len() + f.amount.len())
        .fold(0, usize::saturating_add);
    let rules = &e.fulfillment;
    [
        violations,
        fees,
        strings_size(&rules.allowed_modes),
        strings_size(&rules.requirements),
        strings_size(&rules.notes),
        rules.max_distance_km.as_ref().map_or(0, String::len),
    ]
    .into_iter()
    .fold(0, usize::saturating_add)
}

/// The size of a `describe` answer.
pub(crate) fn info_size(info: &wit::PluginInfo) -> usize {
    [
        info.order_type.len(),
        info.name.len(),
        info.version.len(),
        info.config_schema.len(),
    ]
    .into_iter()
    .fold(0, usize::saturating_add)
}

fn bad(message: impl Into<String>) -> PluginError {
    PluginError::BadOutput(message.into())
}

/// A short, printable excerpt of plugin-provided text for error messages.
fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out.escape_debug().to_string()
}

fn text(what: &str, value: String, max: usize) -> Result<String, PluginError> {
    if value.trim().is_empty() {
        return Err(bad(format!("{what} is empty")));
    }
    if value.len() > max {
        return Err(bad(format!(
            "{what} is {} bytes long (at most {max})",
            value.len()
        )));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(bad(format!(
            "{what} `{}` contains control characters",
            excerpt(&value)
        )));
    }
    Ok(value)
}

fn code(what: &str, value: String) -> Result<String, PluginError> {
    let value = text(what, value, MAX_CODE_BYTES)?;
    if value.chars().any(char::is_whitespace) {
        return Err(bad(format!(
            "{what} `{}` contains whitespace",
            excerpt(&value)
        )));
    }
    Ok(value)
}

/// Parses a money/measure decimal: `-?[0-9]+(\.[0-9]+)?`, exactly representable. Stricter
/// than `Decimal::from_str`, which also takes `1_000` and `.5`.
pub(crate) fn decimal(what: &str, value: &str) -> Result<Decimal, PluginError> {
    let malformed = || {
        bad(format!(
            "{what} `{}` is not a decimal string",
            excerpt(value)
        ))
    };
    if value.is_empty() || value.len() > MAX_DECIMAL_BYTES {
        return Err(malformed());
    }
    let digits = value.strip_prefix('-').unwrap_or(value);
    let (int, frac) = match digits.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
        return Err(malformed());
    }
    Decimal::from_str_exact(value).map_err(|_| malformed())
}

/// A violation's `field`: what the shopper changes to fix it. `quantity`, `seller`,
/// `fulfillment`, `attributes.<key>` (of the violation's line, so only with a line id) or
/// `context.<key>`, `<key>` of `[A-Za-z0-9_.:-]`; at most [`MAX_FIELD_BYTES`]. The SDK's test
/// harness applies the same rule (`trolley_plugin_sdk::rules::field`; a test below checks
/// both agree).
pub(crate) fn field(value: String, has_line: bool) -> Result<String, PluginError> {
    if value.is_empty() {
        return Err(bad("violation field is empty (leave it out instead)"));
    }
    if value.len() > MAX_FIELD_BYTES {
        return Err(bad(format!(
            "violation field is {} bytes long (at most {MAX_FIELD_BYTES})",
            value.len()
        )));
    }
    if matches!(value.as_str(), "quantity" | "seller" | "fulfillment") {
        return Ok(value);
    }
    let key_ok = |key: &str| {
        !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
    };
    let (kind, key) = if let Some(key) = value.strip_prefix("attributes.") {
        ("attribute", key)
    } else if let Some(key) = value.strip_prefix("context.") {
        ("context", key)
    } else {
        return Err(bad(format!(
            "violation field `{}` is not `quantity`, `seller`, `fulfillment`, \
             `attributes.<key>` or `context.<key>`",
            excerpt(&value)
        )));
    };
    if !key_ok(key) {
        return Err(bad(format!(
            "violation field `{}`: the {kind} key must be made of A-Z a-z 0-9 _ . : -",
            excerpt(&value)
        )));
    }
    if kind == "attribute" && !has_line {
        return Err(bad(format!(
            "violation field `{}` names a line attribute but the violation names no line",
            excerpt(&value)
        )));
    }
    Ok(value)
}

fn non_negative(what: &str, value: &str) -> Result<Decimal, PluginError> {
    let amount = decimal(what, value)?;
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(bad(format!("{what} `{value}` is negative")));
    }
    Ok(amount)
}

fn texts(what: &str, values: Vec<String>) -> Result<Vec<String>, PluginError> {
    values
        .into_iter()
        .map(|v| text(what, v, MAX_TEXT_BYTES))
        .collect()
}

/// Checks a plugin's evaluation of the cart whose line ids are `cart_line_ids` and converts
/// it to core types.
///
/// Fees must be zero or positive: a discount is not a fee, and a negative "fee" would let a
/// plugin lower totals behind the pricing rules' back.
pub(crate) fn evaluation<'a>(
    raw: wit::Evaluation,
    cart_line_ids: impl Iterator<Item = &'a str>,
    output_bytes: usize,
) -> Result<Evaluation, PluginError> {
    if evaluation_size(&raw) > output_bytes {
        return Err(PluginError::OutputTooLarge(output_bytes));
    }
    // Collected only when a violation names a line.
    let mut cart_line_ids = Some(cart_line_ids);
    let mut line_ids: Option<HashSet<&str>> = None;
    let mut violations = Vec::with_capacity(raw.violations.len());
    for v in raw.violations {
        let line_id = match v.line_id {
            None => None,
            Some(id) => {
                let known = line_ids
                    .get_or_insert_with(|| cart_line_ids.take().into_iter().flatten().collect());
                if !known.contains(id.as_str()) {
                    return Err(bad(format!(
                        "violation `{}` names line `{}`, which is not in the cart",
                        excerpt(&v.code),
                        excerpt(&id)
                    )));
                }
                let uuid = uuid::Uuid::parse_str(&id)
                    .map_err(|_| bad(format!("line id `{}` is not a line id", excerpt(&id))))?;
                Some(LineId(uuid))
            }
        };
        let field = v.field.map(|f| field(f, line_id.is_some())).transpose()?;
        violations.push(Violation {
            code: code("violation code", v.code)?,
            message: text("violation message", v.message, MAX_TEXT_BYTES)?,
            line_id,
            severity: v.severity.into(),
            field,
        });
    }
    let fees = raw
        .fees
        .into_iter()
        .map(|f| {
            let amount = non_negative(&format!("fee `{}` amount", excerpt(&f.code)), &f.amount)?;
            Ok(Fee {
                code: code("fee code", f.code)?,
                label: text("fee label", f.label, MAX_TEXT_BYTES)?,
                amount,
            })
        })
        .collect::<Result<Vec<_>, PluginError>>()?;
    let rules = raw.fulfillment;
    let fulfillment = FulfillmentRules {
        allowed_modes: texts("fulfillment mode", rules.allowed_modes)?,
        lead_time_minutes: rules.lead_time_minutes,
        requirements: texts("fulfillment requirement", rules.requirements)?,
        max_distance_km: rules
            .max_distance_km
            .as_deref()
            .map(|d| non_negative("max distance", d))
            .transpose()?,
        notes: texts("fulfillment note", rules.notes)?,
    };
    Ok(Evaluation {
        violations,
        fees,
        fulfillment,
        // Filled in by the caller, which knows what the call consumed.
        fuel_used: None,
    })
}

/// Checks a plugin's `describe` answer: order type `[a-z0-9_-]{1,64}`, a name, a semantic
/// version, and a config schema that is a JSON object compiling as a JSON Schema.
pub(crate) fn plugin_info(raw: wit::PluginInfo) -> Result<PluginInfo, PluginError> {
    let invalid = |m: String| PluginError::Invalid(m);
    let order_type = raw.order_type;
    if order_type.is_empty()
        || order_type.len() > 64
        || !order_type
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err(invalid(format!(
            "describe: order type `{}` must be 1 to 64 characters of a-z, 0-9, `_` and `-`",
            excerpt(&order_type)
        )));
    }
    let name = raw.name;
    if name.trim().is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        return Err(invalid(format!(
            "describe: name `{}` must be 1 to 128 printable characters",
            excerpt(&name)
        )));
    }
    if !is_semver(&raw.version) {
        return Err(invalid(format!(
            "describe: version `{}` is not a semantic version (MAJOR.MINOR.PATCH)",
            excerpt(&raw.version)
        )));
    }
    let config_schema: serde_json::Value = serde_json::from_str(&raw.config_schema)
        .map_err(|e| invalid(format!("describe: config schema is not JSON: {e}")))?;
    if !config_schema.is_object() {
        return Err(invalid(
            "describe: config schema must be a JSON object".to_owned(),
        ));
    }
    jsonschema::validator_for(&config_schema).map_err(|e| {
        invalid(format!(
            "describe: config schema is not a valid JSON Schema: {e}"
        ))
    })?;
    Ok(PluginInfo {
        order_type,
        name,
        version: raw.version,
        config_schema,
    })
}

/// `MAJOR.MINOR.PATCH` without leading zeros, optionally followed by `-pre` and `+build`
/// identifiers of `[0-9A-Za-z.-]`.
pub(crate) fn is_semver(version: &str) -> bool {
    if version.len() > 64 {
        return false;
    }
    let (rest, build) = match version.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (version, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let identifiers = |s: &str| {
        s.split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    let numbers: Vec<&str> = core.split('.').collect();
    numbers.len() == 3
        && numbers.iter().all(|n| {
            !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
                && (n.len() == 1 || !n.starts_with('0'))
        })
        && pre.is_none_or(identifiers)
        && build.is_none_or(identifiers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cart() -> crate::wit::CartArena<wit::Packing> {
        crate::wit::CartArena::new(&trolley_core::domain::PluginCart {
            cart_id: "c".into(),
            currency: "EUR".into(),
            subtotal: "1.00".parse().unwrap(),
            lines: vec![trolley_core::domain::PluginLine {
                line_id: "0190b3f0-0000-7000-8000-000000000001".into(),
                sku: "s".into(),
                quantity: 1,
                unit_price: "1.00".parse().unwrap(),
                category: "c".into(),
                seller: None,
                fulfillment: None,
                item_attributes: Default::default(),
                line_attributes: Default::default(),
            }],
            context: Default::default(),
        })
    }

    fn evaluation_with(violations: Vec<wit::Violation>, fees: Vec<wit::Fee>) -> wit::Evaluation {
        wit::Evaluation {
            violations,
            fees,
            fulfillment: wit::FulfillmentRules {
                allowed_modes: vec![],
                lead_time_minutes: None,
                requirements: vec![],
                max_distance_km: None,
                notes: vec![],
            },
        }
    }

    fn fee(amount: &str) -> wit::Fee {
        wit::Fee {
            code: "bag".into(),
            label: "Bag".into(),
            amount: amount.into(),
        }
    }

    #[test]
    fn decimals_are_strict() {
        for ok in ["0", "12.50", "-3.1", "0.0000001"] {
            assert!(decimal("x", ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "1.2.3", "1_000", ".5", "5.", "1e3", "+1", " 1", "NaN", "-",
        ] {
            assert!(
                matches!(decimal("x", bad), Err(PluginError::BadOutput(_))),
                "{bad}"
            );
        }
        assert_eq!(decimal("x", "12.50").unwrap().to_string(), "12.50");
    }

    #[test]
    fn negative_fees_and_bad_decimals_are_bad_output() {
        let e = evaluation(
            evaluation_with(vec![], vec![fee("-1.00")]),
            cart().line_ids(),
            1000,
        );
        assert!(matches!(e, Err(PluginError::BadOutput(m)) if m.contains("negative")));
        let e = evaluation(
            evaluation_with(vec![], vec![fee("1,00")]),
            cart().line_ids(),
            1000,
        );
        assert!(matches!(e, Err(PluginError::BadOutput(_))));
        let e = evaluation(
            evaluation_with(vec![], vec![fee("-0.00")]),
            cart().line_ids(),
            1000,
        );
        assert!(e.is_ok());
    }

    #[test]
    fn violations_must_name_cart_lines() {
        let violation = |line: &str| wit::Violation {
            code: "x.y".into(),
            message: "m".into(),
            line_id: Some(line.into()),
            severity: wit::Severity::Reject,
            field: None,
        };
        let ok = evaluation(
            evaluation_with(
                vec![violation("0190b3f0-0000-7000-8000-000000000001")],
                vec![],
            ),
            cart().line_ids(),
            1000,
        )
        .unwrap();
        assert_eq!(
            ok.violations[0].line_id.unwrap().to_string(),
            "0190b3f0-0000-7000-8000-000000000001"
        );
        let e = evaluation(
            evaluation_with(vec![violation("nope")], vec![]),
            cart().line_ids(),
            1000,
        );
        assert!(matches!(e, Err(PluginError::BadOutput(m)) if m.contains("not in the cart")));
    }

    #[test]
    fn size_is_checked_before_anything_else() {
        let huge = wit::Violation {
            code: String::new(),
            message: "x".repeat(5000),
            line_id: None,
            severity: wit::Severity::Warning,
            field: None,
        };
        let e = evaluation(evaluation_with(vec![huge], vec![]), cart().line_ids(), 4096);
        assert_eq!(e, Err(PluginError::OutputTooLarge(4096)));
    }

    #[test]
    fn empty_codes_and_messages_are_bad_output() {
        let v = wit::Violation {
            code: " ".into(),
            message: "m".into(),
            line_id: None,
            severity: wit::Severity::Warning,
            field: None,
        };
        let e = evaluation(evaluation_with(vec![v], vec![]), cart().line_ids(), 1000);
        assert!(matches!(e, Err(PluginError::BadOutput(_))));
    }

    #[test]
    fn violation_fields_are_checked() {
        let line = "0190b3f0-0000-7000-8000-000000000001";
        let violation = |line_id: Option<&str>, field: &str| wit::Violation {
            code: "x.y".into(),
            message: "m".into(),
            line_id: line_id.map(str::to_owned),
            severity: wit::Severity::BlockCheckout,
            field: Some(field.into()),
        };
        let run = |v| evaluation(evaluation_with(vec![v], vec![]), cart().line_ids(), 10_000);
        let ok = run(violation(Some(line), "attributes.prescription_ref")).unwrap();
        assert_eq!(
            ok.violations[0].field.as_deref(),
            Some("attributes.prescription_ref")
        );
        for field in [
            "quantity",
            "seller",
            "fulfillment",
            "context.age_verified",
            "context.a:b-c.d",
        ] {
            assert!(run(violation(None, field)).is_ok(), "{field}");
        }
        for (line_id, field, says) in [
            (None, "attributes.prescription_ref", "names no line"),
            (Some(line), "", "empty"),
            (Some(line), "price", "is not `quantity`"),
            (Some(line), "context.", "key must be made of"),
            (Some(line), "context.a b", "key must be made of"),
            (Some(line), "attributes.é", "key must be made of"),
        ] {
            match run(violation(line_id, field)) {
                Err(PluginError::BadOutput(m)) => assert!(m.contains(says), "{field}: {m}"),
                other => panic!("{field}: {other:?}"),
            }
        }
        let long = format!("context.{}", "k".repeat(MAX_FIELD_BYTES));
        assert!(matches!(
            run(violation(None, &long)),
            Err(PluginError::BadOutput(m)) if m.contains("at most 128")
        ));
    }

    /// The SDK's test harness refuses exactly what the host refuses.
    #[test]
    fn the_sdk_harness_applies_the_same_rules() {
        use trolley_plugin_sdk::rules;
        let fields = [
            "quantity",
            "seller",
            "fulfillment",
            "context.k",
            "attributes.k",
            "context.a:b-c.d_e",
            "",
            "price",
            "Quantity",
            "context.",
            "attributes.",
            "context.a b",
            "context.é",
            "context.k/",
            "attributes",
            &"context.".repeat(20),
        ];
        for f in fields {
            for has_line in [false, true] {
                assert_eq!(
                    field(f.to_owned(), has_line).is_ok(),
                    rules::field(f, has_line).is_ok(),
                    "{f:?} (line: {has_line})"
                );
            }
        }
        let decimals = [
            "0",
            "12.50",
            "-3.1",
            "",
            "1.2.3",
            "1_000",
            ".5",
            "5.",
            "1e3",
            "+1",
            " 1",
            "-",
            &"9".repeat(65),
        ];
        for d in decimals {
            assert_eq!(decimal("x", d).is_ok(), rules::is_decimal(d), "{d:?}");
        }
        let texts = [
            "ok",
            " ",
            "",
            "tab\tok",
            "bell\u{7}",
            &"x".repeat(MAX_TEXT_BYTES + 1),
        ];
        for t in texts {
            assert_eq!(
                text("x", t.to_owned(), MAX_TEXT_BYTES).is_ok(),
                rules::text("x", t, rules::MAX_TEXT_BYTES).is_ok(),
                "{t:?}"
            );
        }
        for c in ["a.b", "a b", "", &"c".repeat(MAX_CODE_BYTES + 1)] {
            assert_eq!(
                code("x", c.to_owned()).is_ok(),
                rules::code("x", c).is_ok(),
                "{c:?}"
            );
        }
        assert_eq!(
            (
                MAX_CODE_BYTES,
                MAX_TEXT_BYTES,
                MAX_FIELD_BYTES,
                MAX_DECIMAL_BYTES
            ),
            (
                rules::MAX_CODE_BYTES,
                rules::MAX_TEXT_BYTES,
                rules::MAX_FIELD_BYTES,
                rules::MAX_DECIMAL_BYTES
            )
        );
    }

    #[test]
    fn semver() {
        for ok in [
            "0.1.0",
            "1.0.0",
            "10.20.30",
            "1.0.0-rc.1",
            "1.0.0+build.5",
            "1.2.3-a-b+c",
        ] {
            assert!(is_semver(ok), "{ok}");
        }
        for bad in [
            "", "1", "1.0", "1.0.0.0", "01.0.0", "1.0.x", "v1.0.0", "1.0.0-", "1.0.0+",
        ] {
            assert!(!is_semver(bad), "{bad}");
        }
    }

    #[test]
    fn plugin_info_is_checked() {
        let raw = |order_type: &str, version: &str, schema: &str| wit::PluginInfo {
            order_type: order_type.into(),
            name: "Grocery".into(),
            version: version.into(),
            config_schema: schema.into(),
        };
        assert!(plugin_info(raw("grocery", "1.0.0", r#"{"type":"object"}"#)).is_ok());
        for (ot, v, s) in [
            ("", "1.0.0", "{}"),
            ("Grocery", "1.0.0", "{}"),
            ("grocery", "1.0", "{}"),
            ("grocery", "1.0.0", "not json"),
            ("grocery", "1.0.0", "[]"),
            ("grocery", "1.0.0", r#"{"type": 5}"#),
        ] {
            assert!(
                matches!(plugin_info(raw(ot, v, s)), Err(PluginError::Invalid(_))),
                "{ot} {v} {s}"
            );
        }
    }
}
