//! Quantities and the limits that bound them.

use serde::{Deserialize, Serialize};

use crate::error::CoreError;

/// Per-cart limits, from the tenant's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLimits {
    /// Largest quantity of one line.
    pub max_quantity: u32,
    /// Most lines in one cart.
    pub max_lines: u32,
}

impl CartLimits {
    /// Operator ceilings: a tenant may lower the limits freely but not raise them past these.
    pub const CEILING_QUANTITY: u32 = 100_000;
    pub const CEILING_LINES: u32 = 500;
}

impl Default for CartLimits {
    fn default() -> Self {
        Self {
            max_quantity: 999,
            max_lines: 100,
        }
    }
}

/// A line quantity, always within `1..=limits.max_quantity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Quantity(u32);

impl Quantity {
    /// Accepts any integer a client might send and refuses what is out of bounds, so that
    /// 0, -1 and 10^12 all get the same clear answer.
    pub fn parse(raw: i64, limits: &CartLimits) -> Result<Self, CoreError> {
        match u32::try_from(raw) {
            Ok(q) if q >= 1 && q <= limits.max_quantity => Ok(Self(q)),
            _ => Err(CoreError::QuantityOutOfRange {
                requested: raw,
                max: limits.max_quantity,
            }),
        }
    }

    /// A quantity read back from storage, which only ever holds parsed quantities.
    pub fn from_stored(q: u32) -> Self {
        Self(q.max(1))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}
