//! A tenant's share of this node's plugin time.
//!
//! A plugin call runs on the request's worker and yields at every epoch tick, so a plugin
//! that loops until its deadline shares its worker instead of holding it. But a tenant
//! whose plugin loops on every request would still fill every worker with loops, and a
//! neighbour's every await would queue behind their slices (BENCHMARKS.md, "A looping
//! tenant beside a neighbour"). So at most [`CALLS_PER_TENANT`] calls of one tenant run at
//! once on a node; the tenant's other calls wait (without a thread, and before their own
//! deadline starts) for one to end. A tenant's own slow plugin slows that tenant, not the
//! others.
//!
//! A sound plugin call takes tens of microseconds and runs to its end in one poll, so the
//! wait only shows when a tenant's calls are slow.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::domain::TenantId;

/// How many of one tenant's plugin calls run at once on one node: one core's worth.
pub const CALLS_PER_TENANT: usize = 1;

/// The per-tenant gates of this node. One entry per tenant that called a plugin here
/// (a few hundred bytes each, as many as there are tenants).
#[derive(Default)]
pub(crate) struct TenantShares {
    gates: Mutex<HashMap<TenantId, Arc<Semaphore>>>,
}

impl TenantShares {
    /// Waits for `tenant`'s turn; the call runs while the permit lives.
    pub async fn turn(&self, tenant: TenantId) -> Option<OwnedSemaphorePermit> {
        let gate = self
            .gates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(tenant)
            .or_insert_with(|| Arc::new(Semaphore::new(CALLS_PER_TENANT)))
            .clone();
        // The semaphore is never closed, so this only fails if that changes; a call then
        // runs ungated rather than not at all.
        gate.acquire_owned().await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tenant_waits_for_its_own_call_not_for_another_tenants() {
        let shares = TenantShares::default();
        let (a, b) = (
            TenantId(uuid::Uuid::now_v7()),
            TenantId(uuid::Uuid::now_v7()),
        );
        let running = shares.turn(a).await;
        // Another tenant goes at once.
        let other = tokio::time::timeout(std::time::Duration::from_millis(50), shares.turn(b))
            .await
            .expect("another tenant's call does not wait");
        assert!(other.is_some());
        // The same tenant waits until its running call ends.
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), shares.turn(a));
        assert!(waiting.await.is_err(), "a second call of the tenant waits");
        drop(running);
        let next = tokio::time::timeout(std::time::Duration::from_millis(50), shares.turn(a))
            .await
            .expect("the tenant's next call runs once the first ended");
        assert!(next.is_some());
    }
}
