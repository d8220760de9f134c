//! Cart changes announced across nodes over Redis pub/sub, so a shopper's stream on one
//! node hears of a change written through another within milliseconds.
//!
//! A change wakes this node's watchers at once and is published as
//! `tenant/cart/version` on one channel every node listens to; each node wakes its own
//! watchers of that cart (its own message comes back too, and is harmless: watchers re-read
//! and send only a newer version). While Redis is away, streams still hear of changes made
//! on their own node, and every stream re-reads on its heartbeat.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use trolley_core::domain::{CartId, TenantId};
use trolley_core::ports::CartChangeBus;
use trolley_core::service::CartWatchers;

use crate::link::RedisLink;
use crate::pubsub::spawn_listener;

pub struct RedisCartChangeBus {
    link: Arc<RedisLink>,
    channel: String,
    watchers: Arc<CartWatchers>,
}

impl RedisCartChangeBus {
    /// Announces to `watchers` and to every other node, and starts listening for theirs.
    pub fn start(link: Arc<RedisLink>, watchers: Arc<CartWatchers>) -> Self {
        let bus = Self {
            channel: link.key("cart-changes"),
            link,
            watchers,
        };
        let listening = bus.watchers.clone();
        spawn_listener(
            bus.link.client().clone(),
            bus.channel.clone(),
            Arc::new(AtomicBool::new(false)),
            move |payload| match parse(payload) {
                Some((tenant, cart, version)) => listening.notify(tenant, cart, version),
                None => tracing::warn!(payload, "unreadable cart change notice ignored"),
            },
            || {},
        );
        bus
    }
}

fn parse(payload: &str) -> Option<(TenantId, CartId, i64)> {
    let mut parts = payload.splitn(3, '/');
    let tenant = parts.next()?.parse().ok()?;
    let cart = parts.next()?.parse().ok()?;
    let version = parts.next()?.parse().ok()?;
    Some((tenant, cart, version))
}

impl CartChangeBus for RedisCartChangeBus {
    fn announce(&self, tenant: TenantId, cart: CartId, version: i64) {
        self.watchers.notify(tenant, cart, version);
        let (link, channel) = (self.link.clone(), self.channel.clone());
        let message = format!("{tenant}/{cart}/{version}");
        // Off the request's path: the write has committed and answers now; a lost notice
        // delays other nodes' streams until their next heartbeat re-read, nothing worse.
        tokio::spawn(async move {
            let sent = link
                .call(|mut conn| async move {
                    redis::cmd("PUBLISH")
                        .arg(&channel)
                        .arg(&message)
                        .query_async::<i64>(&mut conn)
                        .await
                })
                .await;
            if let Err(e) = sent {
                tracing::debug!(error = %e, "cart change notice not published");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn notices_round_trip() {
        let (tenant, cart) = (
            trolley_core::domain::TenantId::new(),
            trolley_core::domain::CartId::new(),
        );
        assert_eq!(
            parse(&format!("{tenant}/{cart}/7")),
            Some((tenant, cart, 7))
        );
        assert_eq!(parse("nonsense"), None);
        assert_eq!(parse(&format!("{tenant}/{cart}/x")), None);
    }
}
