//! The storefront's read-only catalog (`GET /v1/catalog/items`).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

use trolley_core::domain::{CatalogQuery, ShopItem, Sku, StockClass};
use trolley_core::service::{ShopCatalog, ShopPage};

use crate::error::{ApiError, Code};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ShopCatalogQuery {
    /// Only items of this catalog category.
    pub category: Option<String>,
    /// Case-insensitive text the sku or title contains (at most 100 characters).
    pub q: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
}

impl ShopCatalogQuery {
    pub fn parse(self) -> Result<(CatalogQuery, u64), ApiError> {
        let after = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(cursor) => Some(decode_cursor(cursor).ok_or_else(|| {
                ApiError::new(
                    Code::InvalidRequest,
                    "cursor is not one this API gave: pass `next_cursor` of the previous page as it is",
                )
            })?),
        };
        let nonempty = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        Ok((
            CatalogQuery {
                category: nonempty(self.category),
                search: nonempty(self.q),
                after,
            },
            self.limit.unwrap_or(ShopCatalog::DEFAULT_LIMIT),
        ))
    }
}

/// Cursors are opaque to clients: the last sku of the page, hex-encoded.
fn encode_cursor(sku: &Sku) -> String {
    hex::encode(sku.as_str())
}

fn decode_cursor(cursor: &str) -> Option<Sku> {
    let bytes = hex::decode(cursor).ok()?;
    Sku::parse(std::str::from_utf8(&bytes).ok()?).ok()
}

/// How much of an item a shopper can buy: `in_stock`, `low_stock` (fewer left than the
/// tenant's `low_stock_threshold`), `out_of_stock`, or `not_tracked` (stock not counted).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AvailabilityDto {
    InStock,
    LowStock,
    OutOfStock,
    NotTracked,
}

impl From<StockClass> for AvailabilityDto {
    fn from(a: StockClass) -> Self {
        match a {
            StockClass::InStock => AvailabilityDto::InStock,
            StockClass::LowStock => AvailabilityDto::LowStock,
            StockClass::OutOfStock => AvailabilityDto::OutOfStock,
            StockClass::NotTracked => AvailabilityDto::NotTracked,
        }
    }
}

/// A catalog item as a shopper sees it. Attributes whose key starts with `_` are the
/// tenant's own and never shown here.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShopItemResponse {
    #[schema(example = "MILK-1L")]
    pub sku: String,
    pub title: Option<String>,
    #[schema(value_type = String, example = "1.99")]
    pub price: Decimal,
    #[schema(example = "EUR")]
    pub currency: String,
    #[schema(example = "grocery")]
    pub category: String,
    /// The order type carts holding this item get; none when the category has none.
    pub order_type: Option<String>,
    pub seller: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub availability: AvailabilityDto,
}

impl From<&ShopItem> for ShopItemResponse {
    fn from(s: &ShopItem) -> Self {
        Self {
            sku: s.item.sku.to_string(),
            title: s.item.title.clone(),
            price: s.item.price.amount(),
            currency: s.item.price.currency().code().to_owned(),
            category: s.item.category.clone(),
            order_type: s.order_type.clone(),
            seller: s.item.seller.clone(),
            attributes: s
                .public_attributes()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            availability: s.availability.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShopPageResponse {
    pub items: Vec<ShopItemResponse>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl From<&ShopPage> for ShopPageResponse {
    fn from(p: &ShopPage) -> Self {
        Self {
            items: p.items.iter().map(ShopItemResponse::from).collect(),
            next_cursor: p.next.as_ref().map(encode_cursor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let sku = Sku::parse("MILK-1L").unwrap_or_else(|_| unreachable!());
        assert_eq!(decode_cursor(&encode_cursor(&sku)), Some(sku));
        assert_eq!(decode_cursor("zz"), None);
        assert_eq!(decode_cursor(""), None);
    }
}
