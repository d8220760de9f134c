//! Wiring: adapters → use cases → HTTP server.

use actix_web::dev::Server;
use actix_web::middleware::{Condition, DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use std::net::TcpListener;
use std::sync::Arc;

use trolley_api::AppState;
use trolley_api::cors::KnownOrigins;
use trolley_api::idempotency::InFlightKeys;
use trolley_api::known_routes::KnownRoutes;
use trolley_api::live::OpenStreams;
use trolley_api::outage::DatabaseGate;
use trolley_api::rate_limit::RateLimits;
use trolley_cache::{
    InProcessCartCache, InProcessRateLimiter, RedisActivationFeed, RedisCartCache,
    RedisCartChangeBus, RedisLink, RedisRateLimiter, RedisSettings, spawn_activation_listener,
};
use trolley_core::domain::secret;
use trolley_core::domain::{PluginCart, PluginLimits};
use trolley_core::ports::{
    ActivationNotifier, CartCache, CartChangeBus, Clock, HealthCheck, Metrics, NoNotifier,
    PluginRuntime as _, RateLimiter, SystemClock,
};
use trolley_core::service::{
    AdminLists, CartService, CartWatchers, CatalogService, CheckoutService, ConsoleSessions,
    InventoryService, OrderTypeJudge, PluginService, PluginTrial, RecentInputs, Relay, RunRecorder,
    ShopCatalog, SweepService, TenantService, WebhookService,
};
use trolley_metrics::PrometheusMetrics;
use trolley_plugin_host::{SandboxPolicy, WasmRuntime};
use trolley_store::{
    Database, DatabaseHealth, DatabaseOptions, SqlAdminListRepository, SqlCartRepository,
    SqlCatalogRepository, SqlCheckoutRepository, SqlConsoleSessionRepository, SqlIdempotencyStore,
    SqlInventoryRepository, SqlOutboxRelay, SqlPluginRepository, SqlPluginRunRepository,
    SqlRetentionRepository, SqlTenantRepository, SqlWebhookRepository,
};

use crate::settings::Settings;

/// The use cases wired to their adapters, for the server, the CLI and the demo seeder.
#[derive(Clone)]
pub struct Services {
    pub tenants: TenantService,
    pub catalog: CatalogService,
    pub carts: CartService,
    pub plugins: PluginService,
    pub inventory: InventoryService,
    pub checkouts: CheckoutService,
    /// The storefront's read-only catalog.
    pub shop: ShopCatalog,
    /// Expiry and retention, run periodically on every node and by the operator's
    /// `POST /v1/platform/sweep`.
    pub sweeper: SweepService,
    pub runtime: Arc<WasmRuntime>,
    /// Every metric of this process; `/metrics` renders it.
    pub metrics: Arc<PrometheusMetrics>,
    /// What nodes share through Redis, or its in-process stand-ins.
    pub shared: SharedState,
    pub idempotency: Arc<SqlIdempotencyStore>,
    pub clock: Arc<dyn Clock>,
    pub database: Database,
    /// Tenants' webhook endpoints.
    pub webhooks: WebhookService,
    /// Takes committed events from the outbox to webhooks (and JetStream).
    pub relay: Relay,
    /// Run records of plugin calls.
    pub plugin_runs: Arc<RunRecorder>,
    /// Dry runs and checked activations.
    pub plugin_trial: Arc<PluginTrial>,
    /// The tenant admin's lists and the console's overview counts.
    pub lists: AdminLists,
}

impl Services {
    /// Connects to the database, migrates it and wires the use cases.
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        Self::connect_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// [`Self::connect`] with a given clock (tests move a manual one).
    pub async fn connect_with_clock(
        settings: &Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let url = settings.database_url()?;
        let options = DatabaseOptions {
            acquire_timeout: settings.db_acquire_timeout(&url),
            ..DatabaseOptions::default()
        };
        let database = Database::connect_with(&url, options)
            .await
            .with_context(|| format!("connecting to the database at {}", redact(&url)))?;
        database.migrate().await.context("running migrations")?;
        let metrics = Arc::new(PrometheusMetrics::new());
        let conn = database.connection().clone();
        let shared = SharedState::connect(settings, metrics.clone())?;
        let tenants = Arc::new(SqlTenantRepository::new(conn.clone()));
        let catalog = Arc::new(SqlCatalogRepository::new(conn.clone()));
        let carts = Arc::new(SqlCartRepository::new(conn.clone()));
        let inventory = Arc::new(SqlInventoryRepository::new(conn.clone()));
        let shop = ShopCatalog::new(catalog.clone(), inventory.clone());
        let checkouts = Arc::new(SqlCheckoutRepository::new(conn.clone()));
        let plugin_repo = Arc::new(SqlPluginRepository::new(conn.clone()));
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating {}", settings.data_dir.display()))?;
        let runtime = Arc::new(
            WasmRuntime::new(SandboxPolicy {
                // Precompiled plugin artifacts survive restarts here.
                cache_dir: Some(settings.data_dir.join("plugin-cache")),
                max_fuel: settings.plugin_max_fuel,
                ..SandboxPolicy::default()
            })
            .context("starting the plugin runtime")?,
        );
        let plugin_runs = Arc::new(RunRecorder::new(
            Arc::new(SqlPluginRunRepository::new(conn.clone())),
            clock.clone(),
        ));
        let judge = Arc::new(
            OrderTypeJudge::new(
                plugin_repo.clone(),
                runtime.clone(),
                clock.clone(),
                PluginLimits::default(),
            )
            .with_notifier(shared.notifier.clone())
            .with_metrics(metrics.clone())
            .with_runs(plugin_runs.clone()),
        );
        if let Some(feed) = &shared.activation_feed {
            let (on_notice, on_subscribed) = (judge.clone(), judge.clone());
            spawn_activation_listener(
                feed,
                move |tenant, order_type| on_notice.forget(tenant, order_type),
                move || on_subscribed.forget_all(),
            );
        }
        // One per node, shared by the services that change catalog and stock, so a change
        // made here shows on this node's next read.
        let recent = Arc::new(RecentInputs::new(clock.clone()));
        let cart_service = CartService::new(
            carts.clone(),
            catalog.clone(),
            inventory.clone(),
            shared.cart_cache.clone(),
            judge.clone(),
            clock.clone(),
            recent.clone(),
        )
        .with_metrics(metrics.clone())
        .with_changes(shared.changes.clone());
        let checkout_service = CheckoutService::new(
            cart_service.clone(),
            carts,
            checkouts,
            shared.cart_cache.clone(),
            clock.clone(),
            recent.clone(),
        )
        .with_metrics(metrics.clone());
        let idempotency = Arc::new(SqlIdempotencyStore::new(conn.clone()));
        let sweeper = SweepService::new(
            checkout_service.clone(),
            tenants.clone(),
            Arc::new(SqlRetentionRepository::new(conn)),
            idempotency.clone(),
            shared.cart_cache.clone(),
            clock.clone(),
        )
        .with_metrics(metrics.clone());
        let sender = Arc::new(
            trolley_events::HttpWebhookSender::new(settings.webhook_allow_private)
                .map_err(anyhow::Error::msg)
                .context("starting the webhook client")?,
        );
        let webhooks = WebhookService::new(
            Arc::new(SqlWebhookRepository::new(database.connection().clone())),
            sender.clone(),
            clock.clone(),
            settings.webhook_allow_private,
        );
        let mut relay = Relay::new(
            Arc::new(SqlOutboxRelay::new(database.connection().clone())),
            sender,
            tenants.clone(),
            clock.clone(),
            settings.relay_settings(),
        )
        .with_metrics(metrics.clone());
        if let Some(url) = &settings.nats_url {
            let publisher = trolley_events::JetStreamPublisher::connect(url, EVENT_STREAM)
                .await
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("connecting to NATS JetStream at {}", redact(url)))?;
            tracing::info!(nats = %redact(url), stream = EVENT_STREAM, "events also published to JetStream");
            relay = relay.with_publisher(Arc::new(publisher));
        }
        let plugins =
            PluginService::new(plugin_repo, runtime.clone(), judge.clone(), clock.clone());
        let plugin_trial = Arc::new(PluginTrial::new(
            cart_service.clone(),
            plugins.clone(),
            judge,
            plugin_runs.clone(),
        ));
        let lists = AdminLists::new(
            Arc::new(SqlAdminListRepository::new(database.connection().clone())),
            cart_service.clone(),
        );
        Ok(Self {
            lists,
            webhooks,
            relay,
            plugin_runs,
            plugin_trial,
            tenants: TenantService::new(tenants, clock.clone()),
            catalog: CatalogService::new(catalog, clock.clone(), recent.clone()),
            checkouts: checkout_service,
            shop,
            sweeper,
            carts: cart_service,
            inventory: InventoryService::new(inventory, clock.clone(), recent),
            plugins,
            runtime,
            shared,
            metrics,
            idempotency,
            clock,
            database,
        })
    }
}

