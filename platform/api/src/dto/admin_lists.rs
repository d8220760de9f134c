//! The tenant admin's lists (SPEC §12): `{items, next_cursor}` pages.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use trolley_core::domain::listing::{
    CartDetail, CartFilter, CartHold, CartSummary, CatalogFilter, CheckoutFilter, CheckoutSummary,
    EventFilter, InventoryFilter, OrderFilter, OrderSummary, Page, PageRequest,
};
use trolley_core::domain::{
    CartId, CartStatus, CatalogItem, CheckoutStatus, Event, StockLevel, Subject, SubjectKind,
};

use crate::dto::carts::CartResponse;
use crate::dto::catalog::CatalogItemResponse;
use crate::dto::checkout::InventoryResponse;
use crate::error::{ApiError, Code};

fn page(limit: Option<u32>, cursor: Option<String>) -> PageRequest {
    PageRequest { limit, cursor }
}

fn bad(detail: String) -> ApiError {
    ApiError::new(Code::InvalidRequest, detail)
}

/// `GET /v1/admin/catalog/items`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CatalogListQuery {
    /// Case-insensitive: the sku starts with it, or the title contains it.
    pub q: Option<String>,
    /// Only items of this category.
    pub category: Option<String>,
    /// Only items of this seller.
    pub seller: Option<String>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, as it was given.
    pub cursor: Option<String>,
}

impl CatalogListQuery {
    pub fn parse(self) -> (CatalogFilter, PageRequest) {
        (
            CatalogFilter {
                q: self.q,
                category: self.category,
                seller: self.seller,
            },
            page(self.limit, self.cursor),
        )
    }
}

/// `GET /v1/admin/inventory`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InventoryListQuery {
    /// Case-insensitive sku prefix.
    pub q: Option<String>,
    /// Only skus with fewer than this many units available (on hand − reserved): the
    /// low-stock view (`available_below=5`); `1` lists what is sold out.
    pub available_below: Option<i64>,
    /// Rows per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, as it was given.
    pub cursor: Option<String>,
}

impl InventoryListQuery {
    pub fn parse(self) -> (InventoryFilter, PageRequest) {
        (
            InventoryFilter {
                q: self.q,
                available_below: self.available_below,
            },
            page(self.limit, self.cursor),
        )
    }
}

/// `GET /v1/admin/carts`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CartListQuery {
    /// `active`, `checking_out`, `converted`, `merged` or `expired`.
    pub status: Option<String>,
    /// Only this customer's carts.
    pub customer_id: Option<String>,
    /// Only carts of this order type.
    pub order_type: Option<String>,
    /// Carts per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, as it was given.
    pub cursor: Option<String>,
}

impl CartListQuery {
    pub fn parse(self) -> Result<(CartFilter, PageRequest), ApiError> {
        let status = match self.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(CartStatus::parse(s).ok_or_else(|| {
                bad(format!(
                    "status `{s}` is not a cart status: active, checking_out, converted, merged or expired"
                ))
            })?),
        };
        Ok((
            CartFilter {
                status,
                customer_id: self.customer_id,
                order_type: self.order_type,
            },
            page(self.limit, self.cursor),
        ))
    }
}

/// `GET /v1/admin/checkouts`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CheckoutListQuery {
    /// `pending`, `completed`, `cancelled` or `expired`.
    pub status: Option<String>,
    /// Only this cart's checkouts.
    pub cart_id: Option<Uuid>,
    /// Checkouts per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, as it was given.
    pub cursor: Option<String>,
}

impl CheckoutListQuery {
    pub fn parse(self) -> Result<(CheckoutFilter, PageRequest), ApiError> {
        let status = match self.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(CheckoutStatus::parse(s).ok_or_else(|| {
                bad(format!(
                    "status `{s}` is not a checkout status: pending, completed, cancelled or expired"
                ))
            })?),
        };
        Ok((
            CheckoutFilter {
                status,
                cart_id: self.cart_id.map(CartId),
            },
            page(self.limit, self.cursor),
        ))
    }
}

/// `GET /v1/admin/orders`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderListQuery {
    /// `placed` (every order is).
    pub status: Option<String>,
    /// Only this customer's orders.
    pub customer_id: Option<String>,
    /// Only orders placed at or after this time (RFC 3339).
    pub placed_since: Option<DateTime<Utc>>,
    /// Orders per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, as it was given.
    pub cursor: Option<String>,
}

impl OrderListQuery {
    pub fn parse(self) -> (OrderFilter, PageRequest) {
        (
            OrderFilter {
                status: self.status,
                customer_id: self.customer_id,
                placed_since: self.placed_since,
            },
            page(self.limit, self.cursor),
        )
    }
}

