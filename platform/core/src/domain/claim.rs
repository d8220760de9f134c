//! Claim rules (SPEC §1, allocation truth): how strongly a line claims its stock, which
//! lines a change must check against stock or hold it for, and when a change may have let
//! a hold go. Pure: the write pipeline (`service::mutate`) asks, the adapters act.

use std::collections::HashMap;

use super::cart::{Cart, CartEvent};
use super::catalog::{CatalogItem, ClaimPolicy};
use super::checkout::Shortage;
use super::ids::LineId;
use super::inventory::WantedHold;
use super::line_key::Sku;
use super::view::StockView;

/// A sku's claim: the catalog item's own, else the tenant's default.
pub fn claim_of(
    sku: &Sku,
    catalog: &HashMap<Sku, CatalogItem>,
    default_claim: ClaimPolicy,
) -> ClaimPolicy {
    catalog
        .get(sku)
        .and_then(|i| i.claim_policy)
        .unwrap_or(default_claim)
}

/// Lines that a mutation added or raised.
pub fn grown_lines(events: &[CartEvent]) -> Vec<LineId> {
    events
        .iter()
        .filter_map(|e| match e {
            CartEvent::LineAdded { line_id, .. } => Some(*line_id),
            CartEvent::LineQuantityChanged { line_id, from, to } if to > from => Some(*line_id),
            _ => None,
        })
        .collect()
}

/// Whether a mutation may have dropped a line whose stock was held.
pub fn releases(events: &[CartEvent]) -> bool {
    events.iter().any(|e| {
        matches!(
            e,
            CartEvent::LineRemoved { .. }
                | CartEvent::CartCleared { .. }
                | CartEvent::CartReplaced(_)
                | CartEvent::ReviewResolved { .. }
                | CartEvent::LineQuantityChanged { .. }
        )
    })
}

/// Grown `soft` lines asking for more than is available.
pub fn soft_shortages(
    cart: &Cart,
    catalog: &HashMap<Sku, CatalogItem>,
    stock: &StockView,
    grown: &[LineId],
) -> Vec<Shortage> {
    cart.lines
        .iter()
        .filter(|l| grown.contains(&l.id))
        .filter(|l| claim_of(l.sku(), catalog, stock.default_claim) == ClaimPolicy::Soft)
        .filter_map(|l| {
            let level = stock.levels.get(l.sku())?;
            (level.available() < i64::from(l.quantity.get())).then(|| Shortage {
                sku: l.sku().clone(),
                requested: l.quantity.get(),
                available: level.available(),
                line_ids: vec![l.id],
            })
        })
        .collect()
}

