//! Liveness and readiness.

use actix_web::{HttpResponse, get, web};
use futures_util::future::join_all;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::state::AppState;

/// The longest one readiness check may take.
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(800);

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
    // Every check at once, each within its own bound: a service that hangs makes the node
    // not ready, it does not make `/ready` hang.
    let gate = &state.database_gate;
    let results = join_all(state.health_checks.iter().map(|check| async move {
        let result = if check.name() == "database" && gate.is_closed() {
            Err("unreachable: requests are refused until a probe reaches it".to_owned())
        } else {
            match actix_web::rt::time::timeout(CHECK_TIMEOUT, check.check()).await {
                Ok(result) => result,
                Err(_) => Err(format!("no answer within {} ms", CHECK_TIMEOUT.as_millis())),
            }
        };
        (check, result)
    }))
    .await;
    let mut checks = BTreeMap::new();
    let (mut ok, mut degraded) = (true, false);
    for (check, result) in results {
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
