//! Storefront: carts and their lines. Every mutation answers the full cart with its `ETag`,
//! exactly as `GET /v1/carts/{cart_id}` would show it.

use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, HeaderValue, LOCATION};
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use std::collections::BTreeMap;
use uuid::Uuid;

use trolley_core::domain::{Attributes, CartId, CartView, LineId, Sku};
use trolley_core::service::{AddLineRequest as AddLine, Prefetched};

use crate::auth::Storefront;
use crate::conditional::CartBody;
use crate::dto::carts::{
    AddLineRequest, CartResponse, MergeOutcomeResponse, MergeRequest, MergeResponse,
    MergeSourceResponse, PatchLineRequest, RemoveLineQuery, ReplacedResponse,
};
use crate::error::{Problem, Result};
use crate::extract::IfMatch;
use crate::state::AppState;

fn cart_ok(view: &CartView) -> Result<HttpResponse> {
    Ok(CartBody::of(&CartResponse::from(view))?.respond(StatusCode::OK, None))
}

/// Creates a cart: a customer cart with a customer token (or the customer's live cart,
/// answered 200), else a guest cart whose `cart_token` is in this answer only.
#[utoipa::path(tag = "carts",
    security(("storefront_key" = [], "customer_token" = []), ("storefront_key" = [])),
    responses(
        (status = 201, body = CartResponse, description = "Created; guests get `cart_token`"),
        (status = 200, body = CartResponse, description = "The customer's existing live cart"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/carts")]
pub async fn create_cart(
    Storefront(shopper): Storefront,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let created = state.carts.create(&shopper).await?;
    let mut body = CartResponse::from(&created.view);
    body.cart_token = created.cart_token;
    let status = if created.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut res = CartBody::of(&body)?.respond(status, None);
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/carts/{}", created.view.cart_id)) {
        res.headers_mut().insert(LOCATION, location);
    }
    Ok(res)
}

/// The assembled cart. With `If-None-Match` naming the current `ETag`, `304` and no body:
/// a storefront keeping the cart it last showed re-reads it for the cost of a header.
#[utoipa::path(tag = "carts",
    security(("storefront_key" = [], "customer_token" = []), ("storefront_key" = [], "cart_token" = [])),
    params(
        ("cart_id" = Uuid, Path),
        ("If-None-Match" = Option<String>, Header, description = "The ETag of the cart the client holds: `304` if it is still current"),
    ),
    responses(
        (status = 200, body = CartResponse, example = json!(cart_example())),
        (status = 304, description = "The cart is as the ETag in `If-None-Match` says; no body",
            headers(("ETag" = String, description = "The current ETag (the one sent)"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/carts/{cart_id}")]
pub async fn get_cart(
    Storefront(shopper): Storefront,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    // What the `Storefront` extractor read from the cache alongside the rate limit.
    let prefetched = req.extensions_mut().remove::<Prefetched>();
    let view = state
        .carts
        .get_prefetched(&shopper, CartId(path.into_inner()), prefetched)
        .await?;
    Ok(CartBody::of(&CartResponse::from(&view))?.respond(StatusCode::OK, Some(req.headers())))
}

/// The signed-in customer's live cart, on any device.
#[utoipa::path(tag = "carts",
    security(("storefront_key" = [], "customer_token" = [])),
    responses(
        (status = 200, body = CartResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/customers/me/cart")]
pub async fn get_my_cart(
    Storefront(shopper): Storefront,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let view = state.carts.get_for_customer(&shopper).await?;
    cart_ok(&view)
}

/// Adds a line, or more of the line with the same line key (sku + attributes + seller +
/// fulfillment). The price comes from the catalog. A line of another order type than the
/// cart's answers `409 incompatible_order_type`, unless `replace_incompatible` empties the
/// cart first; that answer's `replaced` lists what was removed.
#[utoipa::path(tag = "carts",
    security(("storefront_key" = [], "customer_token" = []), ("storefront_key" = [], "cart_token" = [])),
    params(
        ("cart_id" = Uuid, Path),
        ("If-Match" = Option<String>, Header, description = "Cart version the client last saw"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for a retried request"),
    ),
    request_body(content = AddLineRequest, example = json!({
        "sku": "MILK-1L", "quantity": 2, "attributes": {"note": "semi-skimmed"}})),
    responses(
        (status = 200, body = CartResponse, example = json!(cart_example())),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "cart_frozen, cart_merged, incompatible_order_type, idempotency_key_in_use"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "quantity_out_of_range, too_many_lines, unknown_sku, invalid_input, idempotency_key_reused"),
    ))]
#[post("/carts/{cart_id}/lines")]
pub async fn add_line(
    Storefront(shopper): Storefront,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    IfMatch(pre): IfMatch,
    body: web::Json<AddLineRequest>,
) -> Result<HttpResponse> {
    let body = body.into_inner();
    let request = AddLine {
        sku: Sku::parse(&body.sku)?,
        quantity: body.quantity,
        attributes: Attributes::parse(body.attributes)?,
        seller: body.seller,
        fulfillment: body.fulfillment,
        replace_incompatible: body.replace_incompatible,
    };
    let added = state
        .carts
        .add_line(&shopper, CartId(path.into_inner()), request, pre)
        .await?;
    let mut body = CartResponse::from(&added.view);
    body.replaced = added.replaced.as_ref().map(ReplacedResponse::from);
    Ok(CartBody::of(&body)?.respond(StatusCode::OK, None))
}

/// Sets a line's quantity.
#[utoipa::path(tag = "carts",
    security(("storefront_key" = [], "customer_token" = []), ("storefront_key" = [], "cart_token" = [])),
    params(
        ("cart_id" = Uuid, Path), ("line_id" = Uuid, Path),
        ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header),
    ),
    request_body(content = PatchLineRequest, example = json!({"quantity": 3, "expected_line_version": 1})),
    responses(
        (status = 200, body = CartResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "line_conflict carries `current_line`"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[patch("/carts/{cart_id}/lines/{line_id}")]
pub async fn patch_line(
    Storefront(shopper): Storefront,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    IfMatch(pre): IfMatch,
    body: web::Json<PatchLineRequest>,
) -> Result<HttpResponse> {
    let (cart_id, line_id) = path.into_inner();
    let body = body.into_inner();
    let view = state
        .carts
        .set_quantity(
            &shopper,
            CartId(cart_id),
            LineId(line_id),
            body.quantity,
            body.expected_line_version,
            pre,
        )
        .await?;
    cart_ok(&view)
}

/// Removes a line.
#[utoipa::path(tag = "carts",
    security(("storefront_key" = [], "customer_token" = []), ("storefront_key" = [], "cart_token" = [])),
    params(
        ("cart_id" = Uuid, Path), ("line_id" = Uuid, Path), RemoveLineQuery,
        ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header),
    ),
    responses(
        (status = 200, body = CartResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    ))]
#[delete("/carts/{cart_id}/lines/{line_id}")]
pub async fn delete_line(
    Storefront(shopper): Storefront,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    query: web::Query<RemoveLineQuery>,
    IfMatch(pre): IfMatch,
) -> Result<HttpResponse> {
    let (cart_id, line_id) = path.into_inner();
    let view = state
        .carts
        .remove_line(
            &shopper,
            CartId(cart_id),
            LineId(line_id),
            query.expected_line_version,
            pre,
        )
        .await?;
    cart_ok(&view)
}

/// Removes every line.
#[utoipa::path(tag = "carts",
    security(("storefront_key" = [], "customer_token" = []), ("storefront_key" = [], "cart_token" = [])),
    params(("cart_id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses(
        (status = 200, body = CartResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    ))]
#[delete("/carts/{cart_id}/lines")]
pub async fn clear_lines(
    Storefront(shopper): Storefront,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    IfMatch(pre): IfMatch,
) -> Result<HttpResponse> {
    let view = state
        .carts
        .clear(&shopper, CartId(path.into_inner()), pre)
        .await?;
    cart_ok(&view)
}

/// Replaces the request context passed to order-type plugins: a flat object of string
/// pairs such as `{"distance_km": "3.2", "age_verified": "true"}` (at most 32).
#[utoipa::path(tag = "carts",
    security(("storefront_key" = [], "customer_token" = []), ("storefront_key" = [], "cart_token" = [])),
    params(("cart_id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    request_body = BTreeMap<String, String>,
    responses(
        (status = 200, body = CartResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[put("/carts/{cart_id}/context")]
pub async fn put_context(
    Storefront(shopper): Storefront,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    IfMatch(pre): IfMatch,
    body: web::Json<BTreeMap<String, String>>,
) -> Result<HttpResponse> {
    let view = state
        .carts
        .set_context(&shopper, CartId(path.into_inner()), body.into_inner(), pre)
        .await?;
    cart_ok(&view)
}

/// Merges a guest cart (proven by its token) into the signed-in customer's cart under a
/// policy; every line's outcome is in the answer, the guest cart becomes `merged`. Merging
/// the same guest cart again answers the first result. With `source_cart_id` equal to
/// `{cart_id}`, the guest cart is adopted as the customer's cart instead. A guest cart of
/// another order type than the customer's (non-empty) cart is not merged: its lines are
/// `left_in_source`, it stays `active` (`source.status`), and nothing changes.
#[utoipa::path(tag = "carts",
    security(("storefront_key" = [], "customer_token" = [])),
    params(("cart_id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = MergeRequest, example = json!({
        "source_cart_id": "0190b6f0-1c2d-7e3f-8a4b-5c6d7e8f9a0b",
        "source_cart_token": "tct_3kq9…", "policy": "sum"})),
    responses(
        (status = 200, body = MergeResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "cart_frozen, cart_merged"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/carts/{cart_id}/merge")]
pub async fn merge_carts(
    Storefront(shopper): Storefront,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    IfMatch(pre): IfMatch,
    body: web::Json<MergeRequest>,
) -> Result<HttpResponse> {
    let body = body.into_inner();
    let result = state
        .carts
        .merge(
            &shopper,
            CartId(path.into_inner()),
            CartId(body.source_cart_id),
            &body.source_cart_token,
            body.policy.map(Into::into),
            pre,
        )
        .await?;
    let cart = CartResponse::from(&result.cart);
    let tag = CartBody::of(&cart)?.etag;
    Ok(HttpResponse::Ok()
        .insert_header((ETAG, tag))
        .json(MergeResponse {
            cart,
            outcomes: result
                .outcomes
                .iter()
                .map(MergeOutcomeResponse::from)
                .collect(),
            policy: result.policy.as_str().to_owned(),
            replayed: result.replayed,
            source: MergeSourceResponse::from(&result.source),
        }))
}

/// The example cart of the OpenAPI document (a real answer of the `--demo` tenant).
fn cart_example() -> serde_json::Value {
    serde_json::json!({
        "cart_id": "01a23954-b7b5-73ca-87e1-9af52e7c312f",
        "status": "active",
        "order_type": "grocery",
        "currency": "USD",
        "version": 2,
        "lines": [{
            "line_id": "01a23954-d09a-7638-a3b8-0a6d6ea7d91c",
            "sku": "MILK-1L",
            "title": "Fresh milk 1 l",
            "category": "grocery",
            "quantity": 2,
            "line_version": 1,
            "unit_price": "1.99",
            "added_unit_price": "1.99",
            "price_changed": false,
            "line_total": "3.98",
            "attributes": {},
            "seller": null,
            "fulfillment": null,
            "availability": "untracked",
            "claim": "soft",
            "held_until": null,
            "needs_review": false,
            "updated_at": "2026-12-03T00:36:29.466Z"
        }],
        "subtotal": "3.98",
        "fees": [
            {"code": "grocery.small_basket", "label": "Small basket (under 15.00)", "amount": "2.99"},
            {"code": "grocery.bags", "label": "Bag", "amount": "0.10"}
        ],
        "total": "7.07",
        "violations": [{
            "code": "grocery.delivery_slot_required",
            "message": "MILK-1L must stay cold: choose a delivery slot before checkout",
            "line_id": "01a23954-d09a-7638-a3b8-0a6d6ea7d91c",
            "severity": "block_checkout"
        }],
        "fulfillment": {
            "allowed_modes": ["delivery", "pickup"],
            "lead_time_minutes": 60,
            "requirements": ["cold_chain", "delivery_slot"],
            "max_distance_km": null,
            "notes": ["contains chilled or frozen items"]
        },
        "plugin": {
            "order_type": "grocery",
            "plugin_id": "01a23954-b0ec-76b0-b148-fb4253b50deb",
            "version": "0.1.0",
            "sha256": "431040be2895934b4ac43e0b87a9de82023c08951d9e65dc4654703460334f1f"
        },
        "plugin_status": "ok",
        "customer_id": null,
        "context": {},
        "merged_into": null,
        "created_at": "2026-12-03T00:36:23.093Z",
        "updated_at": "2026-12-03T00:36:29.466Z",
        "expires_at": "2026-12-10T00:36:29.466Z"
    })
}
