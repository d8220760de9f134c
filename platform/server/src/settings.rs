//! Server settings, from flags or their environment variables (SPEC §10).

use clap::Args;
use std::path::PathBuf;
use trolley_api::client_addr::TrustedProxies;
use trolley_core::domain::RateLimit;

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "TROLLEY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Where the embedded database lives when no DATABASE_URL is given.
    #[arg(long, env = "TROLLEY_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// PostgreSQL (`postgres://…`) or SQLite (`sqlite://…`) URL; absent → SQLite in the data dir.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Redis URL for shared cache, rate limits and notifications; absent → in-process.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel, so deployments (or test runs) can share one
    /// Redis without seeing each other's data.
    #[arg(long, env = "TROLLEY_REDIS_PREFIX", default_value = "trolley")]
    pub redis_prefix: String,
    /// The longest one Redis call may take before the node serves without Redis (and stops
    /// asking it for a second).
    #[arg(long, env = "TROLLEY_REDIS_TIMEOUT_MS", default_value_t = 100)]
    pub redis_timeout_ms: u64,
    /// How long a cached cart may be served (the shared cache is also updated on every
    /// write; this bounds what no write announces).
    #[arg(long, env = "TROLLEY_CART_CACHE_TTL_SECS", default_value_t = 30)]
    pub cart_cache_ttl_secs: u64,
    /// Operator maximum of a tenant's storefront requests per second (tenant config can
    /// only lower it).
    #[arg(long, env = "TROLLEY_MAX_TENANT_RATE", default_value_t = 50_000)]
    pub max_tenant_rate: u32,
    /// Operator maximum of a tenant's burst.
    #[arg(long, env = "TROLLEY_MAX_TENANT_BURST", default_value_t = 100_000)]
    pub max_tenant_burst: u32,
    /// Operator maximum of one shopper's (customer, guest cart, address) requests per second.
    #[arg(long, env = "TROLLEY_MAX_SHOPPER_RATE", default_value_t = 200)]
    pub max_shopper_rate: u32,
    /// Operator maximum of one shopper's burst.
    #[arg(long, env = "TROLLEY_MAX_SHOPPER_BURST", default_value_t = 400)]
    pub max_shopper_burst: u32,
    /// Platform operator token; absent → generated and printed once.
    #[arg(long, env = "TROLLEY_OPERATOR_TOKEN", hide_env_values = true)]
    pub operator_token: Option<String>,
    /// Seed a demo tenant with a catalog and print its keys and a curl line to try.
    #[arg(long)]
    pub demo: bool,
    /// Seconds between expiry sweeps (holds, checkouts, idle carts); 0 turns the periodic
    /// sweep off (`POST /v1/platform/sweep` still runs one).
    #[arg(long, env = "TROLLEY_SWEEP_INTERVAL_SECS", default_value_t = 5)]
    pub sweep_interval_secs: u64,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "TROLLEY_WORKERS")]
    pub workers: Option<usize>,
    /// Turns on instruction fuel metering for plugin calls, with this ceiling per call (a
    /// tenant's own fuel limit can only lower it). Off by default: metering is engine-wide
    /// and costs ~12–16% per plugin call and ~45% compile time, and the wall-clock deadline
    /// already stops a runaway plugin. Turn it on to bound calls by work done rather than
    /// time, and to get `trolley_plugin_fuel_used` in `/metrics`. Running out fails the
    /// call like a missed deadline (503 `plugin_failed`).
    #[arg(long, env = "TROLLEY_PLUGIN_MAX_FUEL", value_parser = clap::value_parser!(u64).range(1..))]
    pub plugin_max_fuel: Option<u64>,
    /// Exports traces over OTLP/HTTP (JSON) to this collector base URL (`/v1/traces` is
    /// appended), e.g. `http://127.0.0.1:4318`; plain `http://` only. Unset (the default):
    /// no exporter and no cost. The standard `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_BSP_*`
    /// variables apply too.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// Proxies (CIDRs or addresses, comma-separated) whose `Forwarded` / `X-Forwarded-For`
    /// name the client: a storefront backend or load balancer calling for its shoppers.
    /// Unset: no forwarding header is believed, the peer's address is the client's.
    #[arg(long, env = "TROLLEY_TRUSTED_PROXIES", value_parser = TrustedProxies::parse)]
    pub trusted_proxies: Option<TrustedProxies>,
    /// How long a request waits for a database connection (and the pool for a new one to
    /// open) before answering 503. Default: 750 ms on PostgreSQL (an unreachable server
    /// must not hold requests for long; the driver keeps retrying refused connections until
    /// this runs out), 5000 ms on SQLite (a wait there is another writer's lock, not an
    /// outage). Once the database is found unreachable, requests are refused at once until
    /// it answers again.
    #[arg(long, env = "TROLLEY_DB_ACQUIRE_TIMEOUT_MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub db_acquire_timeout_ms: Option<u64>,
    /// Live cart streams (`GET /v1/carts/{id}/stream`) one tenant may hold open on this
    /// node; one more answers `429 too_many_streams`.
    #[arg(long, env = "TROLLEY_MAX_STREAMS_PER_TENANT", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_streams_per_tenant: u64,
    /// Seconds between heartbeats on an idle live cart stream (each also re-reads the cart,
    /// bounding how late a stream can be when change notices are lost).
    #[arg(long, env = "TROLLEY_STREAM_HEARTBEAT_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub stream_heartbeat_secs: u64,
    /// Also publishes every event to NATS JetStream (stream `TROLLEY_EVENTS`, subjects
    /// `trolley.<tenant_id>.<type>`, `Nats-Msg-Id` = event id), e.g.
    /// `nats://127.0.0.1:4222`. Unset: webhooks only.
    #[arg(long, env = "TROLLEY_NATS_URL")]
    pub nats_url: Option<String>,
    /// Allows webhook URLs on private, loopback and link-local addresses and plain `http`
    /// (development and tests; never on a shared platform).
    #[arg(long, env = "TROLLEY_WEBHOOK_ALLOW_PRIVATE", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_value = "false", default_missing_value = "true")]
    pub webhook_allow_private: bool,
    /// Milliseconds between relay rounds when the outbox is idle (a busy relay goes again at
    /// once); 0 turns the relay off on this node (`POST /v1/platform/relay` still runs one).
    #[arg(long, env = "TROLLEY_RELAY_INTERVAL_MS", default_value_t = 100)]
    pub relay_interval_ms: u64,
    /// Seconds a relay's claim on a delivery lasts: a node killed mid-delivery leaves its
    /// claims, and another node (or it, restarted) delivers them again after this.
    #[arg(long, env = "TROLLEY_RELAY_LEASE_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(10..=3600))]
    pub relay_lease_secs: u64,
}

