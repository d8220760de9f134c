//! The health seam: readiness of the services a node leans on.

use async_trait::async_trait;

/// Readiness of a backing service, for `/ready`.
#[async_trait]
pub trait HealthCheck: Send + Sync {
    fn name(&self) -> &'static str;
    async fn check(&self) -> Result<(), String>;

    /// Whether the node cannot serve without it. A failing non-essential service (the
    /// shared cache) makes the node `degraded`, still ready; an essential one, unavailable.
    fn essential(&self) -> bool {
        true
    }
}
