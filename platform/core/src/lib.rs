//! Trolley's domain: carts as durable, versioned entities, their lines and money, the
//! tenants that own them, and the use cases the HTTP layer calls.
//!
//! This crate does no I/O. Storage, caching and time reach it through the traits in
//! [`ports`]; the adapters live in `trolley-store` and `trolley-cache`.

pub mod domain;
pub mod error;
pub mod ports;
pub mod service;

pub use error::{CoreError, StoreError};
