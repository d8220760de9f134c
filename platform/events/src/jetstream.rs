//! Events published to a NATS JetStream stream, one message per event.
//!
//! Decisions:
//! - The subject is `<prefix>.<tenant_id>.<type>` (`trolley.<tenant>.cart.line_added`), so a
//!   consumer can filter by tenant (`trolley.<tenant>.>`) or by type
//!   (`trolley.*.cart.line_added`, `trolley.*.cart.>`).
//! - `Nats-Msg-Id` is the event id and the stream keeps a duplicate window: a relay that
//!   publishes again after a lost ack (or a crash before marking the event published)
//!   leaves one message, not two.
//! - `publish` returns only once the stream acknowledged the message (or after the ack
//!   timeout, as an error), so the relay marks an event published only when it is stored.

use async_nats::jetstream::{self, message::PublishMessage, stream};
use async_trait::async_trait;
use std::time::Duration;
use trolley_core::domain::Event;
use trolley_core::ports::EventPublisher;

/// The stream's name unless the operator picks another.
pub const DEFAULT_STREAM: &str = "TROLLEY_EVENTS";
/// The first token of every subject.
pub const DEFAULT_SUBJECT_PREFIX: &str = "trolley";

/// Where and how events are published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JetStreamConfig {
    /// The stream, created on connect when it does not exist.
    pub stream: String,
    /// The first subject token(s): the stream captures `<subject_prefix>.>`.
    pub subject_prefix: String,
    /// How long the stream remembers message ids to drop duplicates (on creation only).
    pub duplicate_window: Duration,
    /// How long a publish waits for the stream's acknowledgement.
    pub ack_timeout: Duration,
}

impl JetStreamConfig {
    /// Subjects `trolley.>`, a 2-minute duplicate window, a 5-second ack timeout.
    pub fn new(stream: &str) -> Self {
        Self {
            stream: stream.to_owned(),
            subject_prefix: DEFAULT_SUBJECT_PREFIX.to_owned(),
            duplicate_window: Duration::from_secs(120),
            ack_timeout: Duration::from_secs(5),
        }
    }

    /// The subject an event is published on.
    pub fn subject(&self, event: &Event) -> String {
        format!(
            "{}.{}.{}",
            self.subject_prefix, event.tenant_id, event.event_type
        )
    }

    fn validate(&self) -> Result<(), String> {
        let bad_name = |c: char| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\');
        if self.stream.is_empty() || self.stream.contains(bad_name) {
            return Err(format!(
                "invalid JetStream stream name {:?}: it must be non-empty, without spaces, \
                 '.', '*', '>', '/' or '\\'",
                self.stream
            ));
        }
        let bad_token = |t: &str| {
            t.is_empty() || t.contains(|c: char| c.is_whitespace() || c == '*' || c == '>')
        };
        if self.subject_prefix.split('.').any(bad_token) {
            return Err(format!(
                "invalid JetStream subject prefix {:?}: it must be dot-separated tokens without \
                 spaces or wildcards",
                self.subject_prefix
            ));
        }
        Ok(())
    }
}

/// Publishes events to a JetStream stream over one NATS connection (which reconnects by
/// itself; publishes while it is down fail after the ack timeout).
#[derive(Clone)]
pub struct JetStreamPublisher {
    context: jetstream::Context,
    config: JetStreamConfig,
}

