//! The traits adapters implement, one file per seam. Core depends on these, never on a
//! database, cache or runtime crate. Everything is re-exported here, so a port is always
//! `crate::ports::X` whichever file it lives in.

mod admin_lists;
mod cache;
mod carts;
mod catalog;
mod changes;
mod checkouts;
mod clock;
mod console;
mod credentials;
mod events;
mod health;
mod idempotency;
mod inventory;
mod metrics;
mod plugins;
mod rate_limit;
mod retention;
mod tenants;

pub use admin_lists::AdminListRepository;
pub use cache::{CachedCart, CartCache};
pub use carts::{CartRepository, CartWithRows, MergeRecord};
pub use catalog::CatalogRepository;
pub use changes::CartChangeBus;
pub use checkouts::{
    BeginCheckout, CancelCheckout, CheckoutRepository, CompleteCheckout, SweepReport,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use console::{ConsolePrincipal, ConsoleSession, ConsoleSessionRepository};
pub use credentials::{
    ApiKeyRecord, CredentialRepository, KeyKind, KeyOwner, KeyRevocation, SecretDeletion,
};
pub use events::{
    AttemptRecord, Backlog, DueDelivery, EventPublisher, OutboxRelay, WebhookRepository,
    WebhookRequest, WebhookSender,
};
pub use health::HealthCheck;
pub use idempotency::{IdempotencyLookup, IdempotencyStore, StoredResponse};
pub use inventory::{InventoryRepository, LineHold, WantedHold};
pub use metrics::{CacheEvent, Metrics, NoMetrics, PluginCallOutcome, ReservationEvent, SweptKind};
pub use plugins::{
    ActivationNotifier, InspectedPlugin, NoNotifier, PluginRepository, PluginRunRepository,
    PluginRuntime,
};
pub use rate_limit::RateLimiter;
pub use retention::RetentionRepository;
pub use tenants::{ConfigWrite, TenantRepository};
