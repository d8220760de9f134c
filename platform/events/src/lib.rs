//! The adapters that take events out of the process, implementing the event ports of
//! `trolley-core` (`trolley_core::ports::{WebhookSender, EventPublisher}`):
//!
//! - [`HttpWebhookSender`]: one signed HTTP POST per delivery attempt (Standard Webhooks
//!   headers `webhook-id`, `webhook-timestamp`, `webhook-signature`), refusing receivers
//!   that resolve to private addresses unless the operator allows them.
//! - [`JetStreamPublisher`]: one NATS JetStream message per event on
//!   `trolley.<tenant_id>.<type>`, deduplicated by `Nats-Msg-Id` = the event id, returned
//!   only when the stream acknowledged it.
//!
//! Neither decides what to send or when: the outbox relay in `trolley-core` claims events
//! and deliveries, calls these adapters and records what they report.

pub mod http;
pub mod jetstream;
pub mod signature;

pub use http::{HttpWebhookSender, USER_AGENT};
pub use jetstream::{DEFAULT_STREAM, DEFAULT_SUBJECT_PREFIX, JetStreamConfig, JetStreamPublisher};
pub use signature::{sign, signature_header};
