//! Trolley's integration tests: every scenario runs through real HTTP against a real
//! server, on SQLite and on PostgreSQL.

// Test helpers outside `#[test]` functions are not covered by clippy's
// `allow-unwrap-in-tests`; a failed unwrap here is a failed test, which is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod admin_lists;
mod auth_and_isolation;
mod bad_input;
mod carts;
mod catalog;
mod checkout;
mod checkout_terms;
mod concurrency;
mod config_audit;
mod console;
mod cross_tenant;
mod events;
mod keys;
mod lifecycle;
mod merge;
mod merge_order_types;
mod observability;
mod operations;
mod platform;
mod plugin_releases;
mod plugin_runs;
mod plugins;
mod rate_limits;
mod rejections;
mod reliability;
mod storefront;
mod webhooks;