/// The JetStream stream events are published to.
pub const EVENT_STREAM: &str = trolley_events::DEFAULT_STREAM;

/// The cart cache, rate limiter and activation notices: through Redis when `REDIS_URL` is
/// set (many nodes act as one), in process otherwise (the embedded single node).
#[derive(Clone)]
pub struct SharedState {
    pub redis: Option<Arc<RedisLink>>,
    pub cart_cache: Arc<dyn CartCache>,
    pub rate_limiter: Arc<dyn RateLimiter>,
    pub notifier: Arc<dyn ActivationNotifier>,
    activation_feed: Option<Arc<RedisActivationFeed>>,
    /// This node's live cart streams, woken by changes made on any node.
    pub watchers: Arc<CartWatchers>,
    /// Where committed cart changes are announced.
    pub changes: Arc<dyn CartChangeBus>,
}

impl SharedState {
    /// Never connects: a node starts while Redis is down and uses it once it answers.
    fn connect(settings: &Settings, metrics: Arc<dyn Metrics>) -> anyhow::Result<Self> {
        let ttl = std::time::Duration::from_secs(settings.cart_cache_ttl_secs.max(1));
        let watchers = CartWatchers::new();
        let Some(url) = &settings.redis_url else {
            return Ok(Self {
                redis: None,
                cart_cache: Arc::new(InProcessCartCache::new(100_000, ttl).with_metrics(metrics)),
                rate_limiter: Arc::new(InProcessRateLimiter::default()),
                notifier: Arc::new(NoNotifier),
                activation_feed: None,
                changes: watchers.clone(),
                watchers,
            });
        };
        let mut redis = RedisSettings::new(url.clone(), settings.redis_prefix.clone());
        redis.timeout = std::time::Duration::from_millis(settings.redis_timeout_ms.max(1));
        let link = Arc::new(
            RedisLink::new(redis)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("configuring Redis at {}", redact(url)))?,
        );
        let feed = Arc::new(RedisActivationFeed::new(link.clone()));
        tracing::info!(redis = %redact(url), "shared cache, rate limits and activation notices through Redis");
        Ok(Self {
            cart_cache: Arc::new(RedisCartCache::new(link.clone(), ttl, metrics)),
            rate_limiter: Arc::new(RedisRateLimiter::new(link.clone())),
            notifier: feed.clone(),
            activation_feed: Some(feed),
            changes: Arc::new(RedisCartChangeBus::start(link.clone(), watchers.clone())),
            watchers,
            redis: Some(link),
        })
    }
}

