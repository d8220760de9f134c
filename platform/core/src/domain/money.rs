//! Money: ISO 4217 currencies with their minor-unit exponent, and prices that are valid for
//! their currency. Amounts are `rust_decimal::Decimal`, never floats; storage keeps them as
//! integer minor units so SQLite and PostgreSQL both stay exact.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::CoreError;

/// The currencies Trolley prices in. Adding one is a new variant plus its exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Currency {
    Usd,
    Eur,
    Gbp,
    Sgd,
    Myr,
    Thb,
    Php,
    Idr,
    Vnd,
    Jpy,
}

impl Currency {
    pub const ALL: [Currency; 10] = [
        Currency::Usd,
        Currency::Eur,
        Currency::Gbp,
        Currency::Sgd,
        Currency::Myr,
        Currency::Thb,
        Currency::Php,
        Currency::Idr,
        Currency::Vnd,
        Currency::Jpy,
    ];

    /// The ISO 4217 alphabetic code.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Gbp => "GBP",
            Currency::Sgd => "SGD",
            Currency::Myr => "MYR",
            Currency::Thb => "THB",
            Currency::Php => "PHP",
            Currency::Idr => "IDR",
            Currency::Vnd => "VND",
            Currency::Jpy => "JPY",
        }
    }

    /// ISO 4217 minor-unit exponent: how many decimal places an amount may have.
    /// IDR is 2 in ISO 4217 even though cash has no subunit; VND and JPY have none.
    pub fn exponent(self) -> u32 {
        match self {
            Currency::Vnd | Currency::Jpy => 0,
            _ => 2,
        }
    }

    /// Rounds to the currency's minor unit, half away from zero (commercial rounding).
    pub fn round(self, amount: Decimal) -> Decimal {
        amount.round_dp_with_strategy(self.exponent(), RoundingStrategy::MidpointAwayFromZero)
    }

    /// An amount in minor units (cents, sen, yen). `None` if it does not fit an `i64` or is
    /// not already rounded to the currency.
    pub fn to_minor_units(self, amount: Decimal) -> Option<i64> {
        if amount.normalize().scale() > self.exponent() {
            return None;
        }
        let scaled = amount.checked_mul(Decimal::from(10_i64.pow(self.exponent())))?;
        i64::try_from(scaled.trunc()).ok()
    }

    /// The amount for a count of minor units.
    pub fn from_minor_units(self, minor: i64) -> Decimal {
        Decimal::new(minor, self.exponent())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = CoreError;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == code)
            .ok_or_else(|| CoreError::UnsupportedCurrency(code.to_owned()))
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.code().to_owned()
    }
}

impl TryFrom<String> for Currency {
    type Error = CoreError;

    fn try_from(code: String) -> Result<Self, Self::Error> {
        code.parse()
    }
}

/// The largest unit price accepted: far above any real item, far below `i64` minor units.
const MAX_PRICE: i64 = 1_000_000_000;

/// A catalog unit price: non-negative, at most the currency's decimal places, bounded.
/// Deserializing goes through [`Price::parse`], so a cached or stored value is checked too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawPrice")]
pub struct Price {
    amount: Decimal,
    currency: Currency,
}

#[derive(Deserialize)]
struct RawPrice {
    amount: Decimal,
    currency: Currency,
}

impl TryFrom<RawPrice> for Price {
    type Error = CoreError;

    fn try_from(raw: RawPrice) -> Result<Self, CoreError> {
        Price::parse(raw.amount, raw.currency)
    }
}

impl Price {
    pub fn parse(amount: Decimal, currency: Currency) -> Result<Self, CoreError> {
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(CoreError::InvalidPrice("a price cannot be negative".into()));
        }
        if amount.normalize().scale() > currency.exponent() {
            return Err(CoreError::InvalidPrice(format!(
                "{currency} allows at most {} decimal places",
                currency.exponent()
            )));
        }
        if amount > Decimal::from(MAX_PRICE) {
            return Err(CoreError::InvalidPrice(format!(
                "a price cannot exceed {MAX_PRICE}"
            )));
        }
        Ok(Self {
            amount: amount.abs(),
            currency,
        })
    }

    pub fn from_minor_units(minor: i64, currency: Currency) -> Self {
        Self {
            amount: currency.from_minor_units(minor),
            currency,
        }
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn minor_units(&self) -> i64 {
        // Bounded by MAX_PRICE and the exponent at parse time, so it always fits.
        self.currency
            .to_minor_units(self.amount)
            .unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn rounding_follows_the_currency_exponent() {
        assert_eq!(Currency::Usd.round(d("1.005")), d("1.01"));
        assert_eq!(Currency::Jpy.round(d("100.5")), d("101"));
        assert_eq!(Currency::Vnd.round(d("100.4")), d("100"));
        assert_eq!(Currency::Idr.round(d("100.125")), d("100.13"));
    }

    #[test]
    fn minor_units_round_trip() {
        assert_eq!(Currency::Usd.to_minor_units(d("100.50")), Some(10050));
        assert_eq!(Currency::Usd.from_minor_units(10050), d("100.50"));
        assert_eq!(Currency::Jpy.to_minor_units(d("1200")), Some(1200));
        assert_eq!(Currency::Usd.to_minor_units(d("1.234")), None);
    }

    #[test]
    fn prices_are_checked_against_their_currency() {
        assert!(Price::parse(d("-1"), Currency::Usd).is_err());
        assert!(Price::parse(d("1.234"), Currency::Usd).is_err());
        assert!(Price::parse(d("1.5"), Currency::Jpy).is_err());
        assert!(Price::parse(d("1.50"), Currency::Usd).is_ok());
        assert!(Price::parse(d("1.500"), Currency::Usd).is_ok());
        assert!(Price::parse(d("10000000000"), Currency::Usd).is_err());
        assert_eq!(
            Price::parse(d("1.50"), Currency::Usd)
                .unwrap()
                .minor_units(),
            150
        );
    }

    #[test]
    fn unknown_currencies_are_refused() {
        assert!("XXX".parse::<Currency>().is_err());
        assert_eq!("SGD".parse::<Currency>().unwrap(), Currency::Sgd);
    }
}
