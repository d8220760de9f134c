use super::*;
use crate::domain::catalog::CatalogItem;
use crate::domain::line_key::Attributes;
use proptest::prelude::*;
use rust_decimal::Decimal;

pub(super) fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap()
}

fn rules() -> Rules {
    Rules {
        now: now(),
        limits: CartLimits::default(),
        idle_ttl: Duration::days(7),
    }
}

pub(super) fn item(sku: &str, cents: i64) -> CatalogItem {
    CatalogItem {
        sku: Sku::parse(sku).unwrap(),
        price: Price::from_minor_units(cents, Currency::Usd),
        price_revision: 1,
        category: "general".into(),
        seller: None,
        attributes: Attributes::default(),
        claim_policy: None,
        title: None,
        updated_at: now(),
    }
}

pub(super) fn key(sku: &str, attrs: &[(&str, &str)]) -> LineKey {
    let map = attrs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    LineKey::parse(
        Sku::parse(sku).unwrap(),
        Attributes::parse(map).unwrap(),
        None,
        None,
    )
    .unwrap()
}

pub(super) fn empty_cart() -> Cart {
    let owner = CartOwner::Customer("c1".into());
    Cart::new(
        TenantId::new(),
        owner,
        Currency::Usd,
        now(),
        Duration::days(7),
    )
    .0
}

pub(super) fn add(
    cart: Cart,
    item: &CatalogItem,
    key: LineKey,
    qty: i64,
) -> Result<Changed, CoreError> {
    cart.add_line(
        AddLine {
            key,
            quantity: qty,
            item,
            order_type: None,
            replace_incompatible: false,
        },
        &rules(),
    )
}

#[test]
fn a_merged_cart_ends_pointing_at_its_target() {
    let apple = item("APPLE", 150);
    let guest = add(empty_cart(), &apple, key("APPLE", &[]), 2)
        .unwrap()
        .cart;
    let target = CartId::new();
    let later = now() + Duration::minutes(5);
    let merged = guest.clone().merged_into(target, later);
    assert_eq!(merged.events, vec![CartEvent::CartMergedInto { target }]);
    let cart = merged.cart;
    assert_eq!(cart.status, CartStatus::Merged);
    assert_eq!(cart.merged_into, Some(target));
    assert_eq!(cart.version, guest.version + 1);
    assert_eq!(cart.updated_at, later);
    // What it held stays on record; only its state moved.
    assert_eq!(cart.lines, guest.lines);
    assert_eq!(cart.expires_at, guest.expires_at);
    assert!(cart.ensure_active().is_err());
}

#[test]
fn adding_the_same_key_increments_the_line() {
    let apple = item("APPLE", 150);
    let c = add(empty_cart(), &apple, key("APPLE", &[]), 2)
        .unwrap()
        .cart;
    let changed = add(c, &apple, key("APPLE", &[]), 3).unwrap();
    assert_eq!(changed.cart.lines.len(), 1);
    assert_eq!(changed.cart.lines[0].quantity.get(), 5);
    assert_eq!(changed.cart.lines[0].line_version, 2);
    assert_eq!(changed.cart.version, 3);
    assert!(matches!(
        changed.events[..],
        [CartEvent::LineQuantityChanged { from: 2, to: 5, .. }]
    ));
}

#[test]
fn a_different_variant_is_a_different_line() {
    let shirt = item("SHIRT", 1000);
    let c = add(empty_cart(), &shirt, key("SHIRT", &[("colour", "red")]), 1)
        .unwrap()
        .cart;
    let c = add(c, &shirt, key("SHIRT", &[("colour", "blue")]), 1)
        .unwrap()
        .cart;
    assert_eq!(c.lines.len(), 2);
}