/// The holds the cart's `reserve` lines should have.
pub fn wanted_holds(
    cart: &Cart,
    catalog: &HashMap<Sku, CatalogItem>,
    stock: &StockView,
) -> Vec<WantedHold> {
    cart.lines
        .iter()
        .filter(|l| claim_of(l.sku(), catalog, stock.default_claim) == ClaimPolicy::Reserve)
        .map(|l| WantedHold {
            line_id: l.id,
            sku: l.sku().clone(),
            quantity: l.quantity.get(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration};

    use super::*;
    use crate::domain::cart::{AddLine, CartOwner, Rules};
    use crate::domain::inventory::StockLevel;
    use crate::domain::line_key::{Attributes, LineKey};
    use crate::domain::money::{Currency, Price};
    use crate::domain::quantity::CartLimits;
    use crate::domain::view::{Availability, CartView};
    use crate::domain::{Replaced, TenantId};

    fn rules() -> Rules {
        Rules {
            now: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            limits: CartLimits::default(),
            idle_ttl: Duration::days(7),
        }
    }

    fn item(sku: &str, claim: Option<ClaimPolicy>) -> CatalogItem {
        CatalogItem {
            sku: Sku::parse(sku).unwrap(),
            price: Price::from_minor_units(100, Currency::Usd),
            price_revision: 1,
            category: "general".into(),
            seller: None,
            attributes: Attributes::default(),
            claim_policy: claim,
            title: None,
            updated_at: rules().now,
        }
    }

    /// A cart with `qty` of each item, and the catalog it was filled from.
    fn cart_of(items: &[(CatalogItem, i64)]) -> (Cart, HashMap<Sku, CatalogItem>) {
        let owner = CartOwner::Customer("c1".into());
        let (mut cart, _) = Cart::new(
            TenantId::new(),
            owner,
            Currency::Usd,
            rules().now,
            Duration::days(7),
        );
        for (item, qty) in items {
            let key = LineKey::parse(item.sku.clone(), Attributes::default(), None, None).unwrap();
            let add = AddLine {
                key,
                quantity: *qty,
                item,
                order_type: None,
                replace_incompatible: false,
            };
            cart = cart.add_line(add, &rules()).unwrap().cart;
        }
        let catalog = items
            .iter()
            .map(|(i, _)| (i.sku.clone(), i.clone()))
            .collect();
        (cart, catalog)
    }

    fn stock(default_claim: ClaimPolicy, levels: &[(&str, i64, i64)]) -> StockView {
        StockView {
            default_claim,
            levels: levels
                .iter()
                .map(|(sku, on_hand, reserved)| {
                    let sku = Sku::parse(sku).unwrap();
                    let level = StockLevel {
                        sku: sku.clone(),
                        on_hand: *on_hand,
                        reserved: *reserved,
                    };
                    (sku, level)
                })
                .collect(),
            ..StockView::default()
        }
    }

    #[test]
    fn a_checkout_reservation_is_stock_the_lines_already_have() {
        // 3 in stock, all 3 reserved by this cart's checkout (2 + 1 over two lines of the
        // sku would be the same): the lines are in stock, not out of it.
        let (cart, catalog) = cart_of(&[(item("A", None), 3)]);
        let mut stock = stock(ClaimPolicy::Soft, &[("A", 3, 3)]);
        let view = CartView::assemble(&cart, &catalog).with_stock(&stock, &catalog);
        assert_eq!(view.lines[0].availability, Availability::OutOfStock);
        stock.checkout_holds.insert(Sku::parse("A").unwrap(), 3);
        let view = CartView::assemble(&cart, &catalog).with_stock(&stock, &catalog);
        assert_eq!(view.lines[0].availability, Availability::InStock);
    }

    #[test]
    fn an_item_claim_wins_over_the_tenant_default() {
        let (_, catalog) = cart_of(&[(item("A", Some(ClaimPolicy::Reserve)), 1)]);
        let a = Sku::parse("A").unwrap();
        assert_eq!(
            claim_of(&a, &catalog, ClaimPolicy::Soft),
            ClaimPolicy::Reserve
        );
        let gone = Sku::parse("GONE").unwrap();
        assert_eq!(
            claim_of(&gone, &catalog, ClaimPolicy::Interest),
            ClaimPolicy::Interest
        );
    }

    #[test]
    fn only_added_or_raised_lines_grow() {
        let (a, b, c) = (LineId::new(), LineId::new(), LineId::new());
        let sku = Sku::parse("A").unwrap();
        let events = [
            CartEvent::LineAdded {
                line_id: a,
                sku: sku.clone(),
                quantity: 1,
            },
            CartEvent::LineQuantityChanged {
                line_id: b,
                from: 1,
                to: 3,
            },
            CartEvent::LineQuantityChanged {
                line_id: c,
                from: 3,
                to: 1,
            },
        ];
        assert_eq!(grown_lines(&events), vec![a, b]);
    }

    #[test]
    fn removals_and_quantity_changes_may_release_holds() {
        let line_id = LineId::new();
        let sku = Sku::parse("A").unwrap();
        assert!(releases(&[CartEvent::LineRemoved { line_id, sku }]));
        assert!(releases(&[CartEvent::CartCleared { removed_lines: 1 }]));
        assert!(releases(&[CartEvent::CartReplaced(Replaced {
            previous_order_type: None,
            order_type: None,
            removed_lines: Vec::new(),
        })]));
        assert!(releases(&[CartEvent::LineQuantityChanged {
            line_id,
            from: 1,
            to: 2
        }]));
        assert!(!releases(&[CartEvent::ContextReplaced { keys: 1 }]));
        assert!(!releases(&[]));
    }

    #[test]
    fn a_grown_soft_line_beyond_availability_is_short() {
        let (cart, catalog) = cart_of(&[
            (item("SOFT", None), 3),
            (item("RESERVE", Some(ClaimPolicy::Reserve)), 9),
            (item("UNTRACKED", None), 9),
        ]);
        let stock = stock(ClaimPolicy::Soft, &[("SOFT", 5, 3), ("RESERVE", 1, 0)]);
        let grown: Vec<LineId> = cart.lines.iter().map(|l| l.id).collect();
        let shortages = soft_shortages(&cart, &catalog, &stock, &grown);
        assert_eq!(shortages.len(), 1, "{shortages:?}");
        assert_eq!(shortages[0].sku.to_string(), "SOFT");
        assert_eq!(shortages[0].requested, 3);
        assert_eq!(shortages[0].available, 2);
        assert_eq!(shortages[0].line_ids, vec![cart.lines[0].id]);
        // A line that did not grow is not checked.
        assert!(soft_shortages(&cart, &catalog, &stock, &[]).is_empty());
    }

    #[test]
    fn reserve_lines_want_holds_of_their_quantity() {
        let (cart, catalog) = cart_of(&[
            (item("SOFT", Some(ClaimPolicy::Soft)), 1),
            (item("HELD", None), 4),
        ]);
        let wanted = wanted_holds(&cart, &catalog, &stock(ClaimPolicy::Reserve, &[]));
        assert_eq!(
            wanted,
            vec![WantedHold {
                line_id: cart.lines[1].id,
                sku: Sku::parse("HELD").unwrap(),
                quantity: 4,
            }]
        );
        assert!(wanted_holds(&cart, &catalog, &stock(ClaimPolicy::Soft, &[])).is_empty());
    }
}
