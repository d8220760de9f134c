//! The query strings of the tenant admin's lists (SPEC §12): each list's filters and its
//! page (`limit`, `cursor`), checked and turned into the domain's filter and page request.
//! The pages they answer are in [`crate::dto::admin_lists`].

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use trolley_core::domain::listing::{
    CartFilter, CatalogFilter, CheckoutFilter, EventFilter, InventoryFilter, OrderFilter,
    PageRequest,
};
use trolley_core::domain::{CartId, CartStatus, CheckoutStatus, Subject, SubjectKind};

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
