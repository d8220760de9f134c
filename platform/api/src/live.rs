//! Live cart streams (Server-Sent Events): how many are open per tenant on this node, and
//! the event stream of one cart.
//!
//! A stream watches its cart on this node's [`CartWatchers`] before its first read, so no
//! change can fall between the read and the watching. On every change notice (from this
//! node, or from another through Redis) it re-reads the cart, never older than the version
//! the notice named, and sends it when its version is newer than the last one sent. On
//! every heartbeat it sends a comment and re-reads too, so a stream that missed notices
//! (Redis away) is late by one heartbeat at most, never wrong.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::web::Bytes;
use futures_util::Stream;

use trolley_core::CoreError;
use trolley_core::domain::{CartId, CartView, TenantId};
use trolley_core::service::{CartService, CartWatch, Shopper};

use crate::dto::carts::CartResponse;

/// Bounds and pace of live streams on this node.
#[derive(Debug, Clone, Copy)]
pub struct StreamSettings {
    /// Open streams one tenant may hold on one node.
    pub max_per_tenant: usize,
    /// How often an idle stream sends a comment (keeping proxies from closing it) and
    /// re-reads its cart.
    pub heartbeat: Duration,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            max_per_tenant: 1_000,
            heartbeat: Duration::from_secs(15),
        }
    }
}

/// Open streams per tenant on this node.
#[derive(Default)]
pub struct OpenStreams {
    open: Mutex<HashMap<TenantId, usize>>,
}

impl OpenStreams {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A slot for one more stream of `tenant`, or `None` when it holds `max` already.
    pub fn open(self: &Arc<Self>, tenant: TenantId, max: usize) -> Option<StreamSlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(tenant).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(StreamSlot {
            streams: self.clone(),
            tenant,
        })
    }

    /// Open streams of every tenant on this node.
    pub fn total(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .sum()
    }

    pub fn count(&self, tenant: TenantId) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&tenant)
            .copied()
            .unwrap_or(0)
    }
}

/// One open stream; dropping it (the client went away) frees the slot.
pub struct StreamSlot {
    streams: Arc<OpenStreams>,
    tenant: TenantId,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self
            .streams
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.tenant) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.tenant);
            }
        }
    }
}

/// One `cart` event: `id` is the version, `data` the cart as `GET` shows it.
pub fn cart_event(view: &CartView) -> Bytes {
    let data = serde_json::to_string(&CartResponse::from(view)).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!(
        "event: cart\nid: {}\ndata: {data}\n\n",
        view.version
    ))
}

/// What a stream has sent, to tell a newer cart from one it already showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sent {
    version: i64,
    status: &'static str,
}

impl Sent {
    fn of(view: &CartView) -> Self {
        Self {
            version: view.version,
            status: view.status.as_str(),
        }
    }
}

/// A stream that has read its cart once and sends from here on.
pub struct CartStream {
    pub carts: CartService,
    pub shopper: Shopper,
    pub cart: CartId,
    pub watch: CartWatch,
    pub slot: StreamSlot,
    pub heartbeat: Duration,
    /// The version the client already has (`Last-Event-ID`), if any.
    pub last_event_id: Option<i64>,
}

/// A stream between two events.
struct Pending {
    stream: CartStream,
    sent: Option<Sent>,
    opening: std::vec::IntoIter<Bytes>,
    /// The last event showed the cart ended: the stream closes.
    ended: bool,
}

enum Step {
    /// Send this; `true` when it shows the cart ended.
    Event(Bytes, bool),
    Quiet,
    End,
}

impl CartStream {
    /// The events: the cart now (unless the client has this version already), then every
    /// newer version, with heartbeat comments between. Ends when the cart is gone or
    /// ended (converted, merged, expired) after sending its last state.
    pub fn events(
        self,
        first: CartView,
    ) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> {
        // `retry` tells the browser how long to wait before reconnecting after a drop.
        let mut opening = vec![Bytes::from_static(b"retry: 1000\n\n")];
        if self.last_event_id.is_none_or(|id| id < first.version) {
            opening.push(cart_event(&first));
        }
        let state = Pending {
            stream: self,
            sent: Some(Sent::of(&first)),
            opening: opening.into_iter(),
            ended: is_ended(&first),
        };
        futures_util::stream::unfold(state, |mut pending| async move {
            if let Some(bytes) = pending.opening.next() {
                return Some((Ok(bytes), pending));
            }
            if pending.ended {
                return None;
            }
            let heartbeat = pending.stream.heartbeat;
            let mut ticker =
                tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
            loop {
                let (at_least, beat) = tokio::select! {
                    notice = pending.stream.watch.changed() => (notice.version, false),
                    _ = ticker.tick() => (0, true),
                };
                match pending.stream.step(&mut pending.sent, at_least).await {
                    Step::Event(bytes, ended) => {
                        pending.ended = ended;
                        return Some((Ok(bytes), pending));
                    }
                    Step::End => return None,
                    Step::Quiet if beat => {
                        return Some((Ok(Bytes::from_static(b": heartbeat\n\n")), pending));
                    }
                    Step::Quiet => {}
                }
            }
        })
    }

    /// Re-reads the cart; an event when it is newer than what was sent.
    async fn step(&mut self, sent: &mut Option<Sent>, at_least: i64) -> Step {
        match self
            .carts
            .get_at_least(&self.shopper, self.cart, at_least)
            .await
        {
            Ok(view) => {
                let now = Sent::of(&view);
                let newer = sent.is_none_or(|s| now.version > s.version || now.status != s.status);
                if newer {
                    *sent = Some(now);
                    Step::Event(cart_event(&view), is_ended(&view))
                } else {
                    Step::Quiet
                }
            }
            // Deleted by retention, or no longer this shopper's: nothing more to follow.
            Err(CoreError::CartNotFound | CoreError::Forbidden(_)) => Step::End,
            Err(e) => {
                // The database or a plugin is away: the next notice or heartbeat retries.
                tracing::debug!(cart_id = %self.cart, error = %e, "stream re-read failed");
                Step::Quiet
            }
        }
    }
}

fn is_ended(view: &CartView) -> bool {
    matches!(view.status.as_str(), "converted" | "merged" | "expired")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_per_tenant_are_bounded_and_freed() {
        let streams = OpenStreams::new();
        let (a, b) = (TenantId::new(), TenantId::new());
        let first = streams.open(a, 2);
        let second = streams.open(a, 2);
        assert!(first.is_some() && second.is_some());
        assert!(streams.open(a, 2).is_none(), "a third stream of a");
        let other = streams.open(b, 2);
        assert!(other.is_some(), "another tenant is not held back");
        assert_eq!(streams.total(), 3);
        drop(first);
        assert_eq!(streams.count(a), 1);
        assert!(streams.open(a, 2).is_some());
    }
}