impl std::fmt::Debug for JetStreamPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStreamPublisher")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl JetStreamPublisher {
    /// Connects to `url` (`nats://host:4222`) and gets or creates `stream` capturing
    /// `trolley.>` with a 2-minute duplicate window.
    pub async fn connect(url: &str, stream: &str) -> Result<Self, String> {
        Self::connect_with(url, JetStreamConfig::new(stream)).await
    }

    /// Connects to `url` and gets or creates the configured stream. An existing stream is
    /// used as it is (its subjects and duplicate window are the operator's).
    #[tracing::instrument(name = "jetstream.connect", skip_all, fields(stream = %config.stream))]
    pub async fn connect_with(url: &str, config: JetStreamConfig) -> Result<Self, String> {
        config.validate()?;
        let client = async_nats::ConnectOptions::new()
            .name("trolley")
            .connect(url)
            .await
            .map_err(|e| format!("cannot connect to NATS at {}: {e}", redact(url)))?;
        let mut context = jetstream::new(client);
        context.set_timeout(config.ack_timeout);
        context
            .get_or_create_stream(stream::Config {
                name: config.stream.clone(),
                subjects: vec![format!("{}.>", config.subject_prefix)],
                duplicate_window: config.duplicate_window,
                ..Default::default()
            })
            .await
            .map_err(|e| {
                format!(
                    "cannot get or create JetStream stream {}: {e}",
                    config.stream
                )
            })?;
        Ok(Self { context, config })
    }

    pub fn config(&self) -> &JetStreamConfig {
        &self.config
    }
}

#[async_trait]
impl EventPublisher for JetStreamPublisher {
    #[tracing::instrument(
        name = "jetstream.publish",
        skip_all,
        fields(event_id = %event.id, tenant_id = %event.tenant_id, event_type = %event.event_type)
    )]
    async fn publish(&self, event: &Event) -> Result<(), String> {
        let subject = self.config.subject(event);
        let message = PublishMessage::build()
            .message_id(event.id.to_string())
            .payload(event.to_json().into());
        let ack = self
            .context
            .send_publish(subject.clone(), message)
            .await
            .map_err(|e| format!("publishing to {subject} failed: {e}"))?;
        // The ack future applies the context's timeout.
        let ack = ack.await.map_err(|e| match e.kind() {
            jetstream::context::PublishErrorKind::StreamNotFound => format!(
                "no JetStream stream captures {subject} (is stream {} configured for \
                     {}.>?)",
                self.config.stream, self.config.subject_prefix
            ),
            jetstream::context::PublishErrorKind::TimedOut => format!(
                "JetStream did not acknowledge {subject} within {} s",
                self.config.ack_timeout.as_secs_f64()
            ),
            _ => format!("JetStream refused {subject}: {e}"),
        })?;
        tracing::debug!(
            stream = %ack.stream,
            sequence = ack.sequence,
            duplicate = ack.duplicate,
            "event published"
        );
        Ok(())
    }
}

/// A NATS URL without its credentials (`nats://user:pass@host` → `nats://***@host`).
fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) if rest.contains('@') => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://***@{host}")
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use trolley_core::domain::{EventType, Subject, SubjectKind, TenantId};

    fn event() -> Event {
        Event {
            id: uuid::Uuid::now_v7(),
            event_type: EventType::CartLineAdded,
            tenant_id: TenantId::new(),
            subject: Subject {
                kind: SubjectKind::Cart,
                id: "c".to_owned(),
            },
            sequence: 1,
            occurred_at: Utc::now(),
            schema_version: 1,
            data: serde_json::json!({}),
        }
    }

    #[test]
    fn subjects_are_prefix_tenant_and_type() {
        let e = event();
        assert_eq!(
            JetStreamConfig::new(DEFAULT_STREAM).subject(&e),
            format!("trolley.{}.cart.line_added", e.tenant_id)
        );
    }

    #[test]
    fn stream_names_and_prefixes_are_checked() {
        assert!(JetStreamConfig::new(DEFAULT_STREAM).validate().is_ok());
        assert!(JetStreamConfig::new("A.B").validate().is_err());
        assert!(JetStreamConfig::new("").validate().is_err());
        let mut config = JetStreamConfig::new("S");
        config.subject_prefix = "trolley.>".to_owned();
        assert!(config.validate().is_err());
        config.subject_prefix = "test.run1".to_owned();
        assert!(config.validate().is_ok());
    }

    #[test]
    fn credentials_stay_out_of_errors() {
        assert_eq!(redact("nats://u:p@host:4222"), "nats://***@host:4222");
        assert_eq!(redact("nats://host:4222"), "nats://host:4222");
    }
}
