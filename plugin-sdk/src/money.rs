//! Currency-aware rounding for fees computed from percentages or rates.

use crate::{Decimal, RoundingStrategy};

/// Currencies whose amounts have no decimal places (ISO 4217 minor unit 0).
const ZERO_DECIMAL: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
];

/// Currencies whose amounts have three decimal places (ISO 4217 minor unit 3).
const THREE_DECIMAL: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

/// How many decimal places an amount in `currency` has, per ISO 4217: 0 for JPY, KRW, VND …,
/// 3 for BHD, KWD, OMR …, 2 for every other code (including unknown ones).
///
/// ```
/// use trolley_plugin_sdk::money::minor_units;
/// assert_eq!(minor_units("USD"), 2);
/// assert_eq!(minor_units("jpy"), 0);
/// assert_eq!(minor_units("KWD"), 3);
/// ```
pub fn minor_units(currency: &str) -> u32 {
    let code = currency.trim().to_ascii_uppercase();
    if ZERO_DECIMAL.contains(&code.as_str()) {
        0
    } else if THREE_DECIMAL.contains(&code.as_str()) {
        3
    } else {
        2
    }
}

/// Rounds `amount` to the minor units of `currency`, half away from zero (`0.125` USD →
/// `0.13`, `12.5` JPY → `13`), and gives it exactly that many decimal places (`1.5` USD →
/// `1.50`), so fee amounts read like prices.
///
/// ```
/// use trolley_plugin_sdk::{Decimal, money::round};
/// assert_eq!(round(Decimal::new(1125, 3), "USD").to_string(), "1.13");
/// assert_eq!(round(Decimal::new(15, 1), "USD").to_string(), "1.50");
/// assert_eq!(round(Decimal::new(1250, 2), "JPY").to_string(), "13");
/// ```
pub fn round(amount: Decimal, currency: &str) -> Decimal {
    let scale = minor_units(currency);
    let mut rounded = amount.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(scale);
    rounded
}
