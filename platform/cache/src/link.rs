//! One link to Redis that never makes a request wait on a dead server: every call has a
//! timeout, and after a failure a [`Breaker`] refuses calls at once until a probe finds
//! Redis answering again.
//!
//! Each worker thread keeps one multiplexed connection and pipelines all its calls on it.
//! We used deadpool-redis's pool before: its recycle check sends `UNWATCH` + `PING` before
//! handing out a connection, one extra round trip per call (two per cached cart read), and
//! its wait for a free connection counted against the call's timeout, so a busy node
//! tripped its own breaker (BENCHMARKS.md). A multiplexed connection needs neither: it is
//! shared by every request on the thread, and it is only replaced after a failure.

use redis::aio::MultiplexedConnection;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::Duration;

use crate::breaker::Breaker;

/// How to reach Redis, and how patient to be with it.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    pub url: String,
    /// Prepended to every key and channel, so deployments (and test runs) can share a
    /// server without seeing each other's data.
    pub prefix: String,
    /// The most one command (or opening a connection) may take before it counts as a
    /// failure.
    pub timeout: Duration,
    /// How long calls are skipped after a failure before one probes again.
    pub cool_down: Duration,
}

impl RedisSettings {
    pub fn new(url: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: prefix.into(),
            timeout: Duration::from_millis(100),
            cool_down: Duration::from_secs(1),
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
    client: redis::Client,
    /// One connection per worker thread that has called, so a worker reads its answers
    /// itself instead of waiting for another worker to be scheduled.
    connections: Mutex<HashMap<ThreadId, MultiplexedConnection>>,
    settings: RedisSettings,
    breaker: Breaker,
}

impl RedisLink {
    /// Checks the URL without connecting: a node starts (and serves from the database)
    /// while Redis is down, and uses it once it answers.
    pub fn new(settings: RedisSettings) -> Result<Self, String> {
        let client = redis::Client::open(settings.url.as_str())
            .map_err(|e| format!("invalid Redis URL: {e}"))?;
        Ok(Self {
            client,
            connections: Mutex::new(HashMap::new()),
            breaker: Breaker::new(settings.cool_down),
            settings,
        })
    }

    /// `prefix:rest`.
    pub fn key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.settings.prefix)
    }

    /// A client for dedicated connections (pub/sub subscriptions).
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// Whether calls currently go to Redis (the breaker is closed).
    pub fn is_up(&self) -> bool {
        self.breaker.is_closed()
    }

    /// Runs `op` on this thread's connection within the timeout. Refused at once while the
    /// breaker is open; a failure or timeout opens it and drops every connection, so the
    /// probe after the cool-down and the calls after it start on fresh ones.
    pub async fn call<T, F, Fut>(&self, op: F) -> Result<T, Unavailable>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = Result<T, redis::RedisError>>,
    {
        if !self.breaker.allow() {
            return Err(Unavailable("circuit open".into()));
        }
        let was_closed = self.breaker.is_closed();
        let result = match self.connection().await {
            Ok(conn) => self.within_timeout(op(conn)).await,
            Err(e) => Err(e),
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
                if let Ok(mut connections) = self.connections.lock() {
                    connections.clear();
                }
                self.breaker.failed();
            }
        }
        result
    }

    /// This thread's connection, opened (within the timeout) on first use.
    async fn connection(&self) -> Result<MultiplexedConnection, Unavailable> {
        let thread = std::thread::current().id();
        if let Some(conn) = self
            .connections
            .lock()
            .ok()
            .and_then(|connections| connections.get(&thread).cloned())
        {
            return Ok(conn);
        }
        let conn = self
            .within_timeout(self.client.get_multiplexed_async_connection())
            .await?;
        if let Ok(mut connections) = self.connections.lock() {
            connections.insert(thread, conn.clone());
        }
        Ok(conn)
    }

    async fn within_timeout<T>(
        &self,
        fut: impl Future<Output = Result<T, redis::RedisError>>,
    ) -> Result<T, Unavailable> {
        match tokio::time::timeout(self.settings.timeout, fut).await {
            Ok(result) => result.map_err(|e| Unavailable(e.to_string())),
            Err(_) => Err(Unavailable(format!(
                "no answer within {} ms",
                self.settings.timeout.as_millis()
            ))),
        }
    }

    /// `PING`, for `/ready`.
    pub async fn ping(&self) -> Result<(), Unavailable> {
        self.call(|mut conn| async move {
            redis::cmd("PING")
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
