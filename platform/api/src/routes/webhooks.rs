//! Tenant admin: webhook endpoints, delivery logs, redelivery and replay; the published
//! event schemas; the operator's relay round on demand.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use uuid::Uuid;

use trolley_core::domain::{DeliveryId, WebhookId};

use crate::auth::{Operator, TenantAdmin};
use crate::dto::webhooks::{
    CreateWebhookRequest, DeliveryPageResponse, DeliveryQuery, DeliveryResponse,
    PatchWebhookRequest, RelayResponse, ReplayRequest, ReplayResponse, WebhookListResponse,
    WebhookResponse, WebhookWithSecretResponse,
};
use crate::error::{ApiError, Code, Problem, Result};
use crate::event_schemas;
use crate::state::AppState;

/// Adds a webhook endpoint. The answer shows its signing secret, once.
#[utoipa::path(tag = "webhooks", security(("admin_key" = [])),
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, body = WebhookWithSecretResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "Not https, a private address, an unknown event type, too many endpoints …"),
    ))]
#[post("/admin/webhooks")]
pub async fn create_webhook(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    body: web::Json<CreateWebhookRequest>,
) -> Result<HttpResponse> {
    let endpoint = state
        .webhooks
        .create(tenant.id, body.into_inner().into())
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/v1/admin/webhooks/{}", endpoint.id)))
        .json(WebhookWithSecretResponse::from(&endpoint)))
}

