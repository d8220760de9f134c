//! What a write reads before it decides (`CartRepository::load_with_rows`), on both
//! backends through `on_both_backends!` in `store.rs`.

use std::sync::atomic::Ordering;

use trolley_core::domain::{
    Actor, Cart, CartId, CartStatus, CatalogItem, CheckoutId, CheckoutSnapshot, Sku, StockLevel,
    TenantId, WantedHold,
};
use trolley_core::ports::{
    BeginCheckout, CartRepository, CartWithRows, CatalogRepository, CheckoutRepository,
    InventoryRepository,
};
use trolley_store::{Database, DbBackend, SqlCartRepository};

use crate::common::*;

async fn stock(db: &Database, tenant: TenantId, sku_: &str, on_hand: i64) {
    db.inventory()
        .set_on_hand(tenant, &sku(sku_), on_hand, t(1), &Actor::Operator)
        .await
        .unwrap()
        .unwrap();
}

fn skus_of<'a>(skus: impl Iterator<Item = &'a Sku>) -> Vec<&'a str> {
    skus.map(Sku::as_str).collect()
}

/// The items and levels `load_with_rows` must answer for `skus` of `tenant`: what the
/// catalog and inventory repositories read one by one.
async fn expected_rows(
    db: &Database,
    tenant: TenantId,
    skus: &[&str],
) -> (Vec<CatalogItem>, Vec<StockLevel>) {
    let skus: Vec<Sku> = skus.iter().map(|s| sku(s)).collect();
    (
        db.catalog().get_many(tenant, &skus).await.unwrap(),
        db.inventory().get_many(tenant, &skus).await.unwrap(),
    )
}

async fn read(db: &Database, tenant: TenantId, id: CartId, also: &[&str]) -> CartWithRows {
    let also: Vec<Sku> = also.iter().map(|s| sku(s)).collect();
    let mut read = db
        .carts()
        .load_with_rows(tenant, id, &also)
        .await
        .unwrap()
        .expect("the cart is there");
    read.items.sort_by(|a, b| a.sku.cmp(&b.sku));
    read.levels.sort_by(|a, b| a.sku.cmp(&b.sku));
    read
}

pub async fn load_with_rows_reads_the_cart_and_its_skus_rows_of_its_tenant(db: &Database) {
    let a = create_tenant(db, "A").await;
    let b = create_tenant(db, "B").await;
    let catalog = db.catalog();
    catalog
        .upsert(
            a.id,
            &[item("X", "1.00"), item("Y", "2.00"), item("Z", "3.00")],
            t(1),
            &Actor::Operator,
        )
        .await
        .unwrap();
    // Tenant B sells some of the same skus, at other prices, and one A does not.
    catalog
        .upsert(
            b.id,
            &[item("X", "9.00"), item("Z", "9.50"), item("W", "4.00")],
            t(1),
            &Actor::Operator,
        )
        .await
        .unwrap();
    stock(db, a.id, "X", 5).await;
    stock(db, a.id, "Z", 7).await;
    stock(db, b.id, "X", 100).await;
    stock(db, b.id, "W", 100).await;

    // A's cart: X twice (two keys), Y, in that order; Y's position is not its sku order.
    let mut cart = guest_cart(a.id);
    cart.lines.push(line("Y", "2.00", 1, 1));
    cart.lines.push(line("X", "1.00", 2, 2));
    let mut other_x = line("X", "1.00", 1, 3);
    other_x.key.attributes = attrs(&[("size", "L")]);
    cart.lines.push(other_x);
    db.carts().insert(&cart, None).await.unwrap();

    // The cart as `load` reads it; the rows of its skus and of the extra ones asked for
    // (an unknown sku has none, a repeat is answered once).
    let got = read(db, a.id, cart.id, &["Z", "NOPE", "X"]).await;
    assert_eq!(
        Some(&got.cart),
        db.carts().load(a.id, cart.id).await.unwrap().as_ref()
    );
    assert_eq!(got.cart, cart);
    let (items, levels) = expected_rows(db, a.id, &["X", "Y", "Z"]).await;
    assert_eq!(skus_of(got.items.iter().map(|i| &i.sku)), ["X", "Y", "Z"]);
    assert_eq!(got.items, items, "A's prices, never B's");
    assert_eq!(skus_of(got.levels.iter().map(|l| &l.sku)), ["X", "Z"]);
    assert_eq!(got.levels, levels, "A's stock, never B's");

    // Nothing extra: only the lines' skus. A sku only another tenant has: nothing.
    let got = read(db, a.id, cart.id, &["W"]).await;
    assert_eq!(skus_of(got.items.iter().map(|i| &i.sku)), ["X", "Y"]);
    assert_eq!(skus_of(got.levels.iter().map(|l| &l.sku)), ["X"]);
    let got = read(db, a.id, cart.id, &[]).await;
    assert_eq!(skus_of(got.items.iter().map(|i| &i.sku)), ["X", "Y"]);

    // Another tenant's cart id is no cart, whatever the skus; so is an unknown id.
    let carts = db.carts();
    assert_eq!(
        carts
            .load_with_rows(b.id, cart.id, &[sku("X")])
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        carts
            .load_with_rows(a.id, CartId::new(), &[sku("X")])
            .await
            .unwrap(),
        None
    );

    // B's empty cart reads B's rows of the skus asked for, and none of A's lines.
    let empty = customer_cart(b.id, "bea");
    carts.insert(&empty, None).await.unwrap();
    let got = read(db, b.id, empty.id, &["X", "Y"]).await;
    assert_eq!(got.cart, empty);
    let (items, levels) = expected_rows(db, b.id, &["X"]).await;
    assert_eq!(got.items, items);
    assert_eq!(got.levels, levels);
    let got = read(db, b.id, empty.id, &[]).await;
    assert!(got.items.is_empty() && got.levels.is_empty());
}

