//! Tenant admin: catalog and configuration.

use actix_web::{HttpResponse, delete, get, post, put, web};

use trolley_core::domain::Sku;

use crate::auth::TenantAdmin;
use crate::dto::catalog::{
    CatalogBatchRequest, CatalogBatchResponse, CatalogItemRequest, CatalogItemResponse,
};
use crate::dto::tenants::TenantConfigDto;
use crate::error::{Problem, Result};
use crate::state::AppState;

/// Creates or updates a catalog item. A changed price increments its `price_revision`.
#[utoipa::path(tag = "catalog", security(("admin_key" = [])),
    params(("sku" = String, Path)),
    request_body = CatalogItemRequest,
    responses(
        (status = 200, body = CatalogItemResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "Bad sku, negative price, too many decimals …"),
    ))]
#[put("/items/{sku}")]
pub async fn put_item(
    TenantAdmin(tenant): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<CatalogItemRequest>,
) -> Result<HttpResponse> {
    let input = body.into_inner().parse(&path, tenant.currency)?;
    let items = state.catalog.upsert(&tenant, vec![input]).await?;
    let item = items.first().ok_or_else(|| {
        crate::error::ApiError::new(crate::error::Code::Internal, "upsert returned nothing")
    })?;
    Ok(HttpResponse::Ok().json(CatalogItemResponse::from(item)))
}

/// Upserts up to 1000 items at once, all or nothing.
#[utoipa::path(tag = "catalog", security(("admin_key" = [])),
    request_body = CatalogBatchRequest,
    responses(
        (status = 200, body = CatalogBatchResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/items:batch")]
pub async fn batch_items(
    TenantAdmin(tenant): TenantAdmin,
    state: web::Data<AppState>,
    body: web::Json<CatalogBatchRequest>,
) -> Result<HttpResponse> {
    let inputs = body
        .into_inner()
        .items
        .into_iter()
        .map(|entry| entry.parse(tenant.currency))
        .collect::<Result<Vec<_>, _>>()?;
    let items = state.catalog.upsert(&tenant, inputs).await?;
    Ok(HttpResponse::Ok().json(CatalogBatchResponse {
        items: items.iter().map(CatalogItemResponse::from).collect(),
    }))
}

/// Reads a catalog item.
#[utoipa::path(tag = "catalog", security(("admin_key" = [])),
    params(("sku" = String, Path)),
    responses(
        (status = 200, body = CatalogItemResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/items/{sku}")]
pub async fn get_item(
    TenantAdmin(tenant): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let sku = Sku::parse(&path)?;
    let item = state.catalog.get(&tenant, &sku).await?;
    Ok(HttpResponse::Ok().json(CatalogItemResponse::from(&item)))
}

/// Discontinues a catalog item: it can no longer be added to carts; carts that hold it
/// show the line as `unavailable`.
#[utoipa::path(tag = "catalog", security(("admin_key" = [])),
    params(("sku" = String, Path)),
    responses(
        (status = 204, description = "Discontinued"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[delete("/items/{sku}")]
pub async fn delete_item(
    TenantAdmin(tenant): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let sku = Sku::parse(&path)?;
    state.catalog.delete(&tenant, &sku).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The tenant's configuration.
#[utoipa::path(tag = "config", security(("admin_key" = [])), responses(
    (status = 200, body = TenantConfigDto),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
#[get("/admin/config")]
pub async fn get_config(TenantAdmin(tenant): TenantAdmin) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(TenantConfigDto::from(&tenant.config)))
}

/// Replaces the tenant's configuration; omitted fields take their defaults.
#[utoipa::path(tag = "config", security(("admin_key" = [])),
    request_body = TenantConfigDto,
    responses(
        (status = 200, body = TenantConfigDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[put("/admin/config")]
pub async fn put_config(
    TenantAdmin(tenant): TenantAdmin,
    state: web::Data<AppState>,
    body: web::Json<TenantConfigDto>,
) -> Result<HttpResponse> {
    let updated = state
        .tenants
        .set_config(&tenant, body.into_inner().into())
        .await?;
    Ok(HttpResponse::Ok().json(TenantConfigDto::from(&updated.config)))
}
