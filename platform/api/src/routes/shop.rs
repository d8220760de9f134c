//! Storefront: the read-only catalog, with the storefront key alone (no shopper needed).

use actix_web::{HttpResponse, get, web};

use trolley_core::domain::Sku;

use crate::auth::Storefront;
use crate::dto::shop::{ShopCatalogQuery, ShopItemResponse, ShopPageResponse};
use crate::error::{Problem, Result};
use crate::state::AppState;

/// The items a storefront sells, in sku order, filtered by category and text, a page at a
/// time: price, category, order type, seller, public attributes and an availability class.
#[utoipa::path(tag = "storefront catalog",
    security(("storefront_key" = [])),
    params(ShopCatalogQuery),
    responses(
        (status = 200, body = ShopPageResponse, example = json!({
            "items": [{"sku": "MILK-1L", "title": "Fresh milk 1 l", "price": "1.99", "currency": "EUR",
                "category": "grocery", "order_type": "grocery", "seller": null,
                "attributes": {"cold_chain": "true"}, "availability": "in_stock"}],
            "next_cursor": "4d494c4b2d314c"})),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/catalog/items")]
pub async fn list_shop_items(
    Storefront(shopper): Storefront,
    state: web::Data<AppState>,
    query: web::Query<ShopCatalogQuery>,
) -> Result<HttpResponse> {
    let (query, limit) = query.into_inner().parse()?;
    let page = state.shop.page(&shopper.tenant, &query, limit).await?;
    Ok(HttpResponse::Ok().json(ShopPageResponse::from(&page)))
}

/// One item as a storefront sees it.
#[utoipa::path(tag = "storefront catalog",
    security(("storefront_key" = [])),
    params(("sku" = String, Path)),
    responses(
        (status = 200, body = ShopItemResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "item_not_found"),
    ))]
#[get("/catalog/items/{sku}")]
pub async fn get_shop_item(
    Storefront(shopper): Storefront,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let sku = Sku::parse(&path.into_inner())?;
    let item = state.shop.item(&shopper.tenant, &sku).await?;
    Ok(HttpResponse::Ok().json(ShopItemResponse::from(&item)))
}
