use super::*;
use crate::domain::cart::AddLine;
use crate::domain::{
    Attributes, CartId, CartLimits, CartOwner, Currency, LineKey, Price, TenantId,
};
use chrono::{DateTime, Duration, Utc};

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
}

fn rules_at(seconds: i64) -> Rules {
    Rules {
        now: at(seconds),
        limits: CartLimits::default(),
        idle_ttl: Duration::days(7),
    }
}

fn item(sku: &str) -> CatalogItem {
    CatalogItem {
        sku: Sku::parse(sku).unwrap(),
        price: Price::from_minor_units(100, Currency::Usd),
        price_revision: 1,
        category: "general".into(),
        seller: None,
        attributes: Attributes::default(),
        claim_policy: None,
        title: None,
        updated_at: at(0),
    }
}

fn key(sku: &str, colour: Option<&str>) -> LineKey {
    let attrs = colour
        .map(|c| [("colour".to_owned(), c.to_owned())].into_iter().collect())
        .unwrap_or_default();
    LineKey::parse(
        Sku::parse(sku).unwrap(),
        Attributes::parse(attrs).unwrap(),
        None,
        None,
    )
    .unwrap()
}

fn cart(owner: CartOwner, lines: &[(&str, Option<&str>, i64, i64)]) -> Cart {
    let tenant = TenantId(uuid::Uuid::nil());
    let (mut cart, _) = Cart::new(tenant, owner, Currency::Usd, at(0), Duration::days(7));
    for (sku, colour, qty, when) in lines {
        let it = item(sku);
        cart = cart
            .add_line(
                AddLine {
                    key: key(sku, *colour),
                    quantity: *qty,
                    item: &it,
                    order_type: None,
                    replace_incompatible: false,
                },
                &rules_at(*when),
            )
            .unwrap()
            .cart;
    }
    cart
}

fn guest(lines: &[(&str, Option<&str>, i64, i64)]) -> Cart {
    cart(
        CartOwner::Guest {
            token_hash: "h".into(),
        },
        lines,
    )
}

fn customer(lines: &[(&str, Option<&str>, i64, i64)]) -> Cart {
    cart(CartOwner::Customer("c".into()), lines)
}

fn catalog(skus: &[&str]) -> HashMap<Sku, CatalogItem> {
    skus.iter()
        .map(|s| (Sku::parse(s).unwrap(), item(s)))
        .collect()
}

/// (sku, quantity, outcome) for every outcome, sorted by sku.
fn summary(merged: &Merged) -> Vec<(String, u32, &'static str)> {
    let mut v: Vec<_> = merged
        .outcomes
        .iter()
        .map(|o| (o.sku.clone(), o.quantity, o.outcome.as_str()))
        .collect();
    v.sort();
    v
}

fn quantities(merged: &Merged) -> Vec<(String, u32, bool)> {
    let mut v: Vec<_> = merged
        .changed
        .cart
        .lines
        .iter()
        .map(|l| (l.key.sku.to_string(), l.quantity.get(), l.needs_review()))
        .collect();
    v.sort();
    v
}

#[test]
fn the_classic_login_under_every_policy() {
    // Guest {A×1, B×2} (B touched at t=20) + customer {B×1 (t=10), C×3}.
    let g = guest(&[("A", None, 1, 5), ("B", None, 2, 20)]);
    let c = customer(&[("B", None, 1, 10), ("C", None, 3, 10)]);
    let cat = catalog(&["A", "B", "C"]);
    let run = |policy| {
        c.clone()
            .absorb(&g, policy, &cat, &HashMap::new(), &rules_at(30))
            .unwrap()
    };

    let sum = run(MergePolicy::Sum);
    assert_eq!(
        summary(&sum),
        vec![
            ("A".into(), 1, "added"),
            ("B".into(), 3, "summed"),
            ("C".into(), 3, "kept_target")
        ]
    );

    let latest = run(MergePolicy::Latest);
    assert_eq!(
        summary(&latest),
        vec![
            ("A".into(), 1, "added"),
            ("B".into(), 2, "kept_source"),
            ("C".into(), 3, "kept_target")
        ]
    );

    let keep_target = run(MergePolicy::KeepTarget);
    assert_eq!(
        summary(&keep_target),
        vec![
            ("A".into(), 1, "added"),
            ("B".into(), 1, "kept_target"),
            ("C".into(), 3, "kept_target")
        ]
    );

    let keep_source = run(MergePolicy::KeepSource);
    assert_eq!(
        summary(&keep_source),
        vec![
            ("A".into(), 1, "added"),
            ("B".into(), 2, "kept_source"),
            ("C".into(), 3, "kept_target")
        ]
    );

    let review = run(MergePolicy::Review);
    assert_eq!(
        summary(&review),
        vec![
            ("A".into(), 1, "added"),
            ("B".into(), 1, "conflict_surfaced"),
            ("C".into(), 3, "kept_target")
        ]
    );
    assert_eq!(
        quantities(&review),
        vec![
            ("A".into(), 1, false),
            ("B".into(), 1, true),
            ("B".into(), 2, true),
            ("C".into(), 3, false)
        ]
    );
    // Both sides of the conflict are stored under distinct keys.
    let keys: std::collections::HashSet<_> = review
        .changed
        .cart
        .lines
        .iter()
        .map(Line::storage_key)
        .collect();
    assert_eq!(keys.len(), 4);
    assert_eq!(review.changed.cart.version, c.version + 1);
}