impl Settings {
    pub fn stream_settings(&self) -> trolley_api::live::StreamSettings {
        trolley_api::live::StreamSettings {
            max_per_tenant: usize::try_from(self.max_streams_per_tenant).unwrap_or(usize::MAX),
            heartbeat: std::time::Duration::from_secs(self.stream_heartbeat_secs),
        }
    }

    /// The database to use: the explicit URL, or a SQLite file under the data dir.
    pub fn database_url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        std::fs::create_dir_all(&self.data_dir)?;
        let path = self.data_dir.join("trolley.db");
        Ok(format!("sqlite://{}?mode=rwc", path.display()))
    }

    pub fn tenant_rate_max(&self) -> RateLimit {
        RateLimit {
            per_second: self.max_tenant_rate.max(1),
            burst: self.max_tenant_burst.max(1),
        }
    }

    pub fn shopper_rate_max(&self) -> RateLimit {
        RateLimit {
            per_second: self.max_shopper_rate.max(1),
            burst: self.max_shopper_burst.max(1),
        }
    }

    /// [`Self::db_acquire_timeout_ms`], or the default for the backend of `url`.
    pub fn db_acquire_timeout(&self, url: &str) -> std::time::Duration {
        let ms = self
            .db_acquire_timeout_ms
            .unwrap_or(if url.starts_with("sqlite:") {
                5_000
            } else {
                750
            });
        std::time::Duration::from_millis(ms)
    }

    pub fn relay_settings(&self) -> trolley_core::service::RelaySettings {
        trolley_core::service::RelaySettings {
            lease: chrono::Duration::seconds(i64::try_from(self.relay_lease_secs).unwrap_or(60)),
            ..trolley_core::service::RelaySettings::default()
        }
    }

    pub fn relay_interval(&self) -> Option<std::time::Duration> {
        (self.relay_interval_ms > 0)
            .then(|| std::time::Duration::from_millis(self.relay_interval_ms))
    }

    pub fn sweep_interval(&self) -> Option<std::time::Duration> {
        (self.sweep_interval_secs > 0)
            .then(|| std::time::Duration::from_secs(self.sweep_interval_secs))
    }

    /// Settings for a server on a random local port, as tests use it.
    pub fn for_tests(database_url: String, operator_token: String, data_dir: PathBuf) -> Self {
        Self {
            listen: "127.0.0.1:0".into(),
            data_dir,
            database_url: Some(database_url),
            redis_url: None,
            redis_prefix: "trolley".into(),
            // A loaded CI machine can be slow to open the first connection.
            redis_timeout_ms: 500,
            cart_cache_ttl_secs: 30,
            max_tenant_rate: 50_000,
            max_tenant_burst: 100_000,
            // Load tests create hundreds of guest carts from one address.
            max_shopper_rate: 1_000,
            max_shopper_burst: 2_000,
            operator_token: Some(operator_token),
            demo: false,
            // Tests move a manual clock and sweep on demand.
            sweep_interval_secs: 0,
            workers: Some(2),
            plugin_max_fuel: None,
            otlp_endpoint: None,
            trusted_proxies: None,
            // Tests race hundreds of checkouts for one row on a loaded machine: the queue
            // for a connection may be long, and is not an outage.
            db_acquire_timeout_ms: Some(5_000),
            // Small, so a test reaches the bound with a few streams.
            max_streams_per_tenant: 4,
            stream_heartbeat_secs: 1,
            nats_url: None,
            // Test receivers listen on 127.0.0.1.
            webhook_allow_private: true,
            // Tests run relay rounds on demand, with a clock they move.
            relay_interval_ms: 0,
            relay_lease_secs: 60,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use crate::cli::{Cli, Command};

    fn serve(args: &[&str]) -> Result<super::Settings, clap::Error> {
        let cli = Cli::try_parse_from(["trolley", "serve"].iter().chain(args))?;
        match cli.command {
            Command::Serve(settings) => Ok(settings),
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn fuel_metering_and_trace_export_are_off_unless_asked_for() {
        let plain = serve(&[]).unwrap();
        assert_eq!(plain.plugin_max_fuel, None);
        // An outage must not hold requests on PostgreSQL; SQLite waits are lock waits.
        assert_eq!(
            plain.db_acquire_timeout("postgres://db/trolley"),
            std::time::Duration::from_millis(750)
        );
        assert_eq!(
            plain.db_acquire_timeout("sqlite://data/trolley.db"),
            std::time::Duration::from_secs(5)
        );
        let set = serve(&["--db-acquire-timeout-ms", "250"]).unwrap();
        assert_eq!(
            set.db_acquire_timeout("postgres://db/trolley"),
            std::time::Duration::from_millis(250)
        );
        assert_eq!(plain.otlp_endpoint, None);

        let asked = serve(&[
            "--plugin-max-fuel",
            "1000000000",
            "--otlp-endpoint",
            "http://127.0.0.1:4318",
        ])
        .unwrap();
        assert_eq!(asked.plugin_max_fuel, Some(1_000_000_000));
        assert_eq!(
            asked.otlp_endpoint.as_deref(),
            Some("http://127.0.0.1:4318")
        );

        assert_eq!(plain.trusted_proxies, None);
        let proxied = serve(&["--trusted-proxies", "10.0.0.0/8, 127.0.0.1"]).unwrap();
        assert!(proxied.trusted_proxies.is_some_and(|p| !p.is_empty()));
        let bad = serve(&["--trusted-proxies", "10.0.0.0/33"]).unwrap_err();
        assert!(bad.to_string().contains("10.0.0.0/33"), "{bad}");

        assert!(!plain.webhook_allow_private);
        assert!(
            serve(&["--webhook-allow-private"])
                .unwrap()
                .webhook_allow_private
        );
        assert!(
            serve(&["--webhook-allow-private", "1"])
                .unwrap()
                .webhook_allow_private
        );

        // No fuel at all would fail every plugin call: refused at startup instead.
        assert!(serve(&["--plugin-max-fuel", "0"]).is_err());
        assert!(serve(&["--plugin-max-fuel", "-5"]).is_err());
    }
}
