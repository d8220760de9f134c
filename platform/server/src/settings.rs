//! Server settings, from flags or their environment variables (SPEC §10).

use clap::Args;
use std::path::PathBuf;

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
}

impl Settings {
    /// The database to use: the explicit URL, or a SQLite file under the data dir.
    pub fn database_url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        std::fs::create_dir_all(&self.data_dir)?;
        let path = self.data_dir.join("trolley.db");
        Ok(format!("sqlite://{}?mode=rwc", path.display()))
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
            operator_token: Some(operator_token),
            demo: false,
            // Tests move a manual clock and sweep on demand.
            sweep_interval_secs: 0,
            workers: Some(2),
        }
    }
}
