//! Use cases: what the HTTP layer calls. Each takes already-parsed input and an
//! authenticated caller, and returns domain values or a [`CoreError`](crate::CoreError).

pub mod admin_lists;
pub(crate) mod assemble;
pub mod carts;
pub mod catalog;
pub mod checkout;
pub mod console;
pub mod inventory;
pub mod judge;
pub mod merge;
mod mutate;
pub mod plugin_runs;
pub mod plugin_trial;
pub mod plugins;
pub mod recent;
pub mod relay;
pub mod shop_catalog;
pub mod shopper;
pub mod sweep;
pub mod tenants;
pub mod watchers;
pub mod webhooks;

pub use admin_lists::AdminLists;
pub use carts::{AddLineRequest, AddedLine, CartService, CreatedCart, Prefetched};
pub use catalog::CatalogService;
pub use checkout::CheckoutService;
pub use console::{ConsoleSessions, ConsoleUser, SignedIn};
pub use inventory::InventoryService;
pub use judge::OrderTypeJudge;
pub use merge::{MergeResult, MergeSource};
pub use plugin_runs::RunRecorder;
pub use plugin_trial::PluginTrial;
pub use plugins::PluginService;
pub use recent::RecentInputs;
pub use relay::{Relay, RelayRound, RelaySettings};
pub use shop_catalog::{ShopCatalog, ShopPage};
pub use shopper::{Precondition, Shopper};
pub use sweep::SweepService;
pub use tenants::{NewApiKey, NewTenantCredentials, TenantService};
pub use watchers::{CartWatch, CartWatchers, Notice};
pub use webhooks::{NewWebhook, WebhookPatch, WebhookService};