#[test]
fn stale_line_version_is_a_conflict_carrying_the_current_line() {
    let apple = item("APPLE", 150);
    let c = add(empty_cart(), &apple, key("APPLE", &[]), 1)
        .unwrap()
        .cart;
    let id = c.lines[0].id;
    let c = c.set_quantity(id, 2, Some(1), &rules()).unwrap().cart;
    match c.clone().remove_line(id, Some(1), &rules()) {
        Err(CoreError::LineConflict {
            expected: 1,
            current,
        }) => {
            assert_eq!(current.quantity.get(), 2);
            assert_eq!(current.line_version, 2);
        }
        other => panic!("expected a line conflict, got {other:?}"),
    }
}

#[test]
fn limits_refuse_and_change_nothing() {
    let apple = item("APPLE", 150);
    let c = add(empty_cart(), &apple, key("APPLE", &[]), 999)
        .unwrap()
        .cart;
    assert!(matches!(
        add(c.clone(), &apple, key("APPLE", &[]), 1),
        Err(CoreError::QuantityOutOfRange { .. })
    ));
    let limits = CartLimits {
        max_lines: 1,
        ..CartLimits::default()
    };
    let r = Rules { limits, ..rules() };
    let other = item("PEAR", 100);
    let refused = c.add_line(
        AddLine {
            key: key("PEAR", &[]),
            quantity: 1,
            item: &other,
            order_type: None,
            replace_incompatible: false,
        },
        &r,
    );
    assert!(matches!(refused, Err(CoreError::TooManyLines { max: 1 })));
}

#[test]
fn an_incompatible_order_type_is_refused_unless_replacing() {
    let pizza = item("PIZZA", 1200);
    let milk = item("MILK", 300);
    let with = |order_type: &str, replace: bool, cart: Cart, item: &CatalogItem, sku: &str| {
        cart.add_line(
            AddLine {
                key: key(sku, &[]),
                quantity: 1,
                item,
                order_type: Some(order_type.into()),
                replace_incompatible: replace,
            },
            &rules(),
        )
    };
    let c = with("food", false, empty_cart(), &pizza, "PIZZA")
        .unwrap()
        .cart;
    assert!(matches!(
        with("grocery", false, c.clone(), &milk, "MILK"),
        Err(CoreError::IncompatibleOrderType { .. })
    ));
    let pizza_line = c.lines[0].clone();
    let replaced = with("grocery", true, c, &milk, "MILK").unwrap();
    assert_eq!(replaced.cart.order_type.as_deref(), Some("grocery"));
    assert_eq!(replaced.cart.lines.len(), 1);
    // The answer can say what went and why: the old order type and every removed line.
    assert_eq!(
        replaced.events[0],
        CartEvent::CartReplaced(Replaced {
            previous_order_type: Some("food".into()),
            order_type: Some("grocery".into()),
            removed_lines: vec![RemovedLine {
                line_id: pizza_line.id,
                key: pizza_line.key,
                title: None,
                quantity: 1,
            }],
        })
    );
    assert!(matches!(replaced.events[1], CartEvent::LineAdded { .. }));
}

#[test]
fn a_compatible_add_replaces_nothing_even_when_asked_to() {
    let milk = item("MILK", 300);
    let add = |cart: Cart| {
        cart.add_line(
            AddLine {
                key: key("MILK", &[]),
                quantity: 1,
                item: &milk,
                order_type: Some("grocery".into()),
                replace_incompatible: true,
            },
            &rules(),
        )
        .unwrap()
    };
    let twice = add(add(empty_cart()).cart);
    assert_eq!(twice.cart.lines[0].quantity.get(), 2);
    assert!(
        !twice
            .events
            .iter()
            .any(|e| matches!(e, CartEvent::CartReplaced(_)))
    );
}

#[test]
fn frozen_and_merged_carts_refuse_mutations() {
    let apple = item("APPLE", 150);
    let mut c = empty_cart();
    c.status = CartStatus::CheckingOut;
    assert!(matches!(
        add(c.clone(), &apple, key("APPLE", &[]), 1),
        Err(CoreError::CartFrozen)
    ));
    c.status = CartStatus::Merged;
    c.merged_into = Some(CartId::new());
    assert!(matches!(
        c.clear(&rules()),
        Err(CoreError::CartMerged { .. })
    ));
}

