//! The pure part of a cart read: pricing the durable lines against the current catalog
//! (`CartView::assemble`) and decorating them with stock (`with_stock`), exactly as
//! `CartService::price` does on every `GET /v1/carts/{id}` once the cart, its catalog items
//! and its stock levels are loaded; and the pure `Cart::add_line` mutation of the write
//! path. Carts of 5 and 100 lines (100 is the default `max_lines`), every sku tracked.
//!
//! `cargo bench -p trolley-core --bench cart_assembly -- --warm-up-time 1 --measurement-time 3`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

use trolley_core::domain::cart::{AddLine, Rules};
use trolley_core::domain::{
    Attributes, Cart, CartLimits, CartOwner, CartView, CatalogItem, ClaimPolicy, Currency, LineKey,
    Price, Sku, StockLevel, StockView, TenantId,
};

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap()
}

fn rules() -> Rules {
    Rules {
        now: now(),
        limits: CartLimits::default(),
        idle_ttl: Duration::days(7),
    }
}

fn item(i: usize) -> CatalogItem {
    let mut attributes = BTreeMap::new();
    if i % 10 == 9 {
        attributes.insert("cold_chain".to_owned(), "true".to_owned());
    }
    CatalogItem {
        sku: Sku::parse(&format!("G{i:05}")).unwrap(),
        price: Price::from_minor_units(50 + (i as i64 * 7_919) % 1_500, Currency::Usd),
        price_revision: 1,
        category: "grocery".into(),
        seller: None,
        attributes: Attributes::parse(attributes).unwrap(),
        claim_policy: None,
        title: Some(format!("Grocery item {i}")),
        updated_at: now(),
    }
}

/// A guest cart of `lines` grocery lines (quantity 1–3), the catalog entries a read loads
/// for it (one in ten repriced since the line was added, so `price_changed` is exercised),
/// and its stock levels.
fn fixture(lines: usize) -> (Cart, HashMap<Sku, CatalogItem>, StockView) {
    let owner = CartOwner::Guest {
        token_hash: "0".repeat(64),
    };
    let (mut cart, _) = Cart::new(
        TenantId::new(),
        owner,
        Currency::Usd,
        now(),
        Duration::days(7),
    );
    let mut catalog = HashMap::new();
    let mut stock = StockView {
        default_claim: ClaimPolicy::Soft,
        low_stock_threshold: 5,
        ..StockView::default()
    };
    for i in 0..lines {
        let item = item(i * 37);
        let key = LineKey::parse(item.sku.clone(), Attributes::default(), None, None).unwrap();
        cart = cart
            .add_line(
                AddLine {
                    key,
                    quantity: 1 + (i % 3) as i64,
                    item: &item,
                    order_type: Some("grocery".into()),
                    replace_incompatible: false,
                },
                &rules(),
            )
            .unwrap()
            .cart;
        let mut current = item.clone();
        if i % 10 == 0 {
            current.price =
                Price::from_minor_units(current.price.minor_units() + 10, Currency::Usd);
            current.price_revision += 1;
        }
        stock.levels.insert(
            item.sku.clone(),
            StockLevel {
                sku: item.sku.clone(),
                on_hand: 1_000,
                reserved: (i % 7) as i64,
            },
        );
        catalog.insert(item.sku.clone(), current);
    }
    (cart, catalog, stock)
}

fn assembly(c: &mut Criterion) {
    let mut group = c.benchmark_group("cart_view");
    for lines in [5, 100] {
        let (cart, catalog, stock) = fixture(lines);
        group.bench_with_input(BenchmarkId::new("assemble", lines), &lines, |b, _| {
            b.iter(|| {
                black_box(
                    CartView::assemble(black_box(&cart), black_box(&catalog))
                        .with_stock(black_box(&stock), &catalog),
                )
            })
        });
    }
    group.finish();
}

fn add_line(c: &mut Criterion) {
    let mut group = c.benchmark_group("cart_add_line");
    let extra = item(99_999);
    for lines in [5, 99] {
        let (cart, _, _) = fixture(lines);
        let key = LineKey::parse(extra.sku.clone(), Attributes::default(), None, None).unwrap();
        let rules = rules();
        // The mutation consumes the cart, as the service's retry loop does with its copy.
        group.bench_with_input(BenchmarkId::new("new_line", lines), &lines, |b, _| {
            b.iter(|| {
                black_box(
                    black_box(cart.clone())
                        .add_line(
                            AddLine {
                                key: key.clone(),
                                quantity: 1,
                                item: &extra,
                                order_type: Some("grocery".into()),
                                replace_incompatible: false,
                            },
                            &rules,
                        )
                        .unwrap(),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, assembly, add_line);
criterion_main!(benches);
