//! The relay loop every `trolley serve` runs (see `trolley_core::service::relay`).
//!
//! Each round fans new events out and claims due deliveries; every endpoint's batch is
//! sent by a task of its own, so the loop never waits for a receiver: a slow or dead
//! endpoint (5 s per attempt) delays nobody else. At most [`MAX_BATCHES_IN_FLIGHT`] batches
//! run at once on a node. An idle round sleeps `idle`; a busy one goes again at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use trolley_core::service::Relay;

/// Endpoint batches being sent at once on one node.
pub const MAX_BATCHES_IN_FLIGHT: usize = 64;
/// How often the backlog gauges are refreshed and the purge considered.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

pub fn spawn_relay(relay: Relay, idle: Duration) {
    tokio::spawn(async move {
        let in_flight = Arc::new(Semaphore::new(MAX_BATCHES_IN_FLIGHT));
        let mut last_upkeep: Option<Instant> = None;
        loop {
            let mut busy = false;
            match relay.claim().await {
                Ok((round, batches)) => {
                    busy = round.dispatched > 0 || !batches.is_empty();
                    for batch in batches {
                        let Ok(permit) = in_flight.clone().acquire_owned().await else {
                            return;
                        };
                        let relay = relay.clone();
                        tokio::spawn(async move {
                            relay.deliver(batch).await;
                            drop(permit);
                        });
                    }
                }
                // The database is away: the next round retries.
                Err(e) => tracing::debug!(error = %e, "relay round failed"),
            }
            match relay.publish().await {
                Ok(published) => busy |= published.published > 0,
                Err(e) => tracing::debug!(error = %e, "JetStream round failed"),
            }
            if last_upkeep.is_none_or(|at| at.elapsed() >= UPKEEP_EVERY) {
                relay.upkeep().await;
                last_upkeep = Some(Instant::now());
            }
            if !busy {
                tokio::time::sleep(idle).await;
            }
        }
    });
}
