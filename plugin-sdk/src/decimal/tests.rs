//! The SDK's decimal strings against `rust_decimal`'s: same values, same scales, same text.

use proptest::prelude::*;

use super::*;

type Rd = rust_decimal::Decimal;

/// Same value, scale and sign bit.
fn same(ours: Decimal, theirs: Rd) -> bool {
    ours.0.serialize() == theirs.serialize()
}

fn any_rd() -> impl Strategy<Value = Rd> {
    (
        any::<u32>(),
        any::<u32>(),
        prop_oneof![Just(0u32), 0..16u32, any::<u32>()],
        any::<bool>(),
        0..=MAX_SCALE,
    )
        .prop_map(|(lo, mid, hi, negative, scale)| Rd::from_parts(lo, mid, hi, negative, scale))
}

/// Small values too: most money has a handful of digits.
fn any_decimal() -> impl Strategy<Value = Rd> {
    prop_oneof![
        any_rd(),
        (any::<i64>(), 0..=6u32).prop_map(|(n, scale)| Rd::new(n % 1_000_000, scale)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parses_plain_strings_like_rust_decimal(
        negative in any::<bool>(),
        int in "[0-9]{1,31}",
        frac in proptest::option::of("[0-9]{1,30}"),
    ) {
        let text = format!(
            "{}{int}{}",
            if negative { "-" } else { "" },
            frac.as_deref().map(|f| format!(".{f}")).unwrap_or_default()
        );
        let theirs = Rd::from_str_exact(&text);
        match Decimal::from_str_exact(&text) {
            Ok(ours) => {
                let theirs = theirs.expect("rust_decimal reads what the SDK reads");
                prop_assert!(same(ours, theirs), "{text}: {ours:?} vs {theirs:?}");
                prop_assert_eq!(ours.to_string(), theirs.to_string());
            }
            // Refused only when too large or more than 28 decimals; rust_decimal then refuses
            // it too, or keeps fewer digits than were written.
            Err(_) => match theirs {
                Err(_) => {}
                Ok(theirs) => prop_assert!(
                    frac.as_ref().is_some_and(|f| f.len() as u32 > MAX_SCALE)
                        || theirs.to_string() != text,
                    "{text} refused but rust_decimal reads {theirs}"
                ),
            },
        }
    }

    #[test]
    fn prints_like_rust_decimal(value in any_decimal(), precision in 0..34usize) {
        let ours = Decimal(value);
        prop_assert_eq!(ours.to_string(), value.to_string());
        prop_assert_eq!(ours.to_plain_string(), value.to_string());
        prop_assert_eq!(format!("{ours:?}"), format!("{value:?}"));
        // rust_decimal panics when the text with a precision passes 32 bytes; the SDK does not.
        let whole = value.trunc().abs().to_string().len();
        if whole + 2 + precision.min(28) <= 32 {
            prop_assert_eq!(format!("{ours:.precision$}"), format!("{value:.precision$}"));
        } else {
            let text = format!("{ours:.precision$}");
            let point = text.find('.').map_or(text.len(), |p| p + 1);
            prop_assert_eq!(text.len() - point, precision);
        }
        prop_assert_eq!(format!("{ours:>40}"), format!("{value:>40}"));
        prop_assert_eq!(format!("{ours:+}"), format!("{value:+}"));
        prop_assert_eq!(format!("{ours:<9.2}|"), format!("{value:<9.2}|"));
    }

    #[test]
    fn reads_back_what_it_prints(value in any_decimal()) {
        let text = Decimal(value).to_plain_string();
        let read = Decimal::from_str_exact(&text).expect("reads its own output");
        prop_assert!(same(read, value), "{text}");
    }

    #[test]
    fn line_totals_are_exact_products(price in any_decimal(), quantity in any::<u32>()) {
        let theirs = price.checked_mul(Rd::from(quantity));
        match Decimal(price).times(quantity) {
            Some(ours) => prop_assert!(same(ours, theirs.expect("rust_decimal multiplies too"))),
            // Too large for 96 bits at this scale: rust_decimal gives up decimals or fails.
            None => prop_assert!(theirs.is_none_or(|t| t.scale() < price.scale())),
        }
    }

    #[test]
    fn arithmetic_is_rust_decimals(a in any_decimal(), b in any_decimal()) {
        let (x, y) = (Decimal(a), Decimal(b));
        let pairs = [
            (x.checked_add(y), a.checked_add(b)),
            (x.checked_sub(y), a.checked_sub(b)),
            (x.checked_mul(y), a.checked_mul(b)),
            (x.checked_div(y), a.checked_div(b)),
            (x.checked_rem(y), a.checked_rem(b)),
        ];
        for (ours, theirs) in pairs {
            match (ours, theirs) {
                (Some(ours), Some(theirs)) => prop_assert!(same(ours, theirs)),
                (None, None) => {}
                other => prop_assert!(false, "{other:?}"),
            }
        }
        prop_assert_eq!(x.cmp(&y), a.cmp(&b));
        prop_assert_eq!(x == y, a == b);
        if let Some(sum) = a.checked_add(b) {
            prop_assert!(same(x + y, sum));
            prop_assert!(same([x, y].iter().sum(), sum));
        }
        if let Some(product) = a.checked_mul(b) {
            prop_assert!(same(x * y, product));
        }
        for dp in [0, 2, 3] {
            prop_assert!(same(x.round_dp(dp), a.round_dp(dp)));
            let strategy = RoundingStrategy::MidpointAwayFromZero;
            prop_assert!(same(
                x.round_dp_with_strategy(dp, strategy),
                a.round_dp_with_strategy(dp, strategy)
            ));
            let (mut ours, mut theirs) = (x, a);
            ours.rescale(dp);
            theirs.rescale(dp);
            prop_assert!(same(ours, theirs));
        }
        prop_assert!(same(-x, -a));
        prop_assert!(same(x.abs(), a.abs()));
        prop_assert!(same(x.trunc(), a.trunc()));
        prop_assert!(same(x.floor(), a.floor()));
        prop_assert!(same(x.ceil(), a.ceil()));
        prop_assert!(same(x.normalize(), a.normalize()));
        prop_assert_eq!(x.mantissa(), a.mantissa());
        prop_assert_eq!(x.scale(), a.scale());
    }
}

#[test]
fn refuses_all_but_plain_decimals() {
    for bad in [
        "", "-", "+1", ".5", "5.", "-.5", "1e3", "1E3", "1_000", " 1", "1 ", "--1", "1.2.3",
        "0x10", "1,5", "١", "NaN", "inf", "-0.", ".",
    ] {
        assert_eq!(
            Decimal::from_str_exact(bad),
            Err(ParseDecimalError),
            "{bad:?}"
        );
    }
    // Too large, too many decimals.
    assert!(Decimal::from_str_exact("79228162514264337593543950336").is_err());
    assert!(Decimal::from_str_exact("0.00000000000000000000000000001").is_err());
}

#[test]
fn reads_the_edges() {
    let max = Decimal::from_str_exact("79228162514264337593543950335").unwrap();
    assert_eq!(max, Decimal::MAX);
    let min = Decimal::from_str_exact("-79228162514264337593543950335").unwrap();
    assert_eq!(min, Decimal::MIN);
    let tiny = Decimal::from_str_exact("0.0000000000000000000000000001").unwrap();
    assert_eq!(tiny.scale(), 28);
    assert_eq!(tiny.to_string(), "0.0000000000000000000000000001");
    for zero in ["-0.00", "-0", "0.000"] {
        let ours = Decimal::from_str_exact(zero).unwrap();
        assert!(same(ours, Rd::from_str_exact(zero).unwrap()), "{zero}");
        assert!(ours.is_zero() && !ours.is_negative());
    }
    assert_eq!("007.50".parse::<Decimal>().unwrap().to_string(), "7.50");
}

#[test]
fn new_and_conversions() {
    assert_eq!(Decimal::new(1250, 2).to_string(), "12.50");
    assert_eq!(Decimal::new(-5, 0).to_string(), "-5");
    const FEE: Decimal = Decimal::new(299, 2);
    assert_eq!(FEE.to_string(), "2.99");
    assert_eq!(Decimal::from(7u32) * FEE, Decimal::new(2093, 2));
    let theirs: Rd = FEE.into();
    assert_eq!(Decimal::from(theirs), FEE);
    assert!(std::panic::catch_unwind(|| Decimal::new(1, 29)).is_err());
}

#[test]
fn serde_strings_only() {
    let read: Decimal = crate::json::from_str("\"12.50\"").unwrap();
    assert_eq!(read.to_string(), "12.50");
    assert!(crate::json::from_str::<Decimal>("12.5").is_err());
    assert!(crate::json::from_str::<Decimal>("\"1e3\"").is_err());
    let message = crate::json::from_str::<Decimal>("\"abc\"")
        .unwrap_err()
        .to_string();
    assert!(message.contains("expected a decimal string"), "{message}");
    assert_eq!(
        serde_json::to_string(&Decimal::new(1000, 2)).unwrap(),
        "\"10.00\""
    );
    let schema = serde_json::to_value(schemars::schema_for!(Decimal)).unwrap();
    assert_eq!(schema["type"], "string");
    assert_eq!(schema["pattern"], DECIMAL_STRING_PATTERN);
}
