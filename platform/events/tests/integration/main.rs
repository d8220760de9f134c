//! The adapters against real peers: a receiver started by each test, the NATS server at
//! `nats://127.0.0.1:4222` (`TROLLEY_TEST_NATS_URL` overrides). One binary, so it links once.

// Helpers outside `#[test]` functions panic on a broken setup, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod jetstream;
mod support;
mod webhooks;
