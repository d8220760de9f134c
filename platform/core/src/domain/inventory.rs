//! Stock: what is on hand, what is held, and how a line shows it (SPEC §1, allocation truth).

use serde::{Deserialize, Serialize};

use super::ids::LineId;
use super::line_key::Sku;

/// A tracked sku's stock. A sku with no record is untracked: always available, never held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    pub sku: Sku,
    pub on_hand: i64,
    /// Held by reserve lines and pending checkouts.
    pub reserved: i64,
}

impl StockLevel {
    pub fn available(&self) -> i64 {
        (self.on_hand - self.reserved).max(0)
    }
}

/// Most stock one sku may count: far above any real shelf, far below overflow.
pub const MAX_ON_HAND: i64 = 1_000_000_000;

/// What a reserve line's hold should be after a mutation.
#[derive(Debug, Clone, PartialEq)]
pub struct WantedHold {
    pub line_id: LineId,
    pub sku: Sku,
    pub quantity: u32,
}
