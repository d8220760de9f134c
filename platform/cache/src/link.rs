//! One pooled link to Redis that never makes a request wait on a dead server: every call
//! has a timeout, and after a failure a [`Breaker`] refuses calls at once until a probe
//! finds Redis answering again.

use deadpool_redis::{Connection, Pool, Runtime};
use std::future::Future;
use std::time::Duration;

use crate::breaker::Breaker;

/// How to reach Redis, and how patient to be with it.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    pub url: String,
    /// Prepended to every key and channel, so deployments (and test runs) can share a
    /// server without seeing each other's data.
    pub prefix: String,
    /// The most one call (connection included) may take before it counts as a failure.
    pub timeout: Duration,
    /// How long calls are skipped after a failure before one probes again.
    pub cool_down: Duration,
    pub pool_size: usize,
}

impl RedisSettings {
    pub fn new(url: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: prefix.into(),
            timeout: Duration::from_millis(100),
            cool_down: Duration::from_secs(1),
            pool_size: 32,
        }
    }
}

/// Redis was not asked (breaker open) or did not answer in time or at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "redis unavailable: {}", self.0)
    }
}

pub struct RedisLink {
    pool: Pool,
    client: deadpool_redis::redis::Client,
    settings: RedisSettings,
    breaker: Breaker,
}

impl RedisLink {
    /// Builds the pool without connecting: a node starts (and serves from the database)
    /// while Redis is down, and uses it once it answers.
    pub fn new(settings: RedisSettings) -> Result<Self, String> {
        let mut config = deadpool_redis::Config::from_url(settings.url.clone());
        config.pool = Some(deadpool_redis::PoolConfig::new(settings.pool_size.max(1)));
        let pool = config
            .create_pool(Some(Runtime::Tokio1))
            .map_err(|e| format!("invalid Redis configuration: {e}"))?;
        let client = deadpool_redis::redis::Client::open(settings.url.as_str())
            .map_err(|e| format!("invalid Redis URL: {e}"))?;
        Ok(Self {
            pool,
            client,
            breaker: Breaker::new(settings.cool_down),
            settings,
        })
    }

    /// `prefix:rest`.
    pub fn key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.settings.prefix)
    }

    /// A client for connections the pool cannot serve (pub/sub subscriptions).
    pub fn client(&self) -> &deadpool_redis::redis::Client {
        &self.client
    }

    /// Whether calls currently go to Redis (the breaker is closed).
    pub fn is_up(&self) -> bool {
        self.breaker.is_closed()
    }

    /// Runs `op` on a pooled connection within the timeout. Refused at once while the
    /// breaker is open; a failure or timeout opens it.
    pub async fn call<T, F, Fut>(&self, op: F) -> Result<T, Unavailable>
    where
        F: FnOnce(Connection) -> Fut,
        Fut: Future<Output = Result<T, deadpool_redis::redis::RedisError>>,
    {
        if !self.breaker.allow() {
            return Err(Unavailable("circuit open".into()));
        }
        let was_closed = self.breaker.is_closed();
        let attempt = async {
            let conn = self
                .pool
                .get()
                .await
                .map_err(|e| Unavailable(e.to_string()))?;
            op(conn).await.map_err(|e| Unavailable(e.to_string()))
        };
        let result = match tokio::time::timeout(self.settings.timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(Unavailable(format!(
                "no answer within {} ms",
                self.settings.timeout.as_millis()
            ))),
        };
        match &result {
            Ok(_) => {
                if !was_closed {
                    tracing::info!("redis answers again; shared cache and limits resumed");
                }
                self.breaker.succeeded();
            }
            Err(e) => {
                if was_closed {
                    tracing::warn!(error = %e, "redis failed; serving without it until it answers");
                }
                self.breaker.failed();
            }
        }
        result
    }

    /// `PING`, for `/ready`.
    pub async fn ping(&self) -> Result<(), Unavailable> {
        self.call(|mut conn| async move {
            deadpool_redis::redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .map(drop)
        })
        .await
    }
}

#[async_trait::async_trait]
impl trolley_core::ports::HealthCheck for RedisLink {
    fn name(&self) -> &'static str {
        "redis"
    }

    /// `PING` through the breaker: while it is open this answers at once; after the
    /// cool-down it probes, which is also how an idle node notices Redis came back.
    async fn check(&self) -> Result<(), String> {
        self.ping().await.map_err(|e| e.to_string())
    }

    fn essential(&self) -> bool {
        false
    }
}