/// The tenant's webhook endpoints (without their secrets).
#[utoipa::path(tag = "webhooks", security(("admin_key" = [])),
    responses(
        (status = 200, body = WebhookListResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/admin/webhooks")]
pub async fn list_webhooks(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let endpoints = state.webhooks.list(tenant.id).await?;
    Ok(HttpResponse::Ok().json(WebhookListResponse {
        webhooks: endpoints.iter().map(WebhookResponse::from).collect(),
    }))
}

/// One webhook endpoint.
#[utoipa::path(tag = "webhooks", security(("admin_key" = [])),
    params(("webhook_id" = Uuid, Path)),
    responses(
        (status = 200, body = WebhookResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/admin/webhooks/{webhook_id}")]
pub async fn get_webhook(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let endpoint = state
        .webhooks
        .get(tenant.id, WebhookId(path.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(WebhookResponse::from(&endpoint)))
}

/// Changes an endpoint: url, event types, description, or `enabled` (disable it; enable
/// it again, which also resumes an endpoint Trolley paused).
#[utoipa::path(tag = "webhooks", security(("admin_key" = [])),
    params(("webhook_id" = Uuid, Path)),
    request_body = PatchWebhookRequest,
    responses(
        (status = 200, body = WebhookResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[patch("/admin/webhooks/{webhook_id}")]
pub async fn patch_webhook(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: web::Json<PatchWebhookRequest>,
) -> Result<HttpResponse> {
    let endpoint = state
        .webhooks
        .update(
            tenant.id,
            WebhookId(path.into_inner()),
            body.into_inner().into(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(WebhookResponse::from(&endpoint)))
}

/// Deletes an endpoint with its delivery log.
#[utoipa::path(tag = "webhooks", security(("admin_key" = [])),
    params(("webhook_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[delete("/admin/webhooks/{webhook_id}")]
pub async fn delete_webhook(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse> {
    state
        .webhooks
        .delete(tenant.id, WebhookId(path.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new signing secret, shown once. For 24 h deliveries carry signatures with both the
/// new and the old secret, so receivers can switch without missing one.
#[utoipa::path(tag = "webhooks", security(("admin_key" = [])),
    params(("webhook_id" = Uuid, Path)),
    responses(
        (status = 200, body = WebhookWithSecretResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/admin/webhooks/{webhook_id}/rotate-secret")]
pub async fn rotate_webhook_secret(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let endpoint = state
        .webhooks
        .rotate_secret(tenant.id, WebhookId(path.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(WebhookWithSecretResponse::from(&endpoint)))
}

/// The endpoint's delivery log, newest first: each delivery with its attempts (status,
/// latency, error, the start of the receiver's answer).
#[utoipa::path(tag = "webhooks", security(("admin_key" = [])),
    params(("webhook_id" = Uuid, Path), DeliveryQuery),
    responses(
        (status = 200, body = DeliveryPageResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/admin/webhooks/{webhook_id}/deliveries")]
pub async fn list_deliveries(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<DeliveryQuery>,
) -> Result<HttpResponse> {
    let DeliveryQuery { limit, before } = query.into_inner();
    let deliveries = state
        .webhooks
        .deliveries(
            tenant.id,
            WebhookId(path.into_inner()),
            before.map(DeliveryId),
            limit,
        )
        .await?;
    let full = limit.unwrap_or(trolley_core::service::webhooks::DEFAULT_DELIVERY_PAGE);
    let next_before = (deliveries.len() as u64 == full)
        .then(|| deliveries.last().map(|d| d.id.0))
        .flatten();
    Ok(HttpResponse::Ok().json(DeliveryPageResponse {
        deliveries: deliveries.iter().map(DeliveryResponse::from).collect(),
        next_before,
    }))
}

/// Delivers one delivery again (now), whatever it ended as.
#[utoipa::path(tag = "webhooks", security(("admin_key" = [])),
    params(("webhook_id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    responses(
        (status = 202, body = DeliveryResponse, description = "Queued: the relay sends it within moments"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/admin/webhooks/{webhook_id}/deliveries/{delivery_id}/retry")]
pub async fn retry_delivery(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse> {
    let (webhook, delivery) = path.into_inner();
    let delivery = state
        .webhooks
        .redeliver(tenant.id, WebhookId(webhook), DeliveryId(delivery))
        .await?;
    Ok(HttpResponse::Accepted().json(DeliveryResponse::from(&delivery)))
}

/// Delivers again every event since `since` (as far back as Trolley keeps them: the
/// tenant's `event_retention_days`, 7 by default).
#[utoipa::path(tag = "webhooks", security(("admin_key" = [])),
    params(("webhook_id" = Uuid, Path)),
    request_body = ReplayRequest,
    responses(
        (status = 202, body = ReplayResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/admin/webhooks/{webhook_id}/replay")]
pub async fn replay_webhook(
    TenantAdmin(tenant, _): TenantAdmin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: web::Json<ReplayRequest>,
) -> Result<HttpResponse> {
    let queued = state
        .webhooks
        .replay(tenant.id, WebhookId(path.into_inner()), body.since)
        .await?;
    Ok(HttpResponse::Accepted().json(ReplayResponse { queued }))
}

/// The JSON Schemas of every event type, by type (and the envelope under `envelope`).
#[utoipa::path(tag = "webhooks",
    responses((status = 200, description = "`{\"<type>\": <JSON Schema>, …}`", body = Object)))]
#[get("/event-schemas")]
pub async fn list_event_schemas() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(event_schemas::all_json())
}

/// The JSON Schema of one event type (or `envelope`).
#[utoipa::path(tag = "webhooks",
    params(("event_type" = String, Path, example = "cart.line_added")),
    responses(
        (status = 200, description = "A JSON Schema (draft 2020-12)", content_type = "application/schema+json", body = Object),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/event-schemas/{event_type}")]
pub async fn get_event_schema(path: web::Path<String>) -> Result<HttpResponse> {
    let name = path.into_inner();
    let schema = event_schemas::get(&name).ok_or_else(|| {
        ApiError::new(
            Code::NotFound,
            format!(
                "`{name}` is not an event type; GET /v1/event-schemas lists every type's schema"
            ),
        )
    })?;
    Ok(HttpResponse::Ok()
        .content_type("application/schema+json")
        .body(schema))
}

/// Runs one relay round now and waits for it: fan-out, due deliveries, JetStream (the
/// server also relays continuously on every node).
#[utoipa::path(tag = "platform", security(("operator_token" = [])), responses(
    (status = 200, body = RelayResponse),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
#[post("/platform/relay")]
pub async fn relay(_: Operator, state: web::Data<AppState>) -> Result<HttpResponse> {
    let round = state.relay.run_once().await?;
    Ok(HttpResponse::Ok().json(RelayResponse::from(round)))
}
