//! Implementations of trolley-core's cache, rate-limit and notification ports.
//!
//! - [`InProcessCartCache`] and [`InProcessRateLimiter`]: the embedded single-node default.
//! - [`RedisLink`]: one pooled connection to Redis with a per-call timeout and a circuit
//!   breaker, shared by the Redis adapters, so a dead Redis costs a request at most one
//!   timeout and then nothing until it answers again.
//! - [`RedisCartCache`], [`RedisRateLimiter`], [`RedisActivationFeed`],
//!   [`RedisCartChangeBus`]: what makes several
//!   nodes behave as one. Redis only ever makes Trolley faster: every adapter falls back
//!   (to the database or an in-process bucket) when it is away.

mod activations;
mod breaker;
mod cart_changes;
mod in_process;
mod lease;
mod link;
mod pubsub;
mod rate_limit;
mod redis_cart_cache;

pub use activations::{RedisActivationFeed, spawn_activation_listener};
pub use breaker::Breaker;
pub use cart_changes::RedisCartChangeBus;
pub use in_process::InProcessCartCache;
pub use link::{RedisLink, RedisSettings, Unavailable};
pub use rate_limit::{InProcessRateLimiter, RedisRateLimiter};
pub use redis_cart_cache::RedisCartCache;
