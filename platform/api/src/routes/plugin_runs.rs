//! Tenant admin: run records of the order types' plugins, and dry runs (SPEC §14).

use actix_web::{HttpResponse, get, post, web};
use uuid::Uuid;

use trolley_core::domain::{CartId, PluginId, PluginRunId, RunQuery};

use crate::auth::TenantAdmin;
use crate::dto::plugin_runs::{
    DryRunRequest, DryRunResponse, PluginRunPage, PluginRunResponse, RunsQuery,
};
use crate::error::{Problem, Result};
use crate::state::AppState;

const DEFAULT_RUNS_PAGE: u32 = 20;

/// The order type's recorded plugin calls, newest first: every failed call (one per second
/// and kind per node when a plugin fails under load), a sample of successful ones (one a
/// minute per node), and every dry run and activation check; at most 200 failed and 200
/// successful per tenant.
#[utoipa::path(tag = "plugins", security(("admin_key" = [])),
    params(("order_type" = String, Path), RunsQuery),
    responses(
        (status = 200, body = PluginRunPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "invalid_input: limit out of 1-100"),
    ))]
#[get("/admin/order-types/{order_type}/runs")]
pub async fn list_runs(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<RunsQuery>,
) -> Result<HttpResponse> {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(DEFAULT_RUNS_PAGE);
    let runs = state
        .plugin_runs
        .list(
            &tenant,
            &path,
            RunQuery {
                failed_only: query.failed,
                before: query.cursor.map(PluginRunId),
                limit,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(PluginRunPage::of(&runs, limit)))
}

/// One run, whole: the cart as the plugin saw it, the config, the answer or the failure
/// (a panic's own message), the plugin's log lines, duration, fuel and peak memory.
#[utoipa::path(tag = "plugins", security(("admin_key" = [])),
    params(("order_type" = String, Path), ("run_id" = Uuid, Path)),
    responses(
        (status = 200, body = PluginRunResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "plugin_run_not_found"),
    ))]
#[get("/admin/order-types/{order_type}/runs/{run_id}")]
pub async fn get_run(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
) -> Result<HttpResponse> {
    let (order_type, run_id) = path.into_inner();
    let run = state
        .plugin_runs
        .get(&tenant, &order_type, PluginRunId(run_id))
        .await?;
    Ok(HttpResponse::Ok().json(PluginRunResponse::from(&run)))
}

/// Evaluates an uploaded version with a config on some of the tenant's carts, beside the
/// version serving the order type now. Changes nothing; each call is recorded as a run.
#[utoipa::path(tag = "plugins", security(("admin_key" = [])),
    params(("order_type" = String, Path)),
    request_body = DryRunRequest,
    responses(
        (status = 200, body = DryRunResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "plugin_not_found"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "invalid_config names each failing field; invalid_input: a cart that is not this order type's"),
    ))]
#[post("/admin/order-types/{order_type}/dry-run")]
pub async fn dry_run(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<DryRunRequest>,
) -> Result<HttpResponse> {
    let body = body.into_inner();
    let cart_ids: Option<Vec<CartId>> = body
        .cart_ids
        .map(|ids| ids.into_iter().map(CartId).collect());
    let result = state
        .plugin_trial
        .dry_run(
            &tenant,
            &path,
            PluginId(body.plugin_id),
            body.config,
            cart_ids.as_deref(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(DryRunResponse::from(&result)))
}