/// `GET /v1/admin/events`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventListQuery {
    /// `cart`, `checkout`, `order`, `plugin` or `inventory`.
    pub subject_kind: String,
    /// The subject's id: a cart, checkout or order id, a plugin's order type, a sku.
    pub subject_id: String,
    /// Events per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, as it was given.
    pub cursor: Option<String>,
}

impl EventListQuery {
    pub fn parse(self) -> Result<(EventFilter, PageRequest), ApiError> {
        let kind = SubjectKind::parse(self.subject_kind.trim()).ok_or_else(|| {
            bad(format!(
                "subject_kind `{}` is not a subject kind: cart, checkout, order, plugin or inventory",
                self.subject_kind
            ))
        })?;
        Ok((
            EventFilter {
                subject: Subject {
                    kind,
                    id: self.subject_id.trim().to_owned(),
                },
            },
            page(self.limit, self.cursor),
        ))
    }
}

/// A page of catalog items, by sku.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogItemPage {
    /// Each as `GET /v1/admin/catalog/items/{sku}` shows it.
    pub items: Vec<CatalogItemResponse>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl From<&Page<CatalogItem>> for CatalogItemPage {
    fn from(p: &Page<CatalogItem>) -> Self {
        Self {
            items: p.items.iter().map(CatalogItemResponse::from).collect(),
            next_cursor: p.next_cursor.clone(),
        }
    }
}

/// A page of stock levels, by sku.
#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryPage {
    /// Each as `GET /v1/admin/inventory/{sku}` shows it.
    pub items: Vec<InventoryResponse>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl From<&Page<StockLevel>> for InventoryPage {
    fn from(p: &Page<StockLevel>) -> Self {
        Self {
            items: p.items.iter().map(InventoryResponse::from).collect(),
            next_cursor: p.next_cursor.clone(),
        }
    }
}

/// A cart in a list, unpriced (`GET /v1/admin/carts/{cart_id}` prices it).
#[derive(Debug, Serialize, ToSchema)]
pub struct CartSummaryResponse {
    pub cart_id: Uuid,
    /// `active`, `checking_out`, `converted`, `merged` or `expired`.
    pub status: String,
    pub order_type: Option<String>,
    /// Null for a guest's cart.
    pub customer_id: Option<String>,
    pub line_count: u64,
    pub version: i64,
    pub currency: String,
    /// For a merged cart: the cart it was merged into.
    pub merged_into: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl From<&CartSummary> for CartSummaryResponse {
    fn from(c: &CartSummary) -> Self {
        Self {
            cart_id: c.cart_id.0,
            status: c.status.as_str().to_owned(),
            order_type: c.order_type.clone(),
            customer_id: c.customer_id.clone(),
            line_count: c.line_count,
            version: c.version,
            currency: c.currency.clone(),
            merged_into: c.merged_into.map(|id| id.0),
            created_at: c.created_at,
            updated_at: c.updated_at,
            expires_at: c.expires_at,
        }
    }
}

/// A page of carts, newest first (by id, a UUID v7: creation order).
#[derive(Debug, Serialize, ToSchema)]
pub struct CartPage {
    pub items: Vec<CartSummaryResponse>,
    /// Pass as `cursor` for older carts; null on the last page.
    pub next_cursor: Option<String>,
}

impl From<&Page<CartSummary>> for CartPage {
    fn from(p: &Page<CartSummary>) -> Self {
        Self {
            items: p.items.iter().map(CartSummaryResponse::from).collect(),
            next_cursor: p.next_cursor.clone(),
        }
    }
}

/// A checkout in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutSummaryResponse {
    pub checkout_id: Uuid,
    pub cart_id: Uuid,
    /// `pending`, `completed`, `cancelled` or `expired`.
    pub status: String,
    #[schema(value_type = String, example = "25.00")]
    pub total: Decimal,
    pub currency: String,
    /// The order a completed checkout made.
    pub order_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl From<&CheckoutSummary> for CheckoutSummaryResponse {
    fn from(c: &CheckoutSummary) -> Self {
        Self {
            checkout_id: c.checkout_id.0,
            cart_id: c.cart_id.0,
            status: c.status.as_str().to_owned(),
            total: c.total,
            currency: c.currency.clone(),
            order_id: c.order_id.map(|id| id.0),
            created_at: c.created_at,
            expires_at: c.expires_at,
        }
    }
}

/// A page of checkouts, newest first (by id).
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutPage {
    pub items: Vec<CheckoutSummaryResponse>,
    /// Pass as `cursor` for older checkouts; null on the last page.
    pub next_cursor: Option<String>,
}

impl From<&Page<CheckoutSummary>> for CheckoutPage {
    fn from(p: &Page<CheckoutSummary>) -> Self {
        Self {
            items: p.items.iter().map(CheckoutSummaryResponse::from).collect(),
            next_cursor: p.next_cursor.clone(),
        }
    }
}

/// An order in a list (`GET /v1/orders/{order_id}` has its lines).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderSummaryResponse {
    pub order_id: Uuid,
    pub checkout_id: Uuid,
    pub cart_id: Uuid,
    /// Null for a guest's order.
    pub customer_id: Option<String>,
    /// `placed`.
    pub status: String,
    #[schema(value_type = String, example = "25.00")]
    pub total: Decimal,
    pub currency: String,
    pub placed_at: DateTime<Utc>,
}

