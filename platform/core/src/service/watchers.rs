//! Who is watching which cart on this node: the in-process side of live cart streams.
//!
//! Each watched cart has one `watch` channel holding the newest version this node has heard
//! of; every stream of that cart holds a receiver. A notice for a cart nobody watches here
//! costs one map lookup. The entry goes when its last watcher does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::watch;

use crate::domain::{CartId, TenantId};
use crate::ports::CartChangeBus;

type Key = (TenantId, CartId);

/// The carts watched on this node. Also the [`CartChangeBus`] of a single node: a change
/// announced here reaches the streams here.
#[derive(Default)]
pub struct CartWatchers {
    carts: Mutex<HashMap<Key, watch::Sender<Notice>>>,
}

/// What a watcher hears: a counter that moves on every notice (so two notices with an
/// unknown version still wake it) and the newest version announced, if any.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Notice {
    pub seq: u64,
    pub version: i64,
}

impl CartWatchers {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Starts watching a cart. Notices from this moment on wake the returned watch.
    pub fn watch(self: &Arc<Self>, tenant: TenantId, cart: CartId) -> CartWatch {
        let mut carts = self.carts.lock().unwrap_or_else(PoisonError::into_inner);
        let receiver = carts
            .entry((tenant, cart))
            .or_insert_with(|| watch::channel(Notice::default()).0)
            .subscribe();
        CartWatch {
            watchers: self.clone(),
            key: (tenant, cart),
            receiver,
        }
    }

    /// Wakes this node's watchers of the cart.
    pub fn notify(&self, tenant: TenantId, cart: CartId, version: i64) {
        let carts = self.carts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = carts.get(&(tenant, cart)) {
            sender.send_modify(|notice| {
                notice.seq = notice.seq.wrapping_add(1);
                notice.version = notice.version.max(version);
            });
        }
    }

    /// How many carts have a watcher on this node.
    pub fn watched(&self) -> usize {
        self.carts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn release(&self, key: Key) {
        let mut carts = self.carts.lock().unwrap_or_else(PoisonError::into_inner);
        // The watch being dropped still holds its receiver: one left means it was the last.
        if carts.get(&key).is_some_and(|s| s.receiver_count() <= 1) {
            carts.remove(&key);
        }
    }
}

impl CartChangeBus for CartWatchers {
    fn announce(&self, tenant: TenantId, cart: CartId, version: i64) {
        self.notify(tenant, cart, version);
    }
}

/// One stream's interest in one cart; dropping it stops the watching.
pub struct CartWatch {
    watchers: Arc<CartWatchers>,
    key: Key,
    receiver: watch::Receiver<Notice>,
}

impl CartWatch {
    /// Waits for the next notice (however many arrived since the last call, one wake).
    pub async fn changed(&mut self) -> Notice {
        // The sender lives as long as this watch (the map entry goes only after it), so
        // this cannot fail; if it ever did, waiting forever is the right answer.
        if self.receiver.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
        *self.receiver.borrow_and_update()
    }
}

impl Drop for CartWatch {
    fn drop(&mut self) {
        self.watchers.release(self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_notice_wakes_the_carts_watchers_only() {
        let watchers = CartWatchers::new();
        let (tenant, a, b) = (TenantId::new(), CartId::new(), CartId::new());
        let mut first = watchers.watch(tenant, a);
        let mut second = watchers.watch(tenant, a);
        let mut other = watchers.watch(tenant, b);
        watchers.announce(tenant, a, 4);
        assert_eq!(first.changed().await.version, 4);
        assert_eq!(second.changed().await.version, 4);
        let quiet = tokio::time::timeout(std::time::Duration::from_millis(20), other.changed());
        assert!(quiet.await.is_err(), "another cart's watcher woke");
        // An unknown version still wakes, and never lowers the newest known.
        watchers.announce(tenant, a, 0);
        assert_eq!(first.changed().await, Notice { seq: 2, version: 4 });
    }

    #[test]
    fn the_last_watcher_leaving_drops_the_entry() {
        let watchers = CartWatchers::new();
        let (tenant, cart) = (TenantId::new(), CartId::new());
        let first = watchers.watch(tenant, cart);
        let second = watchers.watch(tenant, cart);
        drop(first);
        assert_eq!(watchers.watched(), 1);
        drop(second);
        assert_eq!(watchers.watched(), 0);
        // A notice for an unwatched cart is a no-op.
        watchers.announce(tenant, cart, 3);
        assert_eq!(watchers.watched(), 0);
    }
}
