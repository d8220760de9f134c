//! The cart behind a checkout snapshot.

use chrono::{DateTime, Utc};
use std::collections::HashMap;

use super::{Cart, CartStatus};
use crate::domain::catalog::CatalogItem;
use crate::domain::line_key::Sku;

impl Cart {
    /// The cart frozen behind a checkout snapshot: mutations answer `cart_frozen` until
    /// the checkout is completed, cancelled or expires.
    ///
    /// Its lines take the prices the snapshot binds (`catalog`: the items it was priced
    /// with). A checkout binds only prices the shopper has seen or accepted
    /// (`accept_price_changes`), so from here on the line is at the price they agreed to:
    /// if the checkout is cancelled or expires, the cart does not flag `price_changed`
    /// again for it, nor does the next checkout ask again (SPEC §2 compares with the
    /// price "the shopper last saw"). Only lines whose price moved are re-based, and their
    /// `line_version` moves with them; `updated_at` stays, as it dates the shopper's own
    /// last change (`latest` merges compare it).
    pub fn frozen_for_checkout(
        mut self,
        now: DateTime<Utc>,
        catalog: &HashMap<Sku, CatalogItem>,
    ) -> Self {
        for line in &mut self.lines {
            if let Some(item) = catalog.get(line.sku())
                && item.price != line.unit_price
            {
                line.unit_price = item.price;
                line.price_revision = item.price_revision;
                line.line_version += 1;
            }
        }
        self.status = CartStatus::CheckingOut;
        self.version += 1;
        self.updated_at = now;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cart::tests::{add, empty_cart, item, key, now};
    use crate::domain::money::{Currency, Price};

    #[test]
    fn freezing_binds_the_accepted_prices_to_the_lines() {
        let (apple, pear) = (item("APPLE", 100), item("PEAR", 200));
        let cart = add(empty_cart(), &apple, key("APPLE", &[]), 3)
            .unwrap()
            .cart;
        let cart = add(cart, &pear, key("PEAR", &[]), 1).unwrap().cart;
        let mut dearer = apple.clone();
        dearer.price = Price::from_minor_units(120, Currency::Usd);
        dearer.price_revision = 2;
        let catalog = HashMap::from([
            (dearer.sku.clone(), dearer),
            (pear.sku.clone(), pear.clone()),
        ]);
        let before = cart.clone();
        let frozen = cart.frozen_for_checkout(now(), &catalog);
        assert_eq!(frozen.status, CartStatus::CheckingOut);
        assert_eq!(frozen.version, before.version + 1);
        let (a, p) = (&frozen.lines[0], &frozen.lines[1]);
        assert_eq!(a.unit_price, Price::from_minor_units(120, Currency::Usd));
        assert_eq!(a.price_revision, 2);
        assert_eq!(a.line_version, before.lines[0].line_version + 1);
        assert_eq!(a.updated_at, before.lines[0].updated_at);
        assert_eq!(a.quantity, before.lines[0].quantity);
        // An unchanged price leaves its line as it was.
        assert_eq!(p, &before.lines[1]);
    }

    #[test]
    fn a_line_that_left_the_catalog_keeps_its_price() {
        let apple = item("APPLE", 100);
        let cart = add(empty_cart(), &apple, key("APPLE", &[]), 1)
            .unwrap()
            .cart;
        let line = cart.lines[0].clone();
        let frozen = cart.frozen_for_checkout(now(), &HashMap::new());
        assert_eq!(frozen.lines[0], line);
    }
}
