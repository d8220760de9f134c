//! Fast answers while the database is down. Without this, every request during an outage
//! waits out the pool's acquire timeout (the driver keeps retrying refused connections)
//! before failing: seconds per request, and a queue of stuck workers.
//!
//! The first request that finds the database unreachable closes the gate. While it is
//! closed, `/v1` requests are answered at once with `503 database_unavailable` and
//! `Retry-After`, and one background probe asks the database every
//! [`PROBE_EVERY`] whether it is back; the first answer opens the gate again. Nothing is
//! decided in memory that the database must decide: a closed gate only refuses to start
//! work, and the pool reconnects by itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};
use trolley_core::ports::HealthCheck;

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// How often the probe asks a database that was unreachable.
pub const PROBE_EVERY: Duration = Duration::from_millis(250);
/// How long one probe may take before it counts as "still down".
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

pub struct DatabaseGate {
    closed: AtomicBool,
    probe: Arc<dyn HealthCheck>,
}

impl std::fmt::Debug for DatabaseGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseGate")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl DatabaseGate {
    /// `probe` answers whether the database is reachable (a `SELECT 1`).
    pub fn new(probe: Arc<dyn HealthCheck>) -> Arc<Self> {
        Arc::new(Self {
            closed: AtomicBool::new(false),
            probe,
        })
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The database was found unreachable: refuse new work until the probe reaches it.
    pub fn close(self: &Arc<Self>) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return; // Already closed: its probe is running.
        }
        tracing::error!("database unreachable: answering 503 until it is back");
        let gate = self.clone();
        actix_web::rt::spawn(async move {
            loop {
                actix_web::rt::time::sleep(PROBE_EVERY).await;
                let answer = actix_web::rt::time::timeout(PROBE_TIMEOUT, gate.probe.check()).await;
                if let Ok(Ok(())) = answer {
                    gate.closed.store(false, Ordering::Release);
                    tracing::info!("database reachable again");
                    return;
                }
            }
        });
    }
}

pub fn unavailable() -> ApiError {
    ApiError::new(
        Code::DatabaseUnavailable,
        "the database cannot be reached; retry shortly (with the same Idempotency-Key a retry never applies a change twice)",
    )
    .with("retry_after_seconds", 1)
}

/// The gate as middleware around `/v1`.
pub async fn database_gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(gate) = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.database_gate.clone())
    else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    if gate.is_closed() {
        return Ok(req.into_response(unavailable().error_response()));
    }
    let res = next.call(req).await?;
    let unreachable = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .is_some_and(|e| e.code == Code::DatabaseUnavailable);
    if unreachable {
        gate.close();
    }
    Ok(res.map_into_boxed_body())
}