/// Hides the password of a database URL in logs and errors.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A bound, ready-to-run server.
pub struct Application {
    server: Server,
    port: u16,
    pub operator_token: String,
    /// Whether the operator token was generated by this run (no `--operator-token`).
    pub operator_token_generated: bool,
    pub services: Services,
    demo: trolley_console::DemoSlot,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// [`Self::build`] with a given clock (tests move a manual one).
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let services = Services::connect_with_clock(&settings, clock).await?;
        let (operator_token, operator_token_generated) = match &settings.operator_token {
            Some(token) if !token.is_empty() => (token.clone(), false),
            _ => {
                let token = secret::generate("top_");
                // `--demo` prints it in its banner.
                if !settings.demo {
                    println!("Generated operator token (shown once): {token}");
                }
                (token, true)
            }
        };
        let listener = TcpListener::bind(&settings.listen)
            .with_context(|| format!("binding {}", settings.listen))?;
        let port = listener.local_addr()?.port();

        // Admitted (compiled or read from the artifact cache) in the background, so the
        // first `/ready` finds it warm.
        let plugin_health = Arc::new(PluginRuntimeHealth::new(services.runtime.clone()));
        let warming = plugin_health.clone();
        tokio::spawn(async move {
            if let Err(e) = warming.probe_sha256().await {
                tracing::error!(error = %e, "the plugin runtime cannot load its probe");
            }
        });
        let mut health: Vec<Arc<dyn HealthCheck>> = vec![
            Arc::new(DatabaseHealth::new(services.database.connection().clone())),
            plugin_health,
        ];
        if let Some(redis) = &services.shared.redis {
            health.push(redis.clone());
        }
        let api = trolley_api::openapi();
        let state = web::Data::new(AppState {
            tenants: services.tenants.clone(),
            catalog: services.catalog.clone(),
            carts: services.carts.clone(),
            plugins: services.plugins.clone(),
            inventory: services.inventory.clone(),
            checkouts: services.checkouts.clone(),
            sweeper: services.sweeper.clone(),
            idempotency: services.idempotency.clone(),
            in_flight: InFlightKeys::default(),
            trusted_proxies: settings.trusted_proxies.clone().unwrap_or_default(),
            database_gate: DatabaseGate::new(Arc::new(DatabaseHealth::new(
                services.database.connection().clone(),
            ))),
            clock: services.clock.clone(),
            health_checks: health,
            metrics: services.metrics.clone(),
            rate_limits: RateLimits::new(
                services.shared.rate_limiter.clone(),
                settings.tenant_rate_max(),
                settings.shopper_rate_max(),
                services.metrics.clone(),
            ),
            operator_token_hash: secret::hash(&operator_token),
            shop: services.shop.clone(),
            watchers: services.shared.watchers.clone(),
            streams: OpenStreams::new(),
            stream_settings: settings.stream_settings(),
            known_origins: KnownOrigins::new(services.tenants.clone()),
            routes: KnownRoutes::from_openapi(&api),
            webhooks: services.webhooks.clone(),
            relay: services.relay.clone(),
            plugin_runs: services.plugin_runs.clone(),
            plugin_trial: services.plugin_trial.clone(),
            lists: services.lists.clone(),
        });
        let demo = trolley_console::DemoSlot::default();
        let console = web::Data::new(trolley_console::ConsoleState {
            sessions: ConsoleSessions::new(
                Arc::new(SqlConsoleSessionRepository::new(
                    services.database.connection().clone(),
                )),
                services.tenants.clone(),
                services.clock.clone(),
                state.operator_token_hash.clone(),
            ),
            demo: demo.clone(),
        });
        let link_traces = settings.otlp_endpoint.is_some();
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(trolley_api::problem_json_errors())
                .wrap(security_headers())
                // Outermost but for the trace link: it sees the final response
                // (problem+json rewrites included) and turns errors that escaped the inner
                // layers into responses, so every answer is counted and carries its
                // X-Request-Id.
                .wrap(from_fn(trolley_api::telemetry::observe))
                // Around it, only while traces are exported: the caller's traceparent
                // becomes the parent of the request span `observe` opens.
                .wrap(Condition::new(
                    link_traces,
                    from_fn(crate::telemetry::remote_parent),
                ))
                .configure(trolley_console::configure(console.clone()))
                .configure(trolley_api::configure(state.clone(), api.clone()))
                .default_service(web::to(trolley_api::not_found))
        })
        // Longer than any client's pool idle time, so a client never reuses a connection the
        // server is closing (the classic keep-alive race that surfaces as a reset request).
        .keep_alive(std::time::Duration::from_secs(75))
        .listen(listener)?;
        if let Some(workers) = settings.workers {
            server = server.workers(workers.max(1));
        }
        if let Some(every) = settings.sweep_interval() {
            spawn_sweeper(services.sweeper.clone(), every);
        }
        if let Some(idle) = settings.relay_interval() {
            crate::relay::spawn_relay(services.relay.clone(), idle);
        }
        tracing::info!(port, "listening");
        Ok(Self {
            server: server.run(),
            port,
            operator_token,
            operator_token_generated,
            services,
            demo,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where `--demo` leaves its tenant for the demo storefront and the one-click sign-in.
    pub fn demo_slot(&self) -> trolley_console::DemoSlot {
        self.demo.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// A handle to stop the server (tests, embedding).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

/// Sweeps on every node (see [`SweepService`]): each step is a conditional update or a
/// delete of rows this node locked, so concurrent sweeps never release or count anything
/// twice.
fn spawn_sweeper(sweeper: SweepService, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // The sweep logs what it did and each failing step; the next tick retries.
            if let Err(e) = sweeper.sweep().await {
                tracing::debug!(error = %e, "sweep failed; retrying next tick");
            }
        }
    });
}

