//! The idempotency seam: what each `Idempotency-Key` is bound to and the answer it got.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{Receipt, Replay};
use crate::error::StoreError;

/// The response remembered for an idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: String,
    pub etag: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// What an idempotency key is bound to when a request arrives with it.
#[derive(Debug, Clone, PartialEq)]
pub enum IdempotencyLookup {
    /// Never used (or purged): run the request.
    Unused,
    /// A request with this key is running right now (an in-progress claim of an older
    /// node that has not gone stale).
    InProgress,
    /// The key was used for a different request.
    Mismatch,
    /// The first request finished: replay its response.
    Completed(StoredResponse),
    /// The first request's change committed but its answer was never stored (its node died
    /// in between): re-render the answer from what the change left.
    Committed(Replay),
}

/// `Idempotency-Key` records. The change and its record are written by one transaction
/// (the repositories take a [`Seal`]); [`IdempotencyStore::complete`] then stores the
/// answer, or records one for a request that changed nothing.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// What `key` in `scope` is bound to, for a request with this fingerprint. An old
    /// node's in-progress claim untouched for `stale_after` is forgotten.
    async fn lookup(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        stale_after: chrono::Duration,
    ) -> Result<IdempotencyLookup, StoreError>;
    /// Stores the answer for `key`: fills in a record its change committed, or records a
    /// request that committed nothing. When another request with the key got there first,
    /// nothing changes and that request's stored answer is returned, so every caller of
    /// one key is told the same thing.
    async fn complete(
        &self,
        receipt: &Receipt,
        response: &StoredResponse,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredResponse>, StoreError>;
    /// Deletes up to `limit` records created before `before`; how many it deleted.
    async fn purge(&self, before: DateTime<Utc>, limit: u64) -> Result<u64, StoreError>;
}
