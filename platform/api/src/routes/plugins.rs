//! Tenant admin: plugin modules and which version serves each order type.

use actix_web::http::header::{CONTENT_TYPE, LOCATION};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use uuid::Uuid;

use trolley_core::domain::PluginId;

use crate::auth::TenantAdmin;
use crate::dto::plugins::{ActivateRequest, OrderTypeResponse, PluginResponse};
use crate::error::{ApiError, Code, Problem, Result};
use crate::state::AppState;

/// Uploads a plugin module (`Content-Type: application/wasm`, at most 8 MiB). It is compiled
/// and checked against the order-type world before anything is stored; the same bytes
/// uploaded again answer the existing plugin (200).
#[utoipa::path(tag = "plugins", security(("admin_key" = [])),
    request_body(content = Vec<u8>, content_type = "application/wasm", description = "A WebAssembly component implementing trolley:order-type@1.1.0 (or 1.0.0)"),
    responses(
        (status = 201, body = PluginResponse),
        (status = 200, body = PluginResponse, description = "Already uploaded"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "plugin_version_exists: this name and version were uploaded with other bytes (`plugin_id` names that upload)"),
        (status = 413, body = Problem, content_type = "application/problem+json", description = "payload_too_large: `max_bytes` is the operator's maximum"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "invalid_plugin: not wasm, not a component, wrong world, bad describe"),
    ))]
#[post("/admin/plugins")]
pub async fn upload_plugin(
    TenantAdmin(tenant, actor): TenantAdmin,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("application/wasm") {
        return Err(ApiError::new(
            Code::UnsupportedMediaType,
            "send the module as Content-Type: application/wasm",
        ));
    }
    let body = crate::extract::plugin_module(body).await?;
    let (plugin, created) = state.plugins.upload(&tenant, &body, &actor).await?;
    let mut res = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(res
        .insert_header((LOCATION, format!("/v1/admin/plugins/{}", plugin.id)))
        .json(PluginResponse::from(&plugin)))
}

/// Lists the tenant's plugin modules.
#[utoipa::path(tag = "plugins", security(("admin_key" = [])), responses(
    (status = 200, body = Vec<PluginResponse>),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
#[get("/admin/plugins")]
pub async fn list_plugins(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let plugins = state.plugins.list(&tenant).await?;
    Ok(HttpResponse::Ok().json(plugins.iter().map(PluginResponse::from).collect::<Vec<_>>()))
}

/// Inspects a plugin module: order type, version, sha256 and config schema.
#[utoipa::path(tag = "plugins", security(("admin_key" = [])),
    params(("plugin_id" = Uuid, Path)),
    responses(
        (status = 200, body = PluginResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/admin/plugins/{plugin_id}")]
pub async fn get_plugin(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let plugin = state
        .plugins
        .get(&tenant, PluginId(path.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(PluginResponse::from(&plugin)))
}

/// Which plugin version and config serves each order type.
#[utoipa::path(tag = "plugins", security(("admin_key" = [])), responses(
    (status = 200, body = Vec<OrderTypeResponse>),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
#[get("/admin/order-types")]
pub async fn list_order_types(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let active = state.plugins.order_types(&tenant).await?;
    Ok(HttpResponse::Ok().json(
        active
            .iter()
            .map(OrderTypeResponse::from)
            .collect::<Vec<_>>(),
    ))
}

/// Makes a plugin version, with a config checked against its JSON Schema, serve an order
/// type. First it is tried on the order type's most recent carts and refused if it fails on
/// one the active version judges (`force: true` skips that). Atomic: requests already
/// running finish on the version they started with.
#[utoipa::path(tag = "plugins", security(("admin_key" = [])),
    params(("order_type" = String, Path)),
    request_body = ActivateRequest,
    responses(
        (status = 200, body = OrderTypeResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "activation_check_failed: `failures` names each cart, the reason and its run"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "invalid_config lists each failing field"),
    ))]
#[post("/admin/order-types/{order_type}/activate")]
pub async fn activate_order_type(
    TenantAdmin(tenant, actor): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<ActivateRequest>,
) -> Result<HttpResponse> {
    let body = body.into_inner();
    let activation = state
        .plugin_trial
        .activate(
            &tenant,
            &path,
            PluginId(body.plugin_id),
            body.config,
            body.force,
            &actor,
        )
        .await?;
    Ok(HttpResponse::Ok().json(OrderTypeResponse::from(&activation)))
}

/// Goes back to the activation the current one replaced.
#[utoipa::path(tag = "plugins", security(("admin_key" = [])),
    params(("order_type" = String, Path)),
    responses(
        (status = 200, body = OrderTypeResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "nothing_to_roll_back"),
    ))]
#[post("/admin/order-types/{order_type}/rollback")]
pub async fn rollback_order_type(
    TenantAdmin(tenant, actor): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let activation = state.plugins.rollback(&tenant, &path, &actor).await?;
    Ok(HttpResponse::Ok().json(OrderTypeResponse::from(&activation)))
}
