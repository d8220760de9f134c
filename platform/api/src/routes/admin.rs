//! Tenant admin: catalog, configuration and the audit log.

use actix_web::http::header::ETAG;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};

use trolley_core::domain::{AuditAction, Sku, TenantConfig};

use crate::auth::TenantAdmin;
use crate::dto::audit::{AuditPageResponse, AuditQuery};
use crate::dto::catalog::{
    CatalogBatchRequest, CatalogBatchResponse, CatalogItemRequest, CatalogItemResponse,
};
use crate::dto::tenants::TenantConfigDto;
use crate::error::{ApiError, Problem, Result};
use crate::extract::{ConfigIfMatch, etag, merge_patch_body};
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
    TenantAdmin(tenant, actor): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<CatalogItemRequest>,
) -> Result<HttpResponse> {
    let input = body.into_inner().parse(&path, tenant.currency)?;
    let items = state.catalog.upsert(&tenant, vec![input], &actor).await?;
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
    TenantAdmin(tenant, actor): TenantAdmin,
    state: web::Data<AppState>,
    body: web::Json<CatalogBatchRequest>,
) -> Result<HttpResponse> {
    let inputs = body
        .into_inner()
        .items
        .into_iter()
        .map(|entry| entry.parse(tenant.currency))
        .collect::<Result<Vec<_>, _>>()?;
    let items = state.catalog.upsert(&tenant, inputs, &actor).await?;
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
    TenantAdmin(tenant, _): TenantAdmin,
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
    TenantAdmin(tenant, actor): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let sku = Sku::parse(&path)?;
    state.catalog.delete(&tenant, &sku, &actor).await?;
    Ok(HttpResponse::NoContent().finish())
}

fn config_ok(config: &TenantConfig, revision: i64) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((ETAG, etag(revision)))
        .json(TenantConfigDto::from(config))
}

/// The tenant's configuration; `ETag` names its revision, for `If-Match` on `PUT`/`PATCH`.
#[utoipa::path(tag = "config", security(("admin_key" = [])), responses(
    (status = 200, body = TenantConfigDto, headers(("ETag" = String, description = "\"<revision>\""))),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
#[get("/admin/config")]
pub async fn get_config(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let (config, revision) = state.tenants.config(tenant.id).await?;
    Ok(config_ok(&config, revision))
}

/// Replaces the tenant's configuration: a field left out takes its default (use `PATCH` to
/// change some fields and keep the rest). `If-Match` is optional here; with it, a config
/// changed since answers 412 and nothing changes.
#[utoipa::path(tag = "config", security(("admin_key" = [])),
    params(("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    request_body = TenantConfigDto,
    responses(
        (status = 200, body = TenantConfigDto, headers(("ETag" = String, description = "\"<revision>\""))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json", description = "precondition_failed, with `current_revision`"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[put("/admin/config")]
pub async fn put_config(
    TenantAdmin(tenant, actor): TenantAdmin,
    state: web::Data<AppState>,
    if_match: ConfigIfMatch,
    body: web::Json<TenantConfigDto>,
) -> Result<HttpResponse> {
    let replacement: TenantConfig = body.into_inner().into();
    let (config, revision) = state
        .tenants
        .change_config(
            tenant.id,
            if_match.optional(),
            &actor,
            AuditAction::ConfigPut,
            |_| Ok::<_, ApiError>(replacement.clone()),
        )
        .await?;
    Ok(config_ok(&config, revision))
}

/// Changes some of the tenant's configuration: the body is a JSON merge patch (RFC 7396)
/// over the config as `GET` shows it. Fields left out keep their values, `null` resets a
/// field to its default, and a map (`category_order_types`) merges key by key. The result
/// is checked exactly like a `PUT` body. `If-Match` with the config's `ETag` is required.
#[utoipa::path(tag = "config", security(("admin_key" = [])),
    params(("If-Match" = String, Header, description = "The config's ETag; `*` applies the patch to whatever is current"), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Object, content_type = "application/merge-patch+json", description = "Any subset of the config's fields (also accepted as application/json)"),
    responses(
        (status = 200, body = TenantConfigDto, headers(("ETag" = String, description = "\"<revision>\""))),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "malformed_json, or invalid_request naming the `field`"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json", description = "precondition_failed: the config changed since that ETag; `current_revision` names the current one"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "invalid_input: a value out of its range"),
        (status = 428, body = Problem, content_type = "application/problem+json", description = "precondition_required: no If-Match"),
    ))]
#[patch("/admin/config")]
pub async fn patch_config(
    TenantAdmin(tenant, actor): TenantAdmin,
    state: web::Data<AppState>,
    if_match: ConfigIfMatch,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let if_match = if_match.required()?;
    let patch = merge_patch_body(&req, &body)?;
    let (config, revision) = state
        .tenants
        .change_config(
            tenant.id,
            if_match,
            &actor,
            AuditAction::ConfigPatch,
            |current| TenantConfigDto::patched(current, &patch),
        )
        .await?;
    Ok(config_ok(&config, revision))
}

/// The tenant's audit log, newest first: every admin change (catalog, inventory, config,
/// plugins, activations) with the key that made it and the thing before and after.
#[utoipa::path(tag = "audit", security(("admin_key" = [])),
    params(AuditQuery),
    responses(
        (status = 200, body = AuditPageResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "limit out of range"),
    ))]
#[get("/admin/audit")]
pub async fn list_audit(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse> {
    let page = state
        .tenants
        .audit_log(tenant.id, query.before, query.limit)
        .await?;
    Ok(HttpResponse::Ok().json(AuditPageResponse::from(&page)))
}