/// One step a shopper can take.
#[derive(Debug, Clone)]
enum Op {
    Add {
        sku: u8,
        attrs_reversed: bool,
        qty: i64,
    },
    Set {
        index: usize,
        qty: i64,
    },
    Remove {
        index: usize,
    },
    Clear,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..6, any::<bool>(), -5i64..1200).prop_map(|(sku, attrs_reversed, qty)| Op::Add { sku, attrs_reversed, qty }),
        2 => (0usize..8, -5i64..1200).prop_map(|(index, qty)| Op::Set { index, qty }),
        1 => (0usize..8).prop_map(|index| Op::Remove { index }),
        1 => Just(Op::Clear),
    ]
}

fn apply(cart: Cart, op: &Op, items: &[CatalogItem]) -> Result<Changed, CoreError> {
    match op {
        Op::Add {
            sku,
            attrs_reversed,
            qty,
        } => {
            let it = &items[*sku as usize];
            // The same attributes, in either insertion order.
            let mut pairs = vec![("size", "M"), ("colour", "red")];
            if *attrs_reversed {
                pairs.reverse();
            }
            add(cart, it, key(it.sku.as_str(), &pairs), *qty)
        }
        Op::Set { index, qty } => match cart.lines.get(*index).map(|l| l.id) {
            Some(id) => cart.set_quantity(id, *qty, None, &rules()),
            None => Ok(Changed {
                cart,
                events: vec![],
            }),
        },
        Op::Remove { index } => match cart.lines.get(*index).map(|l| l.id) {
            Some(id) => cart.remove_line(id, None, &rules()),
            None => Ok(Changed {
                cart,
                events: vec![],
            }),
        },
        Op::Clear => cart.clear(&rules()),
    }
}

proptest! {
    #[test]
    fn invariants_hold_over_any_sequence(
        ops in proptest::collection::vec(op(), 1..60),
        prices in proptest::collection::vec(0i64..100_000, 6),
    ) {
        let items: Vec<CatalogItem> = prices
            .iter()
            .enumerate()
            .map(|(i, cents)| item(&format!("SKU-{i}"), *cents))
            .collect();
        let mut cart = empty_cart();
        for op in &ops {
            let before = cart.clone();
            match apply(cart.clone(), op, &items) {
                Ok(changed) => {
                    // Versions only grow, and grow exactly when something happened.
                    if changed.events.is_empty() {
                        prop_assert_eq!(changed.cart.version, before.version);
                    } else {
                        prop_assert_eq!(changed.cart.version, before.version + 1);
                    }
                    for line in &changed.cart.lines {
                        if let Some(old) = before.lines.iter().find(|l| l.id == line.id) {
                            prop_assert!(line.line_version >= old.line_version);
                        }
                    }
                    cart = changed.cart;
                }
                // A refused mutation leaves the caller's cart as it was.
                Err(_) => prop_assert_eq!(&cart, &before),
            }
            // Quantities never leave their bounds.
            for line in &cart.lines {
                prop_assert!((1..=999).contains(&line.quantity.get()));
            }
            // Attribute order never makes two lines: keys are unique.
            let mut keys: Vec<String> = cart.lines.iter().map(|l| l.key.canonical()).collect();
            keys.sort();
            keys.dedup();
            prop_assert_eq!(keys.len(), cart.lines.len());
            prop_assert!(cart.lines.len() <= 6);
            // The subtotal is the sum of rounded line totals.
            let expected: Decimal = cart
                .lines
                .iter()
                .map(|l| Currency::Usd.round(l.unit_price.amount() * Decimal::from(l.quantity.get())))
                .sum();
            prop_assert_eq!(cart.subtotal(), expected);
        }
    }

    #[test]
    fn line_totals_round_to_the_currency(cents in 0i64..10_000_000, qty in 1i64..=999) {
        for currency in Currency::ALL {
            let price = Price::from_minor_units(cents, currency);
            let q = Quantity::parse(qty, &CartLimits::default()).unwrap();
            let total = line_total(price, q);
            prop_assert!(total.normalize().scale() <= currency.exponent());
        }
    }
}
