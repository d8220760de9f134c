//! Platform operator: tenants.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, get, patch, post, web};
use uuid::Uuid;

use trolley_core::domain::{Currency, TenantId};

use crate::auth::Operator;
use crate::dto::tenants::{
    CreateTenantRequest, PatchTenantRequest, TenantCreatedResponse, TenantResponse,
};
use crate::error::{Problem, Result};
use crate::state::AppState;

/// Creates a tenant. Its keys and customer-token secret are in this answer only.
#[utoipa::path(tag = "platform", security(("operator_token" = [])),
    request_body = CreateTenantRequest,
    responses(
        (status = 201, body = TenantCreatedResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "Unsupported currency or bad name"),
    ))]
#[post("/platform/tenants")]
pub async fn create_tenant(
    _: Operator,
    state: web::Data<AppState>,
    body: web::Json<CreateTenantRequest>,
) -> Result<HttpResponse> {
    let body = body.into_inner();
    let currency: Currency = body.currency.parse()?;
    let (tenant, keys) = state.tenants.create(&body.name, currency).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/v1/platform/tenants/{}", tenant.id)))
        .json(TenantCreatedResponse {
            tenant_id: tenant.id.0,
            name: tenant.name,
            currency: tenant.currency.code().to_owned(),
            storefront_key: keys.storefront_key,
            admin_key: keys.admin_key,
            customer_token_secret: keys.customer_token_secret,
            storefront_key_id: keys.storefront_key_id,
            admin_key_id: keys.admin_key_id,
        }))
}

/// Lists tenants.
#[utoipa::path(tag = "platform", security(("operator_token" = [])), responses(
    (status = 200, body = Vec<TenantResponse>),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
#[get("/platform/tenants")]
pub async fn list_tenants(_: Operator, state: web::Data<AppState>) -> Result<HttpResponse> {
    let tenants = state.tenants.list().await?;
    Ok(HttpResponse::Ok().json(tenants.iter().map(TenantResponse::from).collect::<Vec<_>>()))
}

/// Inspects a tenant.
#[utoipa::path(tag = "platform", security(("operator_token" = [])),
    params(("tenant_id" = Uuid, Path)),
    responses(
        (status = 200, body = TenantResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/platform/tenants/{tenant_id}")]
pub async fn get_tenant(
    _: Operator,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let tenant = state.tenants.get(TenantId(path.into_inner())).await?;
    Ok(HttpResponse::Ok().json(TenantResponse::from(&tenant)))
}

/// Renames, suspends or reactivates a tenant. A suspended tenant's keys answer 403.
#[utoipa::path(tag = "platform", security(("operator_token" = [])),
    params(("tenant_id" = Uuid, Path)),
    request_body = PatchTenantRequest,
    responses(
        (status = 200, body = TenantResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[patch("/platform/tenants/{tenant_id}")]
pub async fn patch_tenant(
    _: Operator,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: web::Json<PatchTenantRequest>,
) -> Result<HttpResponse> {
    let body = body.into_inner();
    let tenant = state
        .tenants
        .update(
            TenantId(path.into_inner()),
            body.name,
            body.status.map(Into::into),
        )
        .await?;
    Ok(HttpResponse::Ok().json(TenantResponse::from(&tenant)))
}