#[test]
fn a_variant_is_identity_under_every_policy() {
    let g = guest(&[("A", Some("red"), 1, 5)]);
    let c = customer(&[("A", Some("blue"), 2, 5)]);
    for policy in [
        MergePolicy::Sum,
        MergePolicy::Latest,
        MergePolicy::KeepTarget,
        MergePolicy::KeepSource,
        MergePolicy::Review,
    ] {
        let merged = c
            .clone()
            .absorb(&g, policy, &catalog(&["A"]), &HashMap::new(), &rules_at(9))
            .unwrap();
        assert_eq!(merged.changed.cart.lines.len(), 2, "{policy:?}");
        assert!(merged.changed.cart.lines.iter().all(|l| !l.needs_review()));
    }
}

#[test]
fn sums_are_capped_and_say_so() {
    let g = guest(&[("A", None, 600, 5)]);
    let c = customer(&[("A", None, 500, 5)]);
    let merged = c
        .absorb(
            &g,
            MergePolicy::Sum,
            &catalog(&["A"]),
            &HashMap::new(),
            &rules_at(9),
        )
        .unwrap();
    let o = &merged.outcomes[0];
    assert_eq!(
        (o.outcome, o.quantity, o.reason.as_deref()),
        (Outcome::Capped, 999, Some("max_quantity"))
    );
    assert_eq!(merged.changed.cart.lines[0].quantity.get(), 999);
}

#[test]
fn discontinued_skus_are_dropped_and_reported() {
    let g = guest(&[("GONE", None, 1, 5), ("A", None, 1, 5)]);
    let c = customer(&[]);
    let merged = c
        .absorb(
            &g,
            MergePolicy::Sum,
            &catalog(&["A"]),
            &HashMap::new(),
            &rules_at(9),
        )
        .unwrap();
    assert_eq!(
        summary(&merged),
        vec![
            ("A".into(), 1, "added"),
            ("GONE".into(), 0, "dropped_unavailable")
        ]
    );
    assert_eq!(merged.changed.cart.lines.len(), 1);
}

#[test]
fn the_line_limit_caps_added_lines() {
    let g = guest(&[("A", None, 1, 5), ("B", None, 1, 5)]);
    let c = customer(&[("C", None, 1, 5)]);
    let mut r = rules_at(9);
    r.limits.max_lines = 2;
    let merged = c
        .absorb(
            &g,
            MergePolicy::Sum,
            &catalog(&["A", "B", "C"]),
            &HashMap::new(),
            &r,
        )
        .unwrap();
    assert_eq!(
        summary(&merged),
        vec![
            ("A".into(), 1, "added"),
            ("B".into(), 0, "capped"),
            ("C".into(), 1, "kept_target")
        ]
    );
}

