use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use trolley_core::CoreError;
use trolley_core::domain::{Attributes, CatalogItem, CatalogItemInput, Currency, Price, Sku};

use super::tenants::ClaimPolicyDto;

/// `PUT /v1/admin/catalog/items/{sku}`. Money is a decimal string (`"12.50"`), never a
/// JSON number.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogItemRequest {
    #[schema(value_type = String, example = "12.50")]
    pub price: Decimal,
    pub category: String,
    pub seller: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    pub claim_policy: Option<ClaimPolicyDto>,
    pub title: Option<String>,
}

/// One entry of `POST /v1/admin/catalog/items:batch`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogBatchEntry {
    pub sku: String,
    #[schema(value_type = String, example = "12.50")]
    pub price: Decimal,
    pub category: String,
    pub seller: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    pub claim_policy: Option<ClaimPolicyDto>,
    pub title: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogBatchRequest {
    /// 1–1000 items, written all or nothing.
    pub items: Vec<CatalogBatchEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogItemResponse {
    pub sku: String,
    #[schema(value_type = String, example = "12.50")]
    pub price: Decimal,
    pub currency: String,
    /// Increments on every price change.
    pub price_revision: i64,
    pub category: String,
    pub seller: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub claim_policy: Option<ClaimPolicyDto>,
    pub title: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogBatchResponse {
    pub items: Vec<CatalogItemResponse>,
}

impl From<&CatalogItem> for CatalogItemResponse {
    fn from(i: &CatalogItem) -> Self {
        Self {
            sku: i.sku.to_string(),
            price: i.price.amount(),
            currency: i.price.currency().code().to_owned(),
            price_revision: i.price_revision,
            category: i.category.clone(),
            seller: i.seller.clone(),
            attributes: i.attributes.as_map().clone(),
            claim_policy: i.claim_policy.map(Into::into),
            title: i.title.clone(),
            updated_at: i.updated_at,
        }
    }
}

fn text(what: &str, value: Option<String>, max: usize) -> Result<Option<String>, CoreError> {
    match value {
        Some(v) if v.trim().is_empty() || v.chars().count() > max => Err(CoreError::InvalidInput(
            format!("{what} must be 1-{max} characters"),
        )),
        other => Ok(other),
    }
}

impl CatalogItemRequest {
    /// Parses the item for `sku`, priced in the tenant's currency.
    pub fn parse(self, sku: &str, currency: Currency) -> Result<CatalogItemInput, CoreError> {
        Ok(CatalogItemInput {
            sku: Sku::parse(sku)?,
            price: Price::parse(self.price, currency)?,
            category: text("category", Some(self.category), 64)?.unwrap_or_default(),
            seller: text("seller", self.seller, 64)?,
            attributes: Attributes::parse(self.attributes)?,
            claim_policy: self.claim_policy.map(Into::into),
            title: text("title", self.title, 200)?,
        })
    }
}

impl CatalogBatchEntry {
    pub fn parse(self, currency: Currency) -> Result<CatalogItemInput, CoreError> {
        let sku = self.sku;
        CatalogItemRequest {
            price: self.price,
            category: self.category,
            seller: self.seller,
            attributes: self.attributes,
            claim_policy: self.claim_policy,
            title: self.title,
        }
        .parse(&sku, currency)
    }
}
