//! Prometheus metrics.

use actix_web::{HttpResponse, get, web};

use crate::state::AppState;

/// Prometheus metrics in the OpenMetrics text format: request latency by route, cache
/// results, plugin call latency and outcomes by tenant and order type, merge outcomes,
/// reservations, active carts and open live streams (family names in the `trolley-metrics` crate docs).
///
/// Unauthenticated, like `/health`: expose it on an internal network only (a load balancer
/// or ingress should not route it). The active-carts gauge is re-read from the database at
/// most every 5 seconds, so scrapes stay cheap.
#[utoipa::path(tag = "operations", responses(
    (status = 200, description = "The OpenMetrics text exposition",
     content_type = "application/openmetrics-text", body = String),
))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    match state.carts.active_carts().await {
        Ok(n) => state
            .metrics
            .set_active_carts(i64::try_from(n).unwrap_or(i64::MAX)),
        // The rest is still worth serving; the gauge keeps its last value.
        Err(e) => tracing::warn!(error = %e, "could not count active carts for /metrics"),
    }
    state
        .metrics
        .set_open_streams(i64::try_from(state.streams.total()).unwrap_or(i64::MAX));
    HttpResponse::Ok()
        .content_type(trolley_metrics::CONTENT_TYPE)
        .body(state.metrics.render())
}
