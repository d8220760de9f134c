//! Cross-node notice of plugin activations over Redis pub/sub.
//!
//! The node that activates or rolls back publishes `tenant/order_type`; every node's
//! listener drops its cached activation on the notice, so the change serves everywhere in
//! milliseconds. While a node is not subscribed (Redis away, reconnecting), the feed says
//! so ([`ActivationNotifier::is_live`]) and the judge falls back to re-reading activations
//! from the database every second.

use async_trait::async_trait;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use trolley_core::domain::TenantId;
use trolley_core::ports::ActivationNotifier;

use crate::link::RedisLink;
use crate::pubsub::spawn_listener;

pub struct RedisActivationFeed {
    link: Arc<RedisLink>,
    channel: String,
    /// Set by the listener while its subscription stands.
    subscribed: Arc<AtomicBool>,
}

impl RedisActivationFeed {
    pub fn new(link: Arc<RedisLink>) -> Self {
        Self {
            channel: link.key("activations"),
            link,
            subscribed: Arc::new(AtomicBool::new(false)),
        }
    }
}

#[async_trait]
impl ActivationNotifier for RedisActivationFeed {
    async fn activation_changed(&self, tenant: TenantId, order_type: &str) {
        let channel = self.channel.clone();
        let message = format!("{tenant}/{order_type}");
        let sent = self
            .link
            .call(|mut conn| async move {
                redis::cmd("PUBLISH")
                    .arg(&channel)
                    .arg(&message)
                    .query_async::<i64>(&mut conn)
                    .await
            })
            .await;
        if let Err(e) = sent {
            // Other nodes re-read activations every second while they miss notices; a
            // node whose subscription still stands would not, so say it loudly.
            tracing::warn!(%tenant, order_type, error = %e, "activation notice not sent; other nodes may serve the previous plugin until their cache expires");
        }
    }

    fn is_live(&self) -> bool {
        self.subscribed.load(Ordering::Acquire) && self.link.is_up()
    }
}

/// Subscribes in the background for as long as the process runs (see
/// [`spawn_listener`]). `on_notice` gets each changed (tenant, order type); `on_subscribed`
/// runs after every (re)subscription, since notices sent while the listener was away are
/// lost.
pub fn spawn_activation_listener(
    feed: &RedisActivationFeed,
    on_notice: impl Fn(TenantId, &str) + Send + Sync + 'static,
    on_subscribed: impl Fn() + Send + Sync + 'static,
) {
    spawn_listener(
        feed.link.client().clone(),
        feed.channel.clone(),
        feed.subscribed.clone(),
        move |payload| match payload
            .split_once('/')
            .and_then(|(tenant, order_type)| Some((tenant.parse::<TenantId>().ok()?, order_type)))
        {
            Some((tenant, order_type)) => {
                tracing::debug!(%tenant, order_type, "activation notice");
                on_notice(tenant, order_type);
            }
            None => tracing::warn!(payload, "unreadable activation notice ignored"),
        },
        on_subscribed,
    );
}
