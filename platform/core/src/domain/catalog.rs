//! Catalog items: the only source of prices. A price revision increments on every price
//! change so a line can tell whether its price is still current.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::line_key::{Attributes, Sku};
use super::money::Price;

/// How strongly a line claims stock (SPEC §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClaimPolicy {
    Interest,
    #[default]
    Soft,
    Reserve,
}

impl ClaimPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimPolicy::Interest => "interest",
            ClaimPolicy::Soft => "soft",
            ClaimPolicy::Reserve => "reserve",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "interest" => Some(ClaimPolicy::Interest),
            "soft" => Some(ClaimPolicy::Soft),
            "reserve" => Some(ClaimPolicy::Reserve),
            _ => None,
        }
    }
}

/// What an admin writes for one sku.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogItemInput {
    pub sku: Sku,
    pub price: Price,
    pub category: String,
    pub seller: Option<String>,
    pub attributes: Attributes,
    pub claim_policy: Option<ClaimPolicy>,
    pub title: Option<String>,
}

/// A catalog item as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogItem {
    pub sku: Sku,
    pub price: Price,
    pub price_revision: i64,
    pub category: String,
    pub seller: Option<String>,
    pub attributes: Attributes,
    pub claim_policy: Option<ClaimPolicy>,
    pub title: Option<String>,
    pub updated_at: DateTime<Utc>,
}
