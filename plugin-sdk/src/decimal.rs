//! [`Decimal`]: exact money and quantities.
//!
//! The arithmetic is `rust_decimal`'s (a 96-bit mantissa and a scale of 0 to 28, checked
//! operations, no floats). The SDK wraps it to read and write decimal strings itself: only
//! the plain form money takes on the wire and in configurations (`-?[0-9]+(\.[0-9]+)?`),
//! without `rust_decimal`'s general parser, scientific notation and `serde` support, which
//! were the largest part of a small plugin's WebAssembly.

use std::fmt;
use std::iter::Sum;
use std::ops::{
    Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, RemAssign, Sub, SubAssign,
};
use std::str::FromStr;

/// How [`Decimal::round_dp_with_strategy`] rounds (`rust_decimal`'s).
pub use rust_decimal::RoundingStrategy;

/// The largest scale (digits after the point) a [`Decimal`] has.
pub const MAX_SCALE: u32 = 28;

/// An exact decimal number: money, percentages, distances.
///
/// ```
/// use trolley_plugin_sdk::Decimal;
/// let price: Decimal = "2.50".parse().unwrap();
/// let total = price * Decimal::from(3);
/// assert_eq!(total.to_string(), "7.50");
/// assert_eq!(total, Decimal::new(75, 1)); // 7.50 == 7.5
/// assert!(Decimal::from_str_exact("1e3").is_err()); // plain decimal strings only
/// ```
///
/// Values keep their scale (`2.50 × 3` is `7.50`) and compare by value (`7.50 == 7.5`).
/// The operators panic on overflow, in every build (the mantissa has 96 bits, about
/// 7.9 × 10²⁸): use the `checked_*` methods where that can happen. Division rounds to 28
/// significant digits when the quotient does not end (`1 / 3`).
///
/// In a configuration a `Decimal` is a JSON string (`"12.50"`), never a number: money is
/// never a float. [`From`] converts to and from `rust_decimal::Decimal` when a plugin needs
/// more of its API.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Decimal(rust_decimal::Decimal);

/// Why a string is not a plain decimal (see [`Decimal::from_str_exact`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseDecimalError;

impl fmt::Display for ParseDecimalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a plain decimal (-?[0-9]+(.[0-9]+)?, at most 28 decimals) or too large")
    }
}

impl std::error::Error for ParseDecimalError {}

impl Decimal {
    /// 0.
    pub const ZERO: Self = Self(rust_decimal::Decimal::ZERO);
    /// 1.
    pub const ONE: Self = Self(rust_decimal::Decimal::ONE);
    /// -1.
    pub const NEGATIVE_ONE: Self = Self(rust_decimal::Decimal::NEGATIVE_ONE);
    /// 10.
    pub const TEN: Self = Self(rust_decimal::Decimal::TEN);
    /// 100.
    pub const ONE_HUNDRED: Self = Self(rust_decimal::Decimal::ONE_HUNDRED);
    /// The largest value, 79,228,162,514,264,337,593,543,950,335.
    pub const MAX: Self = Self(rust_decimal::Decimal::MAX);
    /// The smallest value, -79,228,162,514,264,337,593,543,950,335.
    pub const MIN: Self = Self(rust_decimal::Decimal::MIN);

    /// `num × 10^-scale`: `Decimal::new(1250, 2)` is `12.50`.
    ///
    /// # Panics
    /// When `scale` is over 28.
    #[must_use]
    pub const fn new(num: i64, scale: u32) -> Self {
        if scale > MAX_SCALE {
            panic!("Decimal::new: the scale is over 28");
        }
        let magnitude = num.unsigned_abs();
        Self(rust_decimal::Decimal::from_parts(
            magnitude as u32,
            (magnitude >> 32) as u32,
            0,
            num < 0,
            scale,
        ))
    }

