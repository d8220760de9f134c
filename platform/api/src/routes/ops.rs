//! Liveness and readiness.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct HealthResponse {
    /// `ok`.
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReadyResponse {
    /// `ready`; `degraded` when only a non-essential service (Redis) is down: the node
    /// still serves, from the database; `unavailable` (503) when an essential one is.
    pub status: String,
    /// Each backing service: `ok` or the reason it is not.
    pub checks: BTreeMap<String, String>,
}

/// Liveness: the process answers.
#[utoipa::path(tag = "operations", responses((status = 200, body = HealthResponse)))]
#[get("/health")]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(HealthResponse {
        status: "ok".into(),
    })
}

/// Readiness: every backing service answers.
#[utoipa::path(tag = "operations", responses(
    (status = 200, body = ReadyResponse),
    (status = 503, body = ReadyResponse, description = "A backing service is down"),
))]
#[get("/ready")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let mut checks = BTreeMap::new();
    let (mut ok, mut degraded) = (true, false);
    for check in &state.health_checks {
        let result = check.check().await;
        if result.is_err() {
            if check.essential() {
                ok = false;
            } else {
                degraded = true;
            }
        }
        checks.insert(
            check.name().to_owned(),
            result.err().unwrap_or_else(|| "ok".to_owned()),
        );
    }
    let status = match (ok, degraded) {
        (false, _) => "unavailable",
        (true, true) => "degraded",
        (true, false) => "ready",
    };
    let body = ReadyResponse {
        status: status.into(),
        checks,
    };
    if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
