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

/// What a storefront asks of the catalog: one page, in sku order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CatalogQuery {
    /// Only items of this category.
    pub category: Option<String>,
    /// Case-insensitive substring of the sku or the title.
    pub search: Option<String>,
    /// The page starts after this sku (the previous page's cursor).
    pub after: Option<Sku>,
}

impl CatalogQuery {
    /// Longest search text: a storefront's search box, not a document.
    pub const MAX_SEARCH: usize = 100;
}

/// How much of an item a shopper can buy, without saying how many units the tenant has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockClass {
    InStock,
    /// Fewer than the tenant's `low_stock_threshold` left.
    LowStock,
    OutOfStock,
    /// The sku has no inventory record: its stock is not counted.
    NotTracked,
}

impl StockClass {
    pub fn of(level: Option<&crate::domain::StockLevel>, low_stock_threshold: u32) -> Self {
        match level {
            None => StockClass::NotTracked,
            Some(level) if level.available() == 0 => StockClass::OutOfStock,
            Some(level) if level.available() < i64::from(low_stock_threshold) => {
                StockClass::LowStock
            }
            Some(_) => StockClass::InStock,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StockClass::InStock => "in_stock",
            StockClass::LowStock => "low_stock",
            StockClass::OutOfStock => "out_of_stock",
            StockClass::NotTracked => "not_tracked",
        }
    }
}

/// A catalog item as a storefront sees it: no claim policy, no revision, no private
/// attributes, stock as a class.
#[derive(Debug, Clone, PartialEq)]
pub struct ShopItem {
    pub item: CatalogItem,
    /// From the tenant's `category_order_types`; none when the category has no order type.
    pub order_type: Option<String>,
    pub availability: StockClass,
}

impl ShopItem {
    /// Attribute keys starting with this are the tenant's own: never shown to shoppers.
    pub const PRIVATE_PREFIX: char = '_';

    /// The attributes a shopper may see.
    pub fn public_attributes(&self) -> impl Iterator<Item = (&String, &String)> {
        self.item
            .attributes
            .as_map()
            .iter()
            .filter(|(k, _)| !k.starts_with(Self::PRIVATE_PREFIX))
    }
}