    /// Parses a plain decimal string, `-?[0-9]+(\.[0-9]+)?`, exactly: the scale is the number
    /// of digits after the point (`"2.50"` has scale 2).
    ///
    /// # Errors
    /// [`ParseDecimalError`] for anything else (blanks, `+`, `.5`, `1e3`, `1_000` …), more
    /// than 28 digits after the point, or a value too large.
    pub fn from_str_exact(text: &str) -> Result<Self, ParseDecimalError> {
        parse(text.as_bytes()).map(Self).ok_or(ParseDecimalError)
    }

    /// The number of digits after the point.
    pub const fn scale(&self) -> u32 {
        self.0.scale()
    }

    /// The integer the value is of `10^-scale`: `12.50` is `1250`.
    pub const fn mantissa(&self) -> i128 {
        self.0.mantissa()
    }

    /// `true` for 0 (and -0).
    pub const fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// `true` when the sign is negative (-0 included).
    pub const fn is_sign_negative(&self) -> bool {
        self.0.is_sign_negative()
    }

    /// `true` when the sign is positive (0 included).
    pub const fn is_sign_positive(&self) -> bool {
        self.0.is_sign_positive()
    }

    /// `true` when the value is below zero (-0 is not).
    pub fn is_negative(&self) -> bool {
        self.is_sign_negative() && !self.is_zero()
    }

    /// The absolute value.
    #[must_use]
    pub fn abs(&self) -> Self {
        Self(self.0.abs())
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    /// `self - other`, or `None` on overflow.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).map(Self)
    }

    /// `self × other`, or `None` on overflow.
    pub fn checked_mul(self, other: Self) -> Option<Self> {
        self.0.checked_mul(other.0).map(Self)
    }

    /// `self / other`, or `None` on overflow or division by zero.
    pub fn checked_div(self, other: Self) -> Option<Self> {
        self.0.checked_div(other.0).map(Self)
    }

    /// `self % other`, or `None` on overflow or division by zero.
    pub fn checked_rem(self, other: Self) -> Option<Self> {
        self.0.checked_rem(other.0).map(Self)
    }

    /// Rounds to `dp` decimal places, half to even (`2.5` → `2`, `3.5` → `4`).
    #[must_use]
    pub fn round_dp(&self, dp: u32) -> Self {
        Self(self.0.round_dp(dp))
    }

    /// Rounds to `dp` decimal places with `strategy`. For money in a cart's currency, prefer
    /// [`Cart::round_money`](crate::Cart::round_money).
    #[must_use]
    pub fn round_dp_with_strategy(&self, dp: u32, strategy: RoundingStrategy) -> Self {
        Self(self.0.round_dp_with_strategy(dp, strategy))
    }

    /// Sets the scale, rounding half away from zero when it shrinks (`1.005` at 2 → `1.01`)
    /// and adding zeros when it grows (`1.5` at 2 → `1.50`). A value that cannot take that
    /// many digits gets the largest scale it can.
    pub fn rescale(&mut self, scale: u32) {
        self.0.rescale(scale);
    }

    /// The integer part (toward zero).
    #[must_use]
    pub fn trunc(&self) -> Self {
        Self(self.0.trunc())
    }

    /// The largest integer not above the value.
    #[must_use]
    pub fn floor(&self) -> Self {
        Self(self.0.floor())
    }

    /// The smallest integer not below the value.
    #[must_use]
    pub fn ceil(&self) -> Self {
        Self(self.0.ceil())
    }

    /// The same value without trailing zeros after the point (`7.50` → `7.5`).
    #[must_use]
    pub fn normalize(&self) -> Self {
        Self(self.0.normalize())
    }

    /// `self × n` at the same scale, or `None` when the mantissa would pass 96 bits (where
    /// [`Decimal::checked_mul`] would give up decimals instead): a line total, exactly,
    /// without the general multiplication's code.
    pub(crate) fn times(self, n: u32) -> Option<Self> {
        let unpacked = self.0.unpack();
        let mut words = [unpacked.lo, unpacked.mid, unpacked.hi];
        let mut carry = 0u64;
        for word in &mut words {
            let value = u64::from(*word) * u64::from(n) + carry;
            *word = value as u32;
            carry = value >> 32;
        }
        let [lo, mid, hi] = words;
        (carry == 0).then(|| {
            Self(rust_decimal::Decimal::from_parts(
                lo,
                mid,
                hi,
                unpacked.negative,
                unpacked.scale,
            ))
        })
    }

