//! Tenant admin: API keys and customer-token secrets (SPEC §14).

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, delete, get, post, web};
use uuid::Uuid;

use crate::auth::TenantAdmin;
use crate::dto::credentials::{
    ApiKeyCreatedResponse, ApiKeyResponse, CreateApiKeyRequest, CustomerTokenSecretCreatedResponse,
    CustomerTokenSecretResponse,
};
use crate::error::{Problem, Result};
use crate::state::AppState;

/// The tenant's API keys, revoked ones included, oldest first. Never a key's secret.
#[utoipa::path(tag = "keys", security(("admin_key" = [])), responses(
    (status = 200, body = Vec<ApiKeyResponse>),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
#[get("/admin/api-keys")]
pub async fn list_api_keys(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let keys = state.tenants.api_keys(tenant.id).await?;
    Ok(HttpResponse::Ok().json(keys.iter().map(ApiKeyResponse::from).collect::<Vec<_>>()))
}

/// Creates a key, which works at once next to the tenant's others. `key` is in this
/// answer only.
#[utoipa::path(tag = "keys", security(("admin_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, body = ApiKeyCreatedResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "invalid_input: a name outside 1–100 characters"),
    ))]
#[post("/admin/api-keys")]
pub async fn create_api_key(
    TenantAdmin(tenant, actor): TenantAdmin,
    state: web::Data<AppState>,
    body: web::Json<CreateApiKeyRequest>,
) -> Result<HttpResponse> {
    let body = body.into_inner();
    let created = state
        .tenants
        .create_api_key(tenant.id, body.kind.into(), &body.name, &actor)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/v1/admin/api-keys/{}", created.info.id)))
        .json(ApiKeyCreatedResponse::from(created)))
}

/// Revokes a key: refused from now on by this node, by every node within a second.
/// Revoking a revoked key changes nothing (204). The key this request is authenticated
/// with, and the tenant's last active admin key, cannot be revoked.
#[utoipa::path(tag = "keys", security(("admin_key" = [])),
    params(("key_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "api_key_not_found (also another tenant's key)"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "cannot_revoke_own_key or last_admin_key"),
    ))]
#[delete("/admin/api-keys/{key_id}")]
pub async fn revoke_api_key(
    TenantAdmin(tenant, actor): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse> {
    state
        .tenants
        .revoke_api_key(tenant.id, path.into_inner(), &actor)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The tenant's customer-token secrets, newest first (the one storefronts should sign new
/// tokens with comes first). Never a secret itself.
#[utoipa::path(tag = "keys", security(("admin_key" = [])), responses(
    (status = 200, body = Vec<CustomerTokenSecretResponse>),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
#[get("/admin/customer-token-secrets")]
pub async fn list_customer_token_secrets(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let secrets = state.tenants.customer_token_secrets(tenant.id).await?;
    Ok(HttpResponse::Ok().json(
        secrets
            .iter()
            .map(CustomerTokenSecretResponse::from)
            .collect::<Vec<_>>(),
    ))
}

/// Adds a customer-token secret (shown in this answer only). Customer tokens verify
/// against every current secret, so storefronts can move to the new one before the old
/// one is deleted.
#[utoipa::path(tag = "keys", security(("admin_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header)),
    responses(
        (status = 201, body = CustomerTokenSecretCreatedResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/admin/customer-token-secrets")]
pub async fn add_customer_token_secret(
    TenantAdmin(tenant, actor): TenantAdmin,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let secret = state
        .tenants
        .add_customer_token_secret(tenant.id, &actor)
        .await?;
    Ok(HttpResponse::Created().json(CustomerTokenSecretCreatedResponse::from(secret)))
}

/// Deletes a customer-token secret: tokens signed with it stop verifying (on every node
/// within a second). The tenant's only secret cannot be deleted.
#[utoipa::path(tag = "keys", security(("admin_key" = [])),
    params(("secret_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "customer_token_secret_not_found"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "last_customer_token_secret"),
    ))]
#[delete("/admin/customer-token-secrets/{secret_id}")]
pub async fn delete_customer_token_secret(
    TenantAdmin(tenant, actor): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse> {
    state
        .tenants
        .delete_customer_token_secret(tenant.id, path.into_inner(), &actor)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
