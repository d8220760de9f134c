//! The cart change seam: every committed change to a cart is announced, so a shopper's
//! other devices (live streams, on any node) hear of it at once.

use crate::domain::{CartId, TenantId};

/// Announces committed cart changes to every node's [`CartWatchers`](crate::service::CartWatchers).
///
/// A notice is a hint, never the data: a stream that hears one re-reads the cart, so a lost
/// or duplicated notice costs a delay or a read, never a wrong cart.
pub trait CartChangeBus: Send + Sync {
    /// `version` is the cart's version after the change, or `0` when the caller does not
    /// know it (a checkout completed or a cart swept from under it): listeners re-read.
    /// Never blocks and never fails the change it announces.
    fn announce(&self, tenant: TenantId, cart: CartId, version: i64);
}