    /// Appends the value as a plain decimal string, all its `scale` digits after the point
    /// (`7.50`, `-3`, `0.05`): what [`Display`](fmt::Display) prints without a precision.
    pub(crate) fn write_plain(&self, out: &mut String) {
        if self.is_sign_negative() {
            out.push('-');
        }
        let (digits, len) = self.digits();
        push_digits(out, &digits, len, self.scale() as usize, None);
    }

    /// The value as a plain decimal string (see [`Decimal::write_plain`]), without `fmt`.
    pub(crate) fn to_plain_string(self) -> String {
        let mut out = String::new();
        self.write_plain(&mut out);
        out
    }

    /// The decimal digits of the mantissa, least significant first, and how many there are
    /// (none for zero).
    fn digits(&self) -> ([u8; 29], usize) {
        let unpacked = self.0.unpack();
        let mut words = [unpacked.hi, unpacked.mid, unpacked.lo];
        let mut digits = [0u8; 29];
        let mut len = 0;
        while words != [0, 0, 0] {
            let mut rest = 0u64;
            for word in &mut words {
                let value = (rest << 32) | u64::from(*word);
                // `value / 10` fits: `rest` < 10.
                *word = (value / 10) as u32;
                rest = value % 10;
            }
            if let Some(digit) = digits.get_mut(len) {
                *digit = b'0' + rest as u8;
            }
            len += 1;
        }
        (digits, len)
    }
}

/// Parses `-?[0-9]+(\.[0-9]+)?` into a 96-bit mantissa and a scale of at most 28, exactly.
fn parse(text: &[u8]) -> Option<rust_decimal::Decimal> {
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    // Least significant word first.
    let mut words = [0u32; 3];
    let mut int_digits = 0u32;
    let mut scale = 0u32;
    let mut point = false;
    for &byte in text {
        if byte == b'.' && !point && int_digits > 0 {
            point = true;
            continue;
        }
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        if point {
            scale += 1;
            if scale > MAX_SCALE {
                return None;
            }
        } else {
            int_digits += 1;
        }
        let mut carry = u64::from(digit);
        for word in &mut words {
            let value = u64::from(*word) * 10 + carry;
            *word = value as u32;
            carry = value >> 32;
        }
        if carry != 0 {
            return None;
        }
    }
    if int_digits == 0 || (point && scale == 0) {
        return None;
    }
    let [lo, mid, hi] = words;
    Some(rust_decimal::Decimal::from_parts(
        lo, mid, hi, negative, scale,
    ))
}

/// Writes the digits (least significant first) with the point before the last `scale` of
/// them, `precision` digits after it when given (cut or padded with zeros), as
/// `rust_decimal` prints. No sign.
fn push_digits(
    out: &mut String,
    digits: &[u8],
    len: usize,
    scale: usize,
    precision: Option<usize>,
) {
    // Zeros before the first significant digit after the point.
    let digit = |i: usize| match digits.get(i) {
        Some(&d) if i < len => char::from(d),
        _ => '0',
    };
    let len = len.max(scale);
    let whole = len - scale;
    let start = out.len();
    for i in (scale..len).rev() {
        out.push(digit(i));
    }
    let shown = precision.unwrap_or(scale);
    if shown > 0 {
        if whole == 0 {
            out.push('0');
        }
        out.push('.');
        for k in 0..shown {
            // The k-th digit after the point, or a zero past the scale.
            out.push(if k < scale { digit(scale - 1 - k) } else { '0' });
        }
    }
    if out.len() == start {
        out.push('0');
    }
}

