//! Hand-written SeaORM entities, one per table of `trolley-migrations`.
//!
//! Conventions: timestamps are `i64` unix epoch milliseconds, money is `i64` minor units,
//! JSON documents are `String`s holding serde_json.

pub mod api_keys;
pub mod audit_log;
pub mod cart_lines;
pub mod cart_merges;
pub mod carts;
pub mod catalog_items;
pub mod checkouts;
pub mod console_sessions;
pub mod customer_token_secrets;
pub mod event_sequences;
pub mod idempotency_records;
pub mod inventory;
pub mod order_type_activations;
pub mod orders;
pub mod outbox_events;
pub mod plugin_modules;
pub mod plugin_runs;
pub mod plugins;
pub mod stock_holds;
pub mod tenants;
pub mod webhook_attempts;
pub mod webhook_deliveries;
pub mod webhook_endpoints;
