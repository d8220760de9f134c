//! Request and response bodies: the JSON contract of SPEC §9–10, documented with `utoipa`.
//! Requests deny unknown fields so a typo (`quantty`) is an error, not a silent default.

pub mod admin_list_queries;
pub mod admin_lists;
pub mod audit;
pub mod carts;
pub mod catalog;
pub mod checkout;
pub mod credentials;
pub mod plugin_runs;
pub mod plugins;
pub mod shop;
pub mod tenants;
pub mod webhooks;
