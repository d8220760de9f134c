//! Use cases: what the HTTP layer calls. Each takes already-parsed input and an
//! authenticated caller, and returns domain values or a [`CoreError`](crate::CoreError).

pub mod carts;
pub mod catalog;
pub mod checkout;
pub mod inventory;
pub mod judge;
pub mod merge;
pub mod plugins;
pub mod recent;
pub mod sweep;
pub mod tenants;

pub use carts::{AddLineRequest, AddedLine, CartService, CreatedCart, Precondition, Shopper};
pub use catalog::CatalogService;
pub use checkout::CheckoutService;
pub use inventory::InventoryService;
pub use judge::OrderTypeJudge;
pub use merge::{MergeResult, MergeSource};
pub use plugins::PluginService;
pub use recent::RecentInputs;
pub use sweep::SweepService;
pub use tenants::{NewApiKey, NewTenantCredentials, TenantService};
