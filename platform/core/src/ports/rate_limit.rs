//! The rate-limit seam: token buckets shared by every node.

use async_trait::async_trait;

use crate::domain::{RateDecision, RateLimit};

/// Shared token buckets. `take` never fails: an adapter whose backing store is away falls
/// back to a bucket of its own (per node) rather than refusing or waving traffic through.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Takes one token from every bucket in `buckets` (key, shape) together: allowed only
    /// if each has one, and then each loses one.
    async fn take(&self, buckets: &[(String, RateLimit)]) -> RateDecision;
}
