//! What every handler can reach: the use cases and the few ports the HTTP layer uses itself.

use std::sync::Arc;

use crate::client_addr::TrustedProxies;
use crate::cors::KnownOrigins;
use crate::idempotency::InFlightKeys;
use crate::known_routes::KnownRoutes;
use crate::live::{OpenStreams, StreamSettings};
use crate::outage::DatabaseGate;
use crate::rate_limit::RateLimits;
use trolley_core::ports::{Clock, HealthCheck, IdempotencyStore};
use trolley_core::service::{
    AdminLists, CartService, CartWatchers, CatalogService, CheckoutService, InventoryService,
    PluginService, PluginTrial, Relay, RunRecorder, ShopCatalog, SweepService, TenantService,
    WebhookService,
};
use trolley_metrics::PrometheusMetrics;

pub struct AppState {
    pub tenants: TenantService,
    pub catalog: CatalogService,
    pub carts: CartService,
    pub plugins: PluginService,
    pub inventory: InventoryService,
    pub checkouts: CheckoutService,
    /// Expiry and retention (`POST /v1/platform/sweep`).
    pub sweeper: SweepService,
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Idempotency keys whose requests are running on this node.
    pub in_flight: InFlightKeys,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` give the client's address.
    pub trusted_proxies: TrustedProxies,
    pub clock: Arc<dyn Clock>,
    /// Closed while the database is unreachable: requests are refused at once.
    pub database_gate: Arc<DatabaseGate>,
    /// Checked by `/ready`.
    pub health_checks: Vec<Arc<dyn HealthCheck>>,
    /// What `/metrics` renders; the telemetry middleware records request latency in it.
    pub metrics: Arc<PrometheusMetrics>,
    /// Storefront request limits (tenant and shopper buckets).
    pub rate_limits: RateLimits,
    /// SHA-256 of the platform operator's token.
    pub operator_token_hash: String,
    /// The storefront's read-only catalog.
    pub shop: ShopCatalog,
    /// The carts live streams watch on this node, woken by changes from every node.
    pub watchers: Arc<CartWatchers>,
    /// Open live streams per tenant on this node.
    pub streams: Arc<OpenStreams>,
    pub stream_settings: StreamSettings,
    /// Origins some tenant allows (CORS preflights).
    pub known_origins: KnownOrigins,
    /// Paths and their methods (`405` with `Allow`).
    pub routes: KnownRoutes,
    /// Tenants' webhook endpoints.
    pub webhooks: WebhookService,
    /// The outbox relay (`POST /v1/platform/relay` runs a round on demand).
    pub relay: Relay,
    /// Plugin run records.
    pub plugin_runs: Arc<RunRecorder>,
    /// Dry runs, and activations checked on recent carts.
    pub plugin_trial: Arc<PluginTrial>,
    /// The tenant admin's lists and the console's overview counts.
    pub lists: AdminLists,
}
