//! Trolley's schema as sea-orm-migration migrations.
//!
//! Every migration uses the sea-query schema builder only (no backend-specific SQL), so the
//! same files run on SQLite and PostgreSQL. Conventions shared by all tables:
//!
//! - timestamps are `BIGINT` unix epoch milliseconds;
//! - money is `BIGINT` integer minor units (never `DECIMAL`/`REAL`: SQLite would lose
//!   precision);
//! - JSON documents (attributes, context, config) are `TEXT` holding serde_json;
//! - binary data (plugin modules, response bodies) is `.blob()`: `blob` on SQLite, `bytea`
//!   on PostgreSQL;
//! - every row carries the `tenant_id` that owns it, except `plugin_modules`: module bytes
//!   are content addressed (keyed by SHA-256) and shared by every tenant that uploads them.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_tenants;
mod m20261122_000002_create_api_keys;
mod m20261122_000003_create_catalog_items;
mod m20261122_000004_create_carts;
mod m20261122_000005_create_cart_lines;
mod m20261122_000006_create_idempotency_records;
mod m20261122_000007_create_plugin_modules;
mod m20261122_000008_create_plugins;
mod m20261122_000009_create_order_type_activations;
mod m20261122_000010_create_cart_merges;
mod m20261122_000011_create_inventory;
mod m20261122_000012_create_stock_holds;
mod m20261122_000013_create_checkouts;
mod m20261122_000014_create_orders;
mod m20261202_000015_add_idempotency_replay;
mod m20261202_000020_create_audit_log;
mod m20261202_000021_add_tenants_config_revision;
mod m20261202_000040_add_orders_cart_token_hash;
mod m20261202_000041_create_retention_indexes;
mod m20261202_000050_add_key_names_and_token_secrets;
mod m20261203_000060_create_events;
mod m20261203_000070_create_plugin_runs;
mod m20261204_000080_create_console_sessions;
mod m20261204_000081_add_plugin_contracts;
mod m20261204_000090_create_admin_list_indexes;

/// Runs Trolley's migrations in order. `Migrator::up(&db, None)` applies the pending ones.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_tenants::Migration),
            Box::new(m20261122_000002_create_api_keys::Migration),
            Box::new(m20261122_000003_create_catalog_items::Migration),
            Box::new(m20261122_000004_create_carts::Migration),
            Box::new(m20261122_000005_create_cart_lines::Migration),
            Box::new(m20261122_000006_create_idempotency_records::Migration),
            Box::new(m20261122_000007_create_plugin_modules::Migration),
            Box::new(m20261122_000008_create_plugins::Migration),
            Box::new(m20261122_000009_create_order_type_activations::Migration),
            Box::new(m20261122_000010_create_cart_merges::Migration),
            Box::new(m20261122_000011_create_inventory::Migration),
            Box::new(m20261122_000012_create_stock_holds::Migration),
            Box::new(m20261122_000013_create_checkouts::Migration),
            Box::new(m20261122_000014_create_orders::Migration),
            Box::new(m20261202_000015_add_idempotency_replay::Migration),
            Box::new(m20261202_000020_create_audit_log::Migration),
            Box::new(m20261202_000021_add_tenants_config_revision::Migration),
            Box::new(m20261202_000040_add_orders_cart_token_hash::Migration),
            Box::new(m20261202_000041_create_retention_indexes::Migration),
            Box::new(m20261202_000050_add_key_names_and_token_secrets::Migration),
            Box::new(m20261203_000060_create_events::Migration),
            Box::new(m20261203_000070_create_plugin_runs::Migration),
            Box::new(m20261204_000080_create_console_sessions::Migration),
            Box::new(m20261204_000081_add_plugin_contracts::Migration),
            Box::new(m20261204_000090_create_admin_list_indexes::Migration),
        ]
    }
}
