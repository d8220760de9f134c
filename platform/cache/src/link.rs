//! One link to Redis that never makes a request wait on a dead server: every call has a
//! timeout, and after a failure a [`Breaker`] refuses calls at once until a probe finds
//! Redis answering again.
//!
//! Connections come from a deadpool-redis pool, and each worker thread takes one the first
//! time it calls and keeps it: a multiplexed connection pipelines every call of the thread's
//! requests, and its reader task runs on that thread's runtime, so a worker reads its answers
//! itself instead of waiting for another worker to be scheduled. deadpool-redis's own
//! recycle check sends `UNWATCH` + `PING` before handing out a connection, one extra round
//! trip per checkout (two per cached cart read, BENCHMARKS.md); [`Opener`] keeps its
//! `create` and recycles without a round trip, and a connection that failed is detached from
//! the pool (never handed out again) rather than checked on every use.

use deadpool::managed::{self, Object, Pool, RecycleResult};
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

/// More connections than threads that ever call Redis (actix workers and the runtime's
/// threads), so taking one never waits for another thread to give one back.
const MAX_CONNECTIONS: usize = 256;

/// deadpool-redis's manager for opening connections, recycling without a round trip.
struct Opener(deadpool_redis::Manager);

impl managed::Manager for Opener {
    type Type = MultiplexedConnection;
    type Error = redis::RedisError;

    async fn create(&self) -> Result<MultiplexedConnection, redis::RedisError> {
        managed::Manager::create(&self.0).await
    }

    /// A connection goes back to the pool only while it works: one that failed was taken
    /// out of it ([`Object::take`]) when the failure was seen.
    async fn recycle(
        &self,
        _: &mut MultiplexedConnection,
        _: &managed::Metrics,
    ) -> RecycleResult<redis::RedisError> {
        Ok(())
    }
}

pub struct RedisLink {
    client: redis::Client,
    pool: Pool<Opener>,
    /// The connection each worker thread took from the pool.
    connections: Mutex<HashMap<ThreadId, Object<Opener>>>,
    settings: RedisSettings,
    breaker: Breaker,
}

impl RedisLink {
    /// Checks the URL without connecting: a node starts (and serves from the database)
    /// while Redis is down, and uses it once it answers.
    pub fn new(settings: RedisSettings) -> Result<Self, String> {
        let client = redis::Client::open(settings.url.as_str())
            .map_err(|e| format!("invalid Redis URL: {e}"))?;
        let opener = deadpool_redis::Manager::new(settings.url.as_str())
            .map_err(|e| format!("invalid Redis URL: {e}"))?;
        let pool = Pool::builder(Opener(opener))
            .max_size(MAX_CONNECTIONS)
            .build()
            .map_err(|e| format!("cannot build the Redis pool: {e}"))?;
        Ok(Self {
            client,
            pool,
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
                self.detach_all();
                self.breaker.failed();
            }
        }
        result
    }

    /// This thread's connection, taken from the pool (within the timeout) on first use.
    async fn connection(&self) -> Result<MultiplexedConnection, Unavailable> {
        let thread = std::thread::current().id();
        if let Some(conn) = self
            .connections
            .lock()
            .ok()
            .and_then(|connections| connections.get(&thread).map(|conn| (**conn).clone()))
        {
            return Ok(conn);
        }
        let taken = tokio::time::timeout(self.settings.timeout, self.pool.get()).await;
        let object = match taken {
            Ok(Ok(object)) => object,
            Ok(Err(e)) => return Err(Unavailable(e.to_string())),
            Err(_) => {
                return Err(Unavailable(format!(
                    "no connection within {} ms",
                    self.settings.timeout.as_millis()
                )));
            }
        };
        let conn = (*object).clone();
        if let Ok(mut connections) = self.connections.lock()
            && let Some(replaced) = connections.insert(thread, object)
        {
            // Another call on this thread took one meanwhile; keep one per thread.
            drop(Object::take(replaced));
        }
        Ok(conn)
    }

    /// After a failure every connection is suspect: they leave the pool for good, and the
    /// next calls (after the breaker's cool-down) open fresh ones.
    fn detach_all(&self) {
        let taken: Vec<_> = match self.connections.lock() {
            Ok(mut connections) => connections.drain().map(|(_, object)| object).collect(),
            Err(_) => return,
        };
        for object in taken {
            drop(Object::take(object));
        }
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
