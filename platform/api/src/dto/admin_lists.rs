//! The tenant admin's lists (SPEC §12): the `{items, next_cursor}` pages they answer and
//! the rows in them. The query strings they take are in [`crate::dto::admin_list_queries`].

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use trolley_core::domain::listing::{
    CartDetail, CartHold, CartSummary, CheckoutSummary, OrderSummary, Page,
};
use trolley_core::domain::{CatalogItem, Event, StockLevel};

use crate::dto::carts::CartResponse;
use crate::dto::catalog::CatalogItemResponse;
use crate::dto::checkout::InventoryResponse;

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
