//! What ages out of the system, and when: a read keeps an idle cart alive, and ended carts
//! and checkouts are deleted once their tenant's retention has passed.
//!
//! Decisions:
//! - A read renews an active cart's idle deadline at most once a day
//!   ([`READ_RENEWAL_INTERVAL`]): the renewal is a conditional write, and a cart read many
//!   times a minute must not write on each read. The deadline shown may therefore lag the
//!   full TTL by up to a day.
//! - A cart whose deadline has already passed is not revived by a read: whether a sweep
//!   has run yet must not decide whether the cart lives.
//! - Retention counts from when a cart or checkout ended (its last change, `updated_at`):
//!   a cart merged last week and one merged last year are not alike.

use chrono::{DateTime, Duration, Utc};

use super::cart::{Cart, CartStatus};
use super::checkout::CheckoutStatus;

/// How often a read may renew a cart's idle deadline.
pub const READ_RENEWAL_INTERVAL: Duration = Duration::days(1);

/// Cart statuses nothing ever leaves: retention may delete such a cart.
pub const ENDED_CART_STATUSES: [CartStatus; 3] = [
    CartStatus::Expired,
    CartStatus::Merged,
    CartStatus::Converted,
];

/// Checkout statuses nothing ever leaves: retention may delete such a checkout.
pub const ENDED_CHECKOUT_STATUSES: [CheckoutStatus; 3] = [
    CheckoutStatus::Completed,
    CheckoutStatus::Cancelled,
    CheckoutStatus::Expired,
];

/// A read's renewal of a cart's idle deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renewal {
    /// The new deadline.
    pub until: DateTime<Utc>,
    /// Renew only a deadline before this (and not yet past `now`): another node that
    /// renewed first, or a write that renewed it, makes the renewal a no-op.
    pub due_before: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// The renewal a read of `cart` at `now` is due, if any. `idle_ttl` is the tenant's TTL
/// for the cart's owner. Costs nothing when not due: the common read makes no write.
pub fn read_renewal(cart: &Cart, now: DateTime<Utc>, idle_ttl: Duration) -> Option<Renewal> {
    if cart.status != CartStatus::Active || cart.expires_at <= now {
        return None;
    }
    let until = now + idle_ttl;
    let due_before = until - READ_RENEWAL_INTERVAL;
    (cart.expires_at < due_before).then_some(Renewal {
        until,
        due_before,
        now,
    })
}

/// Things that ended before this instant are past a retention of `days`.
pub fn retention_cutoff(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    now - Duration::days(i64::from(days))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CartOwner, Currency, TenantId};

    fn cart_at(created: DateTime<Utc>, ttl: Duration) -> Cart {
        Cart::new(
            TenantId::new(),
            CartOwner::Customer("c".into()),
            Currency::Usd,
            created,
            ttl,
        )
        .0
    }

    #[test]
    fn a_read_renews_once_a_day_at_most() {
        let ttl = Duration::days(7);
        let t0 = Utc::now();
        let mut cart = cart_at(t0, ttl);
        // Within the first day nothing is due.
        assert_eq!(read_renewal(&cart, t0 + Duration::hours(23), ttl), None);
        let later = t0 + Duration::hours(25);
        let renewal = read_renewal(&cart, later, ttl).unwrap();
        assert_eq!(renewal.until, later + ttl);
        assert!(cart.expires_at < renewal.due_before);
        cart.expires_at = renewal.until;
        // Renewed: not due again for another day.
        assert_eq!(read_renewal(&cart, later + Duration::hours(23), ttl), None);
        assert!(read_renewal(&cart, later + Duration::hours(25), ttl).is_some());
    }

    #[test]
    fn ended_or_lapsed_carts_are_not_renewed() {
        let ttl = Duration::days(7);
        let t0 = Utc::now();
        let mut cart = cart_at(t0, ttl);
        assert_eq!(read_renewal(&cart, t0 + Duration::days(8), ttl), None);
        for status in [
            CartStatus::CheckingOut,
            CartStatus::Expired,
            CartStatus::Merged,
        ] {
            cart.status = status;
            assert_eq!(read_renewal(&cart, t0 + Duration::days(3), ttl), None);
        }
    }

    #[test]
    fn a_shorter_ttl_than_a_day_never_renews() {
        let ttl = Duration::hours(12);
        let t0 = Utc::now();
        let cart = cart_at(t0, ttl);
        assert_eq!(read_renewal(&cart, t0 + Duration::hours(6), ttl), None);
    }

    #[test]
    fn the_cutoff_counts_back_whole_days() {
        let now = Utc::now();
        assert_eq!(retention_cutoff(now, 30), now - Duration::days(30));
    }
}
