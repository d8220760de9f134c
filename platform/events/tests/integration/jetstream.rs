//! `JetStreamPublisher` against the NATS server the machine runs. These tests fail (never
//! skip) when it cannot be reached.

use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt as _;
use std::time::Duration;
use trolley_core::domain::TenantId;
use trolley_core::ports::EventPublisher;
use trolley_events::{JetStreamConfig, JetStreamPublisher};

use crate::support::event;

fn nats_url() -> String {
    std::env::var("TROLLEY_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// A stream and subject prefix of this test run alone: a stream's subjects may not overlap
/// another's, so tests cannot share `trolley.>` with a server's real `TROLLEY_EVENTS`.
fn test_config() -> JetStreamConfig {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut config = JetStreamConfig::new(&format!("TROLLEY_TEST_{run}"));
    config.subject_prefix = format!("trolley-test-{run}");
    config
}

async fn connect(config: JetStreamConfig) -> JetStreamPublisher {
    let url = nats_url();
    JetStreamPublisher::connect_with(&url, config)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "these tests need a NATS server with JetStream at {url} (set \
                 TROLLEY_TEST_NATS_URL to use another, or start `nats-server -js`): {e}"
            )
        })
}

#[tokio::test]
async fn an_event_published_twice_is_stored_once_on_its_tenant_and_type_subject() {
    let config = test_config();
    let publisher = connect(config.clone()).await;
    let tenant = TenantId::new();
    let event = event(tenant);

    publisher.publish(&event).await.expect("first publish");
    publisher
        .publish(&event)
        .await
        .expect("a duplicate is acknowledged too");
    publisher
        .publish(&crate::support::event(TenantId::new()))
        .await
        .expect("another tenant's event");

    let client = async_nats::connect(nats_url()).await.expect("connect");
    let js = jetstream::new(client);
    let stream = js
        .get_stream(&config.stream)
        .await
        .expect("the stream exists");
    let info = stream.get_info().await.expect("info");
    assert_eq!(info.state.messages, 2, "the duplicate was dropped");
    assert_eq!(info.config.duplicate_window, Duration::from_secs(120));

    let subject = format!("{}.{tenant}.cart.line_added", config.subject_prefix);
    assert_eq!(config.subject(&event), subject);
    let consumer = stream
        .create_consumer(consumer::pull::Config {
            filter_subject: format!("{}.{tenant}.>", config.subject_prefix),
            ..Default::default()
        })
        .await
        .expect("consumer");
    let messages: Vec<_> = consumer
        .batch()
        .max_messages(10)
        .expires(Duration::from_secs(1))
        .messages()
        .await
        .expect("fetch")
        .collect()
        .await;
    assert_eq!(messages.len(), 1, "one message of this tenant");
    let message = messages
        .into_iter()
        .next()
        .expect("one")
        .expect("a message");
    assert_eq!(message.subject.as_str(), subject);
    let msg_id = message
        .headers
        .as_ref()
        .and_then(|h| h.get("Nats-Msg-Id"))
        .map(|v| v.as_str().to_owned());
    assert_eq!(msg_id, Some(event.id.to_string()));
    let payload: serde_json::Value = serde_json::from_slice(&message.payload).expect("json");
    assert_eq!(payload["id"], event.id.to_string());
    assert_eq!(payload["type"], "cart.line_added");
    assert_eq!(payload["tenant_id"], tenant.to_string());

    js.delete_stream(&config.stream).await.expect("clean up");
}

#[tokio::test]
async fn connecting_again_uses_the_existing_stream() {
    let config = test_config();
    let first = connect(config.clone()).await;
    first
        .publish(&event(TenantId::new()))
        .await
        .expect("publish");
    let second = connect(config.clone()).await;
    second
        .publish(&event(TenantId::new()))
        .await
        .expect("publish");

    let client = async_nats::connect(nats_url()).await.expect("connect");
    let js = jetstream::new(client);
    let info = js
        .get_stream(&config.stream)
        .await
        .expect("stream")
        .get_info()
        .await
        .expect("info");
    assert_eq!(info.state.messages, 2);
    js.delete_stream(&config.stream).await.expect("clean up");
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_on_connect() {
    let e = JetStreamPublisher::connect("nats://127.0.0.1:1", "TROLLEY_UNREACHABLE")
        .await
        .expect_err("nothing listens on port 1");
    assert!(
        e.starts_with("cannot connect to NATS at nats://127.0.0.1:1"),
        "{e}"
    );
}