/// `/ready`'s view of the plugin runtime, for real: one evaluation of a bundled order type on
/// an empty cart, through the same engine, pool and sandbox as tenants' calls. An engine that
/// cannot instantiate (memory for instances exhausted, a wedged call pool) shows here.
struct PluginRuntimeHealth {
    runtime: Arc<WasmRuntime>,
    /// The probe module's content address, once the runtime has admitted it.
    probe: std::sync::OnceLock<String>,
}

impl PluginRuntimeHealth {
    /// The smallest bundled order type.
    const PROBE: &'static [u8] = crate::demo::BUNDLED_PLUGINS[0].1;

    fn new(runtime: Arc<WasmRuntime>) -> Self {
        Self {
            runtime,
            probe: std::sync::OnceLock::new(),
        }
    }

    async fn probe_sha256(&self) -> Result<String, String> {
        if let Some(sha) = self.probe.get() {
            return Ok(sha.clone());
        }
        let inspected = self
            .runtime
            .inspect(Self::PROBE)
            .await
            .map_err(|e| format!("the probe module does not load: {e}"))?;
        Ok(self.probe.get_or_init(|| inspected.sha256).clone())
    }
}

#[async_trait::async_trait]
impl HealthCheck for PluginRuntimeHealth {
    fn name(&self) -> &'static str {
        "plugin_runtime"
    }

    async fn check(&self) -> Result<(), String> {
        let sha256 = self.probe_sha256().await?;
        let cart = PluginCart {
            cart_id: "ready-probe".into(),
            currency: "USD".into(),
            subtotal: rust_decimal::Decimal::ZERO,
            lines: Vec::new(),
            context: Default::default(),
        };
        self.runtime
            .evaluate(
                &sha256,
                &cart,
                &serde_json::json!({}),
                &PluginLimits::default(),
            )
            .await
            .map(|_| ())
            .map_err(|e| format!("a probe evaluation failed: {e}"))
    }
}

/// Security headers on every response. The API serves JSON only, so nothing may frame,
/// sniff or cache it; `/docs` needs its own scripts and styles, which `'self'` allows.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("Cache-Control", "no-store"))
        .add((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        ))
        .add(("Strict-Transport-Security", "max-age=31536000"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_logs() {
        assert_eq!(
            redact("postgres://u:secret@db:5432/x"),
            "postgres://u:***@db:5432/x"
        );
        assert_eq!(redact("sqlite://./data/t.db"), "sqlite://./data/t.db");
    }
}
