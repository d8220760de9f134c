//! Storefront: checkout snapshots and orders. Tenant admin: inventory.

use actix_web::http::header::LOCATION;
use actix_web::{Either, HttpRequest, HttpResponse, get, post, put, web};
use uuid::Uuid;

use trolley_core::domain::{CartId, CheckoutId, OrderId, Sku};

use crate::auth::{Operator, Storefront, TenantAdmin};
use crate::dto::checkout::{
    CheckoutRequest, CheckoutResponse, InventoryResponse, OrderResponse, SetInventoryRequest,
    SweepResponse,
};
use crate::error::{ApiError, Code, Problem, Result};
use crate::extract::{IfMatch, optional_json};
use crate::idempotency::IDEMPOTENCY_KEY;
use crate::state::AppState;

/// Sets a sku's on-hand stock (tracking starts with the first count).
#[utoipa::path(tag = "inventory", security(("admin_key" = [])),
    params(("sku" = String, Path)),
    request_body = SetInventoryRequest,
    responses(
        (status = 200, body = InventoryResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "on_hand_below_reserved"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[put("/admin/inventory/{sku}")]
pub async fn put_inventory(
    TenantAdmin(tenant, actor): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<SetInventoryRequest>,
) -> Result<HttpResponse> {
    let sku = Sku::parse(&path)?;
    let level = state
        .inventory
        .set_on_hand(&tenant, &sku, body.on_hand, &actor)
        .await?;
    Ok(HttpResponse::Ok().json(InventoryResponse::from(&level)))
}

/// A sku's stock: on hand, reserved, available.
#[utoipa::path(tag = "inventory", security(("admin_key" = [])),
    params(("sku" = String, Path)),
    responses(
        (status = 200, body = InventoryResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "not_tracked"),
    ))]
#[get("/admin/inventory/{sku}")]
pub async fn get_inventory(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let sku = Sku::parse(&path)?;
    let level = state.inventory.get(&tenant, &sku).await?;
    Ok(HttpResponse::Ok().json(InventoryResponse::from(&level)))
}

/// Starts a checkout: validates with the order type, binds prices, holds every line's
/// stock (all or nothing) and freezes the cart behind an immutable snapshot.
#[utoipa::path(tag = "checkout",
    security(("storefront_key" = [], "customer_token" = []), ("storefront_key" = [], "cart_token" = [])),
    params(("cart_id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Option<CheckoutRequest>, description = "Optional; an empty body is `{}`"),
    responses(
        (status = 201, body = CheckoutResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "insufficient_stock, price_changed, review_required, cart_frozen"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "validation_failed, cart_empty"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "plugin_failed"),
    ))]
#[post("/carts/{cart_id}/checkout")]
pub async fn start_checkout(
    Storefront(shopper): Storefront,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    IfMatch(pre): IfMatch,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let accept = optional_json::<CheckoutRequest>(&body)?.accept_price_changes;
    let checkout = state
        .checkouts
        .begin(&shopper, CartId(path.into_inner()), accept, pre)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            LOCATION,
            format!("/v1/checkouts/{}", checkout.snapshot.checkout_id),
        ))
        .json(CheckoutResponse::from(&checkout)))
}

/// The checkout snapshot, exactly as it was taken.
#[utoipa::path(tag = "checkout",
    security(("storefront_key" = [], "customer_token" = []), ("storefront_key" = [], "cart_token" = [])),
    params(("checkout_id" = Uuid, Path)),
    responses(
        (status = 200, body = CheckoutResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/checkouts/{checkout_id}")]
pub async fn get_checkout(
    Storefront(shopper): Storefront,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let checkout = state
        .checkouts
        .get(&shopper, CheckoutId(path.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(CheckoutResponse::from(&checkout)))
}

/// Turns the snapshot into an order, exactly once (`Idempotency-Key` required): the held
/// stock is committed and the cart converted. An already completed checkout answers its
/// order (200).
#[utoipa::path(tag = "checkout",
    security(("storefront_key" = [], "customer_token" = []), ("storefront_key" = [], "cart_token" = [])),
    params(("checkout_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "Required")),
    responses(
        (status = 201, body = OrderResponse),
        (status = 200, body = OrderResponse, description = "Completed before"),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "idempotency_key_required"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "checkout_closed"),
        (status = 410, body = Problem, content_type = "application/problem+json", description = "checkout_expired"),
    ))]
#[post("/checkouts/{checkout_id}/complete")]
pub async fn complete_checkout(
    Storefront(shopper): Storefront,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    if !req.headers().contains_key(IDEMPOTENCY_KEY) {
        return Err(ApiError::new(
            Code::IdempotencyKeyRequired,
            "completing a checkout needs an Idempotency-Key header, so a retry never orders twice",
        ));
    }
    let (order, created) = state
        .checkouts
        .complete(&shopper, CheckoutId(path.into_inner()))
        .await?;
    let mut res = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(res
        .insert_header((LOCATION, format!("/v1/orders/{}", order.order_id)))
        .json(OrderResponse::from(&order)))
}

/// Releases the held stock and unfreezes the cart.
#[utoipa::path(tag = "checkout",
    security(("storefront_key" = [], "customer_token" = []), ("storefront_key" = [], "cart_token" = [])),
    params(("checkout_id" = Uuid, Path)),
    responses(
        (status = 200, body = CheckoutResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "checkout_closed"),
        (status = 410, body = Problem, content_type = "application/problem+json", description = "checkout_expired"),
    ))]
#[post("/checkouts/{checkout_id}/cancel")]
pub async fn cancel_checkout(
    Storefront(shopper): Storefront,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let checkout = state
        .checkouts
        .cancel(&shopper, CheckoutId(path.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(CheckoutResponse::from(&checkout)))
}

/// An order, for the tenant admin or the shopper who placed it.
#[utoipa::path(tag = "checkout",
    security(("admin_key" = []), ("storefront_key" = [], "customer_token" = []), ("storefront_key" = [], "cart_token" = [])),
    params(("order_id" = Uuid, Path)),
    responses(
        (status = 200, body = OrderResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/orders/{order_id}")]
pub async fn get_order(
    caller: Either<TenantAdmin, Storefront>,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let id = OrderId(path.into_inner());
    let order = match caller {
        Either::Left(TenantAdmin(tenant, _)) => {
            state.checkouts.order_for_tenant(&tenant, id).await?
        }
        Either::Right(Storefront(shopper)) => {
            state.checkouts.order_for_shopper(&shopper, id).await?
        }
    };
    Ok(HttpResponse::Ok().json(OrderResponse::from(&order)))
}

/// Runs one sweep now (the server also runs them periodically on every node).
///
/// Expires holds, checkouts and idle carts; deletes ended carts and checkouts past their
/// tenant's `cart_retention_days` (orders stay); purges idempotency records older than 24 h.
/// Counts are what this sweep did: rows another node's sweep handled first are not counted.
#[utoipa::path(tag = "platform", security(("operator_token" = [])), responses(
    (status = 200, body = SweepResponse),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
#[post("/platform/sweep")]
pub async fn sweep(_: Operator, state: web::Data<AppState>) -> Result<HttpResponse> {
    let report = state.sweeper.sweep().await?;
    Ok(HttpResponse::Ok().json(SweepResponse::from(&report)))
}
