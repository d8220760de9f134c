//! SeaORM entities and the repository implementations of `trolley-core`'s ports, for
//! SQLite and PostgreSQL alike.
//!
//! ```no_run
//! # async fn demo() -> Result<(), trolley_core::StoreError> {
//! let db = trolley_store::Database::connect("sqlite://trolley.db?mode=rwc").await?;
//! db.migrate().await?;
//! let carts = db.carts(); // impl CartRepository, cheap to clone
//! # let _ = carts; Ok(()) }
//! ```
//!
//! Storage conventions: timestamps are unix epoch milliseconds (sub-millisecond precision
//! is dropped on the way in), money is integer minor units, JSON documents are text. Every
//! `DbErr` is translated to [`StoreError`] in one place (`error.rs`).
//!
//! Stock (`inventory`, `stock_holds`) only changes through single conditional UPDATEs, and
//! every transaction that changes a cart's holds is serialized per cart (SQLite: one writer;
//! PostgreSQL: an advisory lock per cart), taking inventory rows in sku order; see
//! `stock.rs`. Checkouts settle exactly once through `… WHERE status = 'pending'`.

mod admin_lists;
mod audit;
mod carts;
mod catalog;
mod checkouts;
mod console_sessions;
mod convert;
mod credentials;
mod db;
pub mod entity;
mod error;
mod health;
mod idempotency;
mod inventory;
mod line_holds;
mod one_statement;
mod outbox;
mod plugin_runs;
mod plugins;
mod relay;
mod retention;
mod stock;
mod tenants;
mod webhooks;
mod write_reads;
mod write_turns;

pub use admin_lists::SqlAdminListRepository;
pub use carts::SqlCartRepository;
pub use catalog::SqlCatalogRepository;
pub use checkouts::{SWEEP_BATCH, SqlCheckoutRepository};
pub use console_sessions::SqlConsoleSessionRepository;
pub use db::{Database, DatabaseOptions};
pub use health::DatabaseHealth;
pub use idempotency::SqlIdempotencyStore;
pub use inventory::SqlInventoryRepository;
pub use plugin_runs::SqlPluginRunRepository;
pub use plugins::SqlPluginRepository;
pub use relay::SqlOutboxRelay;
pub use retention::SqlRetentionRepository;
pub use tenants::SqlTenantRepository;
pub use webhooks::SqlWebhookRepository;

pub use sea_orm::{DatabaseConnection, DbBackend};
pub use trolley_core::StoreError;