/// Prints the plain decimal string (`7.50`); with a precision (`{:.1}`), that many digits
/// after the point, cut (not rounded) or padded with zeros, as `rust_decimal` prints. Width,
/// fill and `+` apply as to integers.
impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (digits, len) = self.digits();
        let mut text = String::new();
        push_digits(
            &mut text,
            &digits,
            len,
            self.scale() as usize,
            f.precision(),
        );
        f.pad_integral(self.is_sign_positive(), "", &text)
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Decimal {
    type Err = ParseDecimalError;

    /// [`Decimal::from_str_exact`].
    fn from_str(text: &str) -> Result<Self, ParseDecimalError> {
        Self::from_str_exact(text)
    }
}

impl From<rust_decimal::Decimal> for Decimal {
    fn from(value: rust_decimal::Decimal) -> Self {
        Self(value)
    }
}

impl From<Decimal> for rust_decimal::Decimal {
    fn from(value: Decimal) -> Self {
        value.0
    }
}

macro_rules! from_integers {
    ($($int:ty),*) => {$(
        impl From<$int> for Decimal {
            fn from(value: $int) -> Self {
                Self(rust_decimal::Decimal::from(value))
            }
        }
    )*};
}

from_integers!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

macro_rules! operators {
    ($($trait:ident $method:ident $assign_trait:ident $assign:ident),*) => {$(
        impl $trait for Decimal {
            type Output = Self;
            fn $method(self, other: Self) -> Self {
                Self($trait::$method(self.0, other.0))
            }
        }
        impl $trait<&Decimal> for Decimal {
            type Output = Self;
            fn $method(self, other: &Self) -> Self {
                Self($trait::$method(self.0, other.0))
            }
        }
        impl $trait<Decimal> for &Decimal {
            type Output = Decimal;
            fn $method(self, other: Decimal) -> Decimal {
                Decimal($trait::$method(self.0, other.0))
            }
        }
        impl $trait<&Decimal> for &Decimal {
            type Output = Decimal;
            fn $method(self, other: &Decimal) -> Decimal {
                Decimal($trait::$method(self.0, other.0))
            }
        }
        impl $assign_trait for Decimal {
            fn $assign(&mut self, other: Self) {
                $assign_trait::$assign(&mut self.0, other.0);
            }
        }
        impl $assign_trait<&Decimal> for Decimal {
            fn $assign(&mut self, other: &Self) {
                $assign_trait::$assign(&mut self.0, other.0);
            }
        }
    )*};
}

operators!(
    Add add AddAssign add_assign,
    Sub sub SubAssign sub_assign,
    Mul mul MulAssign mul_assign,
    Div div DivAssign div_assign,
    Rem rem RemAssign rem_assign
);

impl Neg for Decimal {
    type Output = Self;
    fn neg(self) -> Self {
        Self(-self.0)
    }
}

impl Neg for &Decimal {
    type Output = Decimal;
    fn neg(self) -> Decimal {
        Decimal(-self.0)
    }
}

impl Sum for Decimal {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::ZERO, |sum, value| sum + value)
    }
}

impl<'a> Sum<&'a Decimal> for Decimal {
    fn sum<I: Iterator<Item = &'a Self>>(iter: I) -> Self {
        iter.fold(Self::ZERO, |sum, value| sum + *value)
    }
}

/// A decimal string (`"12.50"`), as the wire and the host's decimals are.
impl serde::Serialize for Decimal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_plain_string())
    }
}

/// Only from a plain decimal string (`"12.50"`): never a JSON number, which would be a float.
impl<'de> serde::Deserialize<'de> for Decimal {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(DecimalVisitor)
    }
}

struct DecimalVisitor;

impl serde::de::Visitor<'_> for DecimalVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal string such as \"12.50\"")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Decimal, E> {
        Decimal::from_str_exact(value)
            .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(value), &self))
    }
}

/// What a configuration's decimal strings must look like.
pub(crate) const DECIMAL_STRING_PATTERN: &str = r"^-?\d+(\.\d+)?$";

/// `{"type": "string", "pattern": "^-?\d+(\.\d+)?$"}`, inlined.
impl schemars::JsonSchema for Decimal {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Decimal".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": DECIMAL_STRING_PATTERN,
        })
    }
}

#[cfg(test)]
mod tests;
