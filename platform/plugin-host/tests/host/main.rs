//! Integration tests of the plugin host against real components built from this
//! repository: the three order types and the hostile fixtures. One binary, so it links once.

// Helpers outside `#[test]` functions panic on purpose too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod artifacts;
mod config;
mod contract;
mod hostile;
mod inspect;
mod metering;
mod tiers;
