//! Tenant admin: paged lists of the tenant's catalog, stock, carts, checkouts, orders and
//! events, and one cart as support sees it (SPEC §12). Every list answers
//! `{items, next_cursor}`; `limit` is 1–200 (50 by default); a `cursor` is opaque and only
//! good for the list that gave it.

use actix_web::{HttpResponse, get, web};
use uuid::Uuid;

use trolley_core::domain::CartId;

use crate::auth::TenantAdmin;
use crate::dto::admin_list_queries::{
    CartListQuery, CatalogListQuery, CheckoutListQuery, EventListQuery, InventoryListQuery,
    OrderListQuery,
};
use crate::dto::admin_lists::{
    CartDetailResponse, CartPage, CatalogItemPage, CheckoutPage, EventPage, InventoryPage,
    OrderPage,
};
use crate::error::{Problem, Result};
use crate::state::AppState;

/// The catalog, by sku ascending. `q` matches a sku prefix or a title substring, ignoring
/// case.
#[utoipa::path(tag = "admin lists", security(("admin_key" = [])),
    params(CatalogListQuery),
    responses(
        (status = 200, body = CatalogItemPage),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "invalid_request: limit out of 1-200, a cursor this list did not give, or a malformed query"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/items")]
pub async fn list_catalog_items(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    query: web::Query<CatalogListQuery>,
) -> Result<HttpResponse> {
    let (filter, page) = query.into_inner().parse();
    let items = state.lists.catalog_items(&tenant, filter, &page).await?;
    Ok(HttpResponse::Ok().json(CatalogItemPage::from(&items)))
}

/// Tracked stock, by sku ascending. `available_below=N` is the low-stock view.
#[utoipa::path(tag = "admin lists", security(("admin_key" = [])),
    params(InventoryListQuery),
    responses(
        (status = 200, body = InventoryPage),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "invalid_request: limit out of 1-200, a cursor this list did not give, or a malformed query"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/admin/inventory")]
pub async fn list_inventory(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    query: web::Query<InventoryListQuery>,
) -> Result<HttpResponse> {
    let (filter, page) = query.into_inner().parse();
    let levels = state.lists.inventory(&tenant, filter, &page).await?;
    Ok(HttpResponse::Ok().json(InventoryPage::from(&levels)))
}

/// Carts, newest first (by id, a UUID v7: the order they were created in), unpriced.
#[utoipa::path(tag = "admin lists", security(("admin_key" = [])),
    params(CartListQuery),
    responses(
        (status = 200, body = CartPage),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "invalid_request: limit out of 1-200, a cursor this list did not give, an unknown status, or a malformed query"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/admin/carts")]
pub async fn list_carts(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    query: web::Query<CartListQuery>,
) -> Result<HttpResponse> {
    let (filter, page) = query.into_inner().parse()?;
    let carts = state.lists.carts(&tenant, filter, &page).await?;
    Ok(HttpResponse::Ok().json(CartPage::from(&carts)))
}

/// One cart as support needs it, without its token: the cart exactly as the storefront
/// shows it, when it was created and last changed, what it was merged into, and the stock
/// it holds. Reading it does not renew the cart's expiry.
#[utoipa::path(tag = "admin lists", security(("admin_key" = [])),
    params(("cart_id" = Uuid, Path)),
    responses(
        (status = 200, body = CartDetailResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "cart_not_found: no cart of this tenant has this id"),
    ))]
#[get("/admin/carts/{cart_id}")]
pub async fn get_cart_detail(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let detail = state
        .lists
        .cart_detail(&tenant, CartId(path.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(CartDetailResponse::from(&detail)))
}

/// Checkouts, newest first (by id).
#[utoipa::path(tag = "admin lists", security(("admin_key" = [])),
    params(CheckoutListQuery),
    responses(
        (status = 200, body = CheckoutPage),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "invalid_request: limit out of 1-200, a cursor this list did not give, an unknown status, or a malformed query"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/admin/checkouts")]
pub async fn list_checkouts(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    query: web::Query<CheckoutListQuery>,
) -> Result<HttpResponse> {
    let (filter, page) = query.into_inner().parse()?;
    let checkouts = state.lists.checkouts(&tenant, filter, &page).await?;
    Ok(HttpResponse::Ok().json(CheckoutPage::from(&checkouts)))
}

/// Orders, newest first (by id).
#[utoipa::path(tag = "admin lists", security(("admin_key" = [])),
    params(OrderListQuery),
    responses(
        (status = 200, body = OrderPage),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "invalid_request: limit out of 1-200, a cursor this list did not give, a status other than `placed`, or a malformed query (placed_since must be RFC 3339)"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/admin/orders")]
pub async fn list_orders(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    query: web::Query<OrderListQuery>,
) -> Result<HttpResponse> {
    let (filter, page) = query.into_inner().parse();
    let orders = state.lists.orders(&tenant, filter, &page).await?;
    Ok(HttpResponse::Ok().json(OrderPage::from(&orders)))
}

/// One subject's events still in the outbox (SPEC §11 envelopes), in sequence order: a
/// cart's timeline is `subject_kind=cart&subject_id={cart_id}`. Events the retention
/// sweep purged are gone.
#[utoipa::path(tag = "admin lists", security(("admin_key" = [])),
    params(EventListQuery),
    responses(
        (status = 200, body = EventPage),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "invalid_request: limit out of 1-200, a cursor this list did not give, an unknown subject_kind, or a malformed query"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/admin/events")]
pub async fn list_events(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    query: web::Query<EventListQuery>,
) -> Result<HttpResponse> {
    let (filter, page) = query.into_inner().parse()?;
    let events = state.lists.events(&tenant, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(EventPage::from(&events)))
}
