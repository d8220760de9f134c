//! Cross-node notice of plugin activations over Redis pub/sub.
//!
//! The node that activates or rolls back publishes `tenant/order_type`; every node's
//! listener drops its cached activation on the notice, so the change serves everywhere in
//! milliseconds. While a node is not subscribed (Redis away, reconnecting), the feed says
//! so ([`ActivationNotifier::is_live`]) and the judge falls back to re-reading activations
//! from the database every second.

use async_trait::async_trait;
use futures_util::StreamExt as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use trolley_core::domain::TenantId;
use trolley_core::ports::ActivationNotifier;

use crate::link::RedisLink;

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

/// Subscribes in the background for as long as the process runs, reconnecting every
/// second while Redis is away. `on_notice` gets each changed (tenant, order type);
/// `on_subscribed` runs after every (re)subscription, since notices sent while the
/// listener was away are lost.
pub fn spawn_activation_listener(
    feed: &RedisActivationFeed,
    on_notice: impl Fn(TenantId, &str) + Send + Sync + 'static,
    on_subscribed: impl Fn() + Send + Sync + 'static,
) {
    let client = feed.link.client().clone();
    let channel = feed.channel.clone();
    let subscribed = feed.subscribed.clone();
    tokio::spawn(async move {
        loop {
            match listen(&client, &channel, &subscribed, &on_notice, &on_subscribed).await {
                Ok(()) => tracing::warn!("activation notices stopped; resubscribing"),
                Err(e) => tracing::debug!(error = %e, "activation notices unavailable; retrying"),
            }
            subscribed.store(false, Ordering::Release);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

async fn listen(
    client: &redis::Client,
    channel: &str,
    subscribed: &AtomicBool,
    on_notice: &(impl Fn(TenantId, &str) + Send + Sync),
    on_subscribed: &(impl Fn() + Send + Sync),
) -> redis::RedisResult<()> {
    let connect = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, redis::RedisError>(pubsub)
    };
    let mut pubsub = tokio::time::timeout(Duration::from_secs(2), connect)
        .await
        .map_err(|_| redis::RedisError::from((redis::ErrorKind::Io, "subscribe timed out")))??;
    subscribed.store(true, Ordering::Release);
    on_subscribed();
    tracing::info!(channel, "listening for activation notices");
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        let Ok(payload) = message.get_payload::<String>() else {
            continue;
        };
        match payload
            .split_once('/')
            .and_then(|(tenant, order_type)| Some((tenant.parse::<TenantId>().ok()?, order_type)))
        {
            Some((tenant, order_type)) => {
                tracing::debug!(%tenant, order_type, "activation notice");
                on_notice(tenant, order_type);
            }
            None => tracing::warn!(payload, "unreadable activation notice ignored"),
        }
    }
    Ok(())
}