impl From<&OrderSummary> for OrderSummaryResponse {
    fn from(o: &OrderSummary) -> Self {
        Self {
            order_id: o.order_id.0,
            checkout_id: o.checkout_id.0,
            cart_id: o.cart_id.0,
            customer_id: o.customer_id.clone(),
            status: o.status.clone(),
            total: o.total,
            currency: o.currency.clone(),
            placed_at: o.placed_at,
        }
    }
}

/// A page of orders, newest first (by id).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPage {
    pub items: Vec<OrderSummaryResponse>,
    /// Pass as `cursor` for older orders; null on the last page.
    pub next_cursor: Option<String>,
}

impl From<&Page<OrderSummary>> for OrderPage {
    fn from(p: &Page<OrderSummary>) -> Self {
        Self {
            items: p.items.iter().map(OrderSummaryResponse::from).collect(),
            next_cursor: p.next_cursor.clone(),
        }
    }
}

/// Stock a cart holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartHoldResponse {
    pub sku: String,
    pub quantity: i64,
    /// `line` (a reserve line's hold) or `checkout` (a pending checkout's reservation).
    pub kind: String,
    pub line_id: Option<Uuid>,
    pub checkout_id: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
}

impl From<&CartHold> for CartHoldResponse {
    fn from(h: &CartHold) -> Self {
        Self {
            sku: h.sku.to_string(),
            quantity: h.quantity,
            kind: h.kind.clone(),
            line_id: h.line_id.map(|id| id.0),
            checkout_id: h.checkout_id.map(|id| id.0),
            expires_at: h.expires_at,
        }
    }
}

/// One cart as support sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartDetailResponse {
    /// Exactly what the storefront's `GET /v1/carts/{cart_id}` shows (status, customer,
    /// lines, totals, violations …).
    pub cart: CartResponse,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// For a merged cart: the cart it was merged into.
    pub merged_into: Option<Uuid>,
    /// The stock the cart holds now.
    pub holds: Vec<CartHoldResponse>,
}

impl From<&CartDetail> for CartDetailResponse {
    fn from(d: &CartDetail) -> Self {
        Self {
            cart: CartResponse::from(&d.view),
            created_at: d.created_at,
            updated_at: d.updated_at,
            merged_into: d.merged_into.map(|id| id.0),
            holds: d.holds.iter().map(CartHoldResponse::from).collect(),
        }
    }
}

/// An event's subject.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventSubjectResponse {
    /// `cart`, `checkout`, `order`, `plugin` or `inventory`.
    pub kind: String,
    pub id: String,
}

/// An outbox event: the envelope of SPEC §11, as webhooks deliver it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventResponse {
    pub id: Uuid,
    /// `cart.created`, `cart.line_added` …
    #[serde(rename = "type")]
    pub event_type: String,
    pub tenant_id: Uuid,
    pub subject: EventSubjectResponse,
    /// Gap-free per subject, from 1.
    pub sequence: i64,
    pub occurred_at: DateTime<Utc>,
    pub schema_version: i32,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl From<&Event> for EventResponse {
    fn from(e: &Event) -> Self {
        Self {
            id: e.id,
            event_type: e.event_type.as_str().to_owned(),
            tenant_id: e.tenant_id.0,
            subject: EventSubjectResponse {
                kind: e.subject.kind.as_str().to_owned(),
                id: e.subject.id.clone(),
            },
            sequence: e.sequence,
            occurred_at: e.occurred_at,
            schema_version: e.schema_version,
            data: e.data.clone(),
        }
    }
}

/// A page of one subject's events, in sequence order.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<EventResponse>,
    /// Pass as `cursor` for later events; null on the last page.
    pub next_cursor: Option<String>,
}

impl From<&Page<Event>> for EventPage {
    fn from(p: &Page<Event>) -> Self {
        Self {
            items: p.items.iter().map(EventResponse::from).collect(),
            next_cursor: p.next_cursor.clone(),
        }
    }
}