/// The cart's line holds and its pending checkout's holds come with it, and only its own:
/// pricing a write or a checkout then needs no read of its own for them.
pub async fn load_with_rows_reads_what_the_cart_holds(db: &Database) {
    let tenant = create_tenant(db, "Holds").await;
    db.catalog()
        .upsert(
            tenant.id,
            &[item("X", "1.00"), item("Y", "2.00")],
            t(1),
            &Actor::Operator,
        )
        .await
        .unwrap();
    stock(db, tenant.id, "X", 10).await;
    stock(db, tenant.id, "Y", 10).await;
    let mut cart = guest_cart(tenant.id);
    cart.lines.push(line("X", "1.00", 2, 1));
    cart.lines.push(line("Y", "2.00", 1, 2));
    db.carts().insert(&cart, None).await.unwrap();
    let mut neighbour = guest_cart(tenant.id);
    neighbour.lines.push(line("X", "1.00", 3, 1));
    db.carts().insert(&neighbour, None).await.unwrap();
    let inventory = db.inventory();
    for (of, l) in [(&cart, &cart.lines[0]), (&neighbour, &neighbour.lines[0])] {
        let wanted = [WantedHold {
            line_id: l.id,
            sku: l.sku().clone(),
            quantity: l.quantity.get(),
        }];
        let short = inventory
            .sync_line_holds(tenant.id, of.id, &wanted, t(60_000))
            .await
            .unwrap();
        assert!(short.is_empty());
    }

    let got = read(db, tenant.id, cart.id, &[]).await;
    assert_eq!(
        got.line_holds,
        inventory.line_holds(tenant.id, cart.id).await.unwrap(),
        "what `line_holds` reads"
    );
    assert_eq!(
        got.line_holds.len(),
        1,
        "the neighbour's hold is not this cart's"
    );
    assert_eq!(got.line_holds[0].line_id, cart.lines[0].id);
    assert_eq!(got.line_holds[0].quantity, 2);
    assert!(got.checkout_holds.is_empty());

    // A pending checkout: its holds replace the line holds.
    let frozen = Cart {
        status: CartStatus::CheckingOut,
        version: cart.version + 1,
        ..cart.clone()
    };
    let snapshot = CheckoutSnapshot {
        checkout_id: CheckoutId::new(),
        cart_id: cart.id,
        cart_version: cart.version,
        currency: "EUR".into(),
        lines: Vec::new(),
        fees: Vec::new(),
        subtotal: dec("4.00"),
        total: dec("4.00"),
        fulfillment: None,
        plugin: None,
        reservations: Vec::new(),
        customer_id: None,
        context: cart.context.clone(),
        validated_at: t(10),
        expires_at: t(60_000),
    };
    let wanted = vec![
        (sku("X"), 2, vec![cart.lines[0].id]),
        (sku("Y"), 1, vec![cart.lines[1].id]),
    ];
    let started = db
        .checkouts()
        .begin(tenant.id, &frozen, &cart, &snapshot, &wanted, None)
        .await
        .unwrap();
    assert!(matches!(started, BeginCheckout::Started(_)), "{started:?}");
    let got = read(db, tenant.id, cart.id, &[]).await;
    assert!(got.line_holds.is_empty());
    let mut held = got.checkout_holds.clone();
    held.sort();
    assert_eq!(held, [(sku("X"), 2), (sku("Y"), 1)]);
    let mut expected = inventory.checkout_holds(tenant.id, cart.id).await.unwrap();
    expected.sort();
    assert_eq!(held, expected, "what `checkout_holds` reads");
}

/// On PostgreSQL the whole read is one statement (one round trip); on SQLite the four
/// queries of a cart read, a holds read, a catalog read and a stock read (inside one read transaction,
/// whose BEGIN and COMMIT the driver sends without a statement to count).
pub async fn load_with_rows_is_one_statement_on_postgres(db: &Database) {
    let tenant = create_tenant(db, "Counted").await;
    db.catalog()
        .upsert(tenant.id, &[item("X", "1.00")], t(1), &Actor::Operator)
        .await
        .unwrap();
    let mut cart = guest_cart(tenant.id);
    cart.lines.push(line("X", "1.00", 1, 1));
    db.carts().insert(&cart, None).await.unwrap();

    let (counted, statements) = counting_connection(db);
    let read = SqlCartRepository::new(counted)
        .load_with_rows(tenant.id, cart.id, &[sku("Y")])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.cart, cart);
    assert_eq!(skus_of(read.items.iter().map(|i| &i.sku)), ["X"]);
    let expected = match db.backend() {
        DbBackend::Postgres => 1,
        _ => 4,
    };
    assert_eq!(statements.load(Ordering::SeqCst), expected);
}