#[test]
fn touching_one_side_of_a_conflict_resolves_it() {
    let g = guest(&[("B", None, 2, 5)]);
    let c = customer(&[("B", None, 1, 5)]);
    let merged = c
        .absorb(
            &g,
            MergePolicy::Review,
            &catalog(&["B"]),
            &HashMap::new(),
            &rules_at(9),
        )
        .unwrap();
    let cart = merged.changed.cart;
    let source_side = cart
        .lines
        .iter()
        .find(|l| l.review == Some(ReviewSide::Source))
        .unwrap()
        .id;
    let resolved = cart
        .clone()
        .set_quantity(source_side, 2, None, &rules_at(10))
        .unwrap();
    assert_eq!(resolved.cart.lines.len(), 1);
    assert!(!resolved.cart.lines[0].needs_review());
    assert_eq!(resolved.cart.lines[0].quantity.get(), 2);

    // Removing one side leaves the other, no longer flagged.
    let target_side = cart
        .lines
        .iter()
        .find(|l| l.review == Some(ReviewSide::Target))
        .unwrap()
        .id;
    let removed = cart.remove_line(target_side, None, &rules_at(10)).unwrap();
    assert_eq!(removed.cart.lines.len(), 1);
    assert!(!removed.cart.lines[0].needs_review());
    assert_eq!(removed.cart.lines[0].quantity.get(), 2);
}

#[test]
fn only_active_carts_merge() {
    let mut g = guest(&[("A", None, 1, 5)]);
    g.status = crate::domain::CartStatus::Merged;
    g.merged_into = Some(CartId::new());
    let c = customer(&[]);
    assert!(matches!(
        c.clone().absorb(
            &g,
            MergePolicy::Sum,
            &catalog(&["A"]),
            &HashMap::new(),
            &rules_at(9)
        ),
        Err(CoreError::CartMerged { .. })
    ));
    let mut frozen = customer(&[]);
    frozen.status = crate::domain::CartStatus::CheckingOut;
    let g = guest(&[("A", None, 1, 5)]);
    assert!(matches!(
        frozen.absorb(
            &g,
            MergePolicy::Sum,
            &catalog(&["A"]),
            &HashMap::new(),
            &rules_at(9)
        ),
        Err(CoreError::CartFrozen)
    ));
}

#[test]
fn stock_caps_what_the_merge_adds() {
    let g = guest(&[("A", None, 5, 5), ("B", None, 2, 5), ("C", None, 4, 5)]);
    let c = customer(&[("C", None, 3, 5)]);
    // A: 3 left; B: none left; C: 1 left (the customer's 3 stay).
    let stock: HashMap<Sku, i64> = [("A", 3), ("B", 0), ("C", 1)]
        .into_iter()
        .map(|(s, n)| (Sku::parse(s).unwrap(), n))
        .collect();
    let merged = c
        .absorb(
            &g,
            MergePolicy::Sum,
            &catalog(&["A", "B", "C"]),
            &stock,
            &rules_at(9),
        )
        .unwrap();
    assert_eq!(
        summary(&merged),
        vec![
            ("A".into(), 3, "capped"),
            ("B".into(), 0, "dropped_unavailable"),
            ("C".into(), 3, "capped")
        ]
    );
}

#[test]
fn another_order_type_is_left_in_the_guest_cart_not_dropped() {
    let mut g = guest(&[("PIZZA", None, 2, 5), ("GONE", None, 1, 5)]);
    g.order_type = Some("food".into());
    let mut c = customer(&[("MILK", None, 1, 10)]);
    c.order_type = Some("grocery".into());
    // GONE left the catalog: it is left in the guest cart too (nothing moves at all).
    let cat = catalog(&["PIZZA", "MILK"]);
    for policy in [
        MergePolicy::Sum,
        MergePolicy::KeepSource,
        MergePolicy::Review,
    ] {
        let merged = c
            .clone()
            .absorb(&g, policy, &cat, &HashMap::new(), &rules_at(30))
            .unwrap();
        assert!(!merged.absorbed);
        assert!(merged.changed.events.is_empty(), "nothing to write");
        assert_eq!(merged.changed.cart, c, "the customer cart is unchanged");
        assert_eq!(
            summary(&merged),
            vec![
                ("GONE".into(), 0, "left_in_source"),
                ("MILK".into(), 1, "kept_target"),
                ("PIZZA".into(), 0, "left_in_source"),
            ]
        );
        let pizza = merged.outcomes.iter().find(|o| o.sku == "PIZZA").unwrap();
        assert_eq!(pizza.reason.as_deref(), Some("incompatible_order_type"));
        assert_eq!(pizza.source_quantity, Some(2));
        assert_eq!(pizza.line_id, None);
    }
    // Into an empty customer cart the guest's order type simply comes along.
    let empty = customer(&[]);
    let merged = empty
        .absorb(&g, MergePolicy::Sum, &cat, &HashMap::new(), &rules_at(30))
        .unwrap();
    assert!(merged.absorbed);
    assert_eq!(merged.changed.cart.order_type.as_deref(), Some("food"));
}
