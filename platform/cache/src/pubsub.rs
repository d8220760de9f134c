//! One Redis pub/sub channel listened to for as long as the process runs: the shared
//! plumbing of the cross-node notices (activations, cart changes).

use futures_util::StreamExt as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Subscribes to `channel` in the background, reconnecting every second while Redis is
/// away. `on_message` gets each payload; `on_subscribed` runs after every (re)subscription,
/// since messages sent while the listener was away are lost; `subscribed` is true while the
/// subscription stands.
pub(crate) fn spawn_listener(
    client: redis::Client,
    channel: String,
    subscribed: Arc<AtomicBool>,
    on_message: impl Fn(&str) + Send + Sync + 'static,
    on_subscribed: impl Fn() + Send + Sync + 'static,
) {
    tokio::spawn(async move {
        loop {
            match listen(&client, &channel, &subscribed, &on_message, &on_subscribed).await {
                Ok(()) => tracing::warn!(channel, "notices stopped; resubscribing"),
                Err(e) => tracing::debug!(channel, error = %e, "notices unavailable; retrying"),
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
    on_message: &(impl Fn(&str) + Send + Sync),
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
    tracing::info!(channel, "listening for notices");
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        match message.get_payload::<String>() {
            Ok(payload) => on_message(&payload),
            Err(_) => tracing::warn!(channel, "unreadable notice ignored"),
        }
    }
    Ok(())
}
