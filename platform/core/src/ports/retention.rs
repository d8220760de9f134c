//! The retention seam: deleting what ended long enough ago that nobody needs it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{CartId, TenantId};
use crate::error::StoreError;

/// Deletes ended carts and checkouts of some tenants, one bounded batch per call. Every
/// delete is conditional on the row still being ended and old (the candidates are re-checked
/// by the deleting statement), so several nodes sweeping at once never fail nor count a
/// row twice: a row another node deleted first is simply not counted here.
#[async_trait]
pub trait RetentionRepository: Send + Sync {
    /// Deletes up to `limit` carts of `tenants` that ended (`expired`, `merged`,
    /// `converted`) before `ended_before`, with their lines, their remaining line holds
    /// (stock given back) and the merge records they are the source of. Returns the carts
    /// this call deleted. A cart that still has a checkout's reservation is left alone.
    async fn delete_ended_carts(
        &self,
        tenants: &[TenantId],
        ended_before: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<(TenantId, CartId)>, StoreError>;

    /// Deletes up to `limit` checkouts of `tenants` that ended (`completed`, `cancelled`,
    /// `expired`) before `ended_before`; how many this call deleted. Orders are never
    /// deleted and do not need their checkout row.
    async fn delete_ended_checkouts(
        &self,
        tenants: &[TenantId],
        ended_before: DateTime<Utc>,
        limit: u64,
    ) -> Result<u64, StoreError>;
}
