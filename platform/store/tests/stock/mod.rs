//! Inventory, holds, checkouts and orders (`SqlInventoryRepository`,
//! `SqlCheckoutRepository`), on both backends through `on_both_backends!` in `store.rs`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use trolley_core::domain::checkout::{
    SnapshotFee, SnapshotFulfillment, SnapshotLine, SnapshotPlugin, SnapshotReservation,
};
use trolley_core::domain::{
    Actor, Cart, CartId, CartStatus, CheckoutId, CheckoutSnapshot, CheckoutStatus, LineId, Order,
    OrderId, Shortage, Sku, StockLevel, TenantId,
};
use trolley_core::ports::{
    BeginCheckout, CancelCheckout, CartRepository, CheckoutRepository, CompleteCheckout,
    InventoryRepository, LineHold, SweepReport, WantedHold,
};
use trolley_store::Database;
use trolley_store::entity::{orders, stock_holds};

use crate::common::*;

// ---- helpers ----------------------------------------------------------------------------

fn level(sku_: &str, on_hand: i64, reserved: i64) -> StockLevel {
    StockLevel {
        sku: sku(sku_),
        on_hand,
        reserved,
    }
}

pub(crate) fn want(line_id: LineId, sku_: &str, quantity: u32) -> WantedHold {
    WantedHold {
        line_id,
        sku: sku(sku_),
        quantity,
    }
}

async fn stock(db: &Database, tenant: TenantId, sku_: &str) -> Option<StockLevel> {
    db.inventory().get(tenant, &sku(sku_)).await.unwrap()
}

pub(crate) async fn reserved(db: &Database, tenant: TenantId, sku_: &str) -> i64 {
    stock(db, tenant, sku_).await.unwrap().reserved
}

pub(crate) async fn set(db: &Database, tenant: TenantId, sku_: &str, on_hand: i64) {
    db.inventory()
        .set_on_hand(tenant, &sku(sku_), on_hand, t(1), &Actor::Operator)
        .await
        .unwrap()
        .unwrap();
}

pub(crate) async fn sync(
    db: &Database,
    tenant: TenantId,
    cart: CartId,
    wanted: &[WantedHold],
    expires_at: DateTime<Utc>,
) -> Vec<Shortage> {
    db.inventory()
        .sync_line_holds(tenant, cart, wanted, expires_at)
        .await
        .unwrap()
}

/// The cart's holds, by line.
async fn holds_by_line(
    db: &Database,
    tenant: TenantId,
    cart: CartId,
) -> BTreeMap<LineId, LineHold> {
    db.inventory()
        .line_holds(tenant, cart)
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.line_id, h))
        .collect()
}

/// A stored customer cart with one line per `(sku, quantity)`.
pub(crate) async fn stored_cart(db: &Database, tenant: TenantId, lines: &[(&str, u32)]) -> Cart {
    let mut cart = customer_cart(tenant, &format!("c-{}", uuid::Uuid::new_v4().simple()));
    for (i, (sku_, quantity)) in lines.iter().enumerate() {
        let mut l = line(sku_, "2.50", *quantity, i64::try_from(i).unwrap());
        // Lines of one sku differ in a variant attribute (distinct line keys).
        l.key.attributes = attrs(&[("n", &i.to_string())]);
        cart.lines.push(l);
    }
    db.carts().insert(&cart, None).await.unwrap();
    cart
}

/// `cart` frozen for checkout at `at`, as the domain would write it.
fn frozen(cart: &Cart, at: i64) -> Cart {
    let mut next = cart.clone();
    next.status = CartStatus::CheckingOut;
    next.version += 1;
    next.updated_at = t(at);
    next
}

fn snapshot(cart: &Cart, expires_at: DateTime<Utc>) -> CheckoutSnapshot {
    CheckoutSnapshot {
        checkout_id: CheckoutId::new(),
        cart_id: cart.id,
        cart_version: cart.version,
        currency: "USD".into(),
        lines: cart
            .lines
            .iter()
            .map(|l| SnapshotLine {
                line_id: l.id,
                sku: l.sku().clone(),
                title: l.title.clone(),
                quantity: l.quantity.get(),
                unit_price: dec("2.50"),
                price_revision: 1,
                line_total: dec("2.50") * rust_decimal::Decimal::from(l.quantity.get()),
                attributes: l.key.attributes.as_map().clone(),
                seller: l.key.seller.clone(),
                fulfillment: l.key.fulfillment.clone(),
            })
            .collect(),
        fees: vec![SnapshotFee {
            code: "delivery".into(),
            label: "Delivery".into(),
            amount: dec("4.90"),
        }],
        subtotal: dec("10.00"),
        total: dec("14.90"),
        fulfillment: None,
        plugin: None,
        reservations: Vec::new(),
        customer_id: cart.owner.customer_id().map(str::to_owned),
        context: cart.context.clone(),
        validated_at: t(10),
        expires_at,
    }
}

/// What every line of `cart` wants, per sku (as the checkout service asks).
fn wanted_of(cart: &Cart) -> Vec<(Sku, u32, Vec<LineId>)> {
    let mut by_sku: BTreeMap<Sku, (u32, Vec<LineId>)> = BTreeMap::new();
    for l in &cart.lines {
        let entry = by_sku.entry(l.sku().clone()).or_default();
        entry.0 += l.quantity.get();
        entry.1.push(l.id);
    }
    by_sku.into_iter().map(|(s, (q, ls))| (s, q, ls)).collect()
}

/// Starts a checkout of `cart` (stored, active) expiring at `expires_at`; returns the
/// frozen cart and the stored snapshot.
pub(crate) async fn begin(
    db: &Database,
    cart: &Cart,
    expires_at: DateTime<Utc>,
) -> (Cart, CheckoutSnapshot) {
    let next = frozen(cart, 10);
    let snap = snapshot(cart, expires_at);
    match db
        .checkouts()
        .begin(cart.tenant_id, &next, cart, &snap, &wanted_of(cart), None)
        .await
        .unwrap()
    {
        BeginCheckout::Started(stored) => (next, stored),
        other => panic!("checkout did not start: {other:?}"),
    }
}

pub(crate) fn order_of(snap: &CheckoutSnapshot, tenant: TenantId, at: i64) -> Order {
    Order {
        order_id: OrderId::new(),
        tenant_id: tenant,
        checkout_id: snap.checkout_id,
        cart_id: snap.cart_id,
        customer_id: snap.customer_id.clone(),
        status: "placed".into(),
        currency: snap.currency.clone(),
        lines: snap.lines.clone(),
        fees: snap.fees.clone(),
        subtotal: snap.subtotal,
        total: snap.total,
        context: snap.context.clone(),
        created_at: t(at),
    }
}

async fn cart_row(db: &Database, cart: &Cart) -> Cart {
    db.carts()
        .load(cart.tenant_id, cart.id)
        .await
        .unwrap()
        .unwrap()
}

// ---- inventory --------------------------------------------------------------------------

pub(crate) async fn stock_levels_track_holds_and_refuse_on_hand_below_reserved(db: &Database) {
    let tenant = create_tenant(db, "Stock").await;
    let other = create_tenant(db, "Other").await;
    let inv = db.inventory();

    // Untracked until set.
    assert_eq!(stock(db, tenant.id, "A").await, None);
    assert_eq!(
        inv.set_on_hand(tenant.id, &sku("A"), 10, t(1), &Actor::Operator)
            .await
            .unwrap(),
        Ok(level("A", 10, 0))
    );
    assert_eq!(stock(db, tenant.id, "A").await, Some(level("A", 10, 0)));
    assert_eq!(stock(db, other.id, "A").await, None);

    // Hold 3, grow to 5, shrink to 2.
    let cart = CartId::new();
    let l1 = LineId::new();
    assert!(
        sync(db, tenant.id, cart, &[want(l1, "A", 3)], t(500))
            .await
            .is_empty()
    );
    assert_eq!(stock(db, tenant.id, "A").await, Some(level("A", 10, 3)));
    assert!(
        sync(db, tenant.id, cart, &[want(l1, "A", 5)], t(500))
            .await
            .is_empty()
    );
    assert_eq!(reserved(db, tenant.id, "A").await, 5);
    assert_eq!(stock(db, tenant.id, "A").await.unwrap().available(), 5);
    assert!(
        sync(db, tenant.id, cart, &[want(l1, "A", 2)], t(500))
            .await
            .is_empty()
    );
    assert_eq!(reserved(db, tenant.id, "A").await, 2);

    // On hand below what is held: refused, nothing changes; at or above: fine.
    assert_eq!(
        inv.set_on_hand(tenant.id, &sku("A"), 1, t(2), &Actor::Operator)
            .await
            .unwrap(),
        Err(2)
    );
    assert_eq!(stock(db, tenant.id, "A").await, Some(level("A", 10, 2)));
    assert_eq!(
        inv.set_on_hand(tenant.id, &sku("A"), 2, t(3), &Actor::Operator)
            .await
            .unwrap(),
        Ok(level("A", 2, 2))
    );
    assert_eq!(stock(db, tenant.id, "A").await.unwrap().available(), 0);
    // Untracked skus hold nothing and are never short.
    let l2 = LineId::new();
    assert!(
        sync(
            db,
            tenant.id,
            cart,
            &[want(l1, "A", 2), want(l2, "U", 7)],
            t(500)
        )
        .await
        .is_empty()
    );
    assert_eq!(stock(db, tenant.id, "U").await, None);
    let holds = holds_by_line(db, tenant.id, cart).await;
    assert_eq!(holds.len(), 1);
    assert_eq!(holds[&l1].quantity, 2);

    // get_many: the tracked ones, in the order asked, scoped by tenant.
    set(db, tenant.id, "B", 4).await;
    set(db, other.id, "C", 4).await;
    assert_eq!(
        inv.get_many(
            tenant.id,
            &[sku("C"), sku("B"), sku("U"), sku("A"), sku("B")]
        )
        .await
        .unwrap(),
        vec![level("B", 4, 0), level("A", 2, 2)]
    );
    assert!(inv.get_many(tenant.id, &[]).await.unwrap().is_empty());

    // Concurrent first settings of a new sku: all succeed, one row.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let inv = db.inventory();
        let tenant_id = tenant.id;
        tasks.push(tokio::spawn(async move {
            inv.set_on_hand(tenant_id, &sku("NEW"), 10 + i, t(5), &Actor::Operator)
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap().unwrap();
    }
    let new = stock(db, tenant.id, "NEW").await.unwrap();
    assert!((10..18).contains(&new.on_hand));
    assert_eq!(new.reserved, 0);
}

pub(crate) async fn sync_line_holds_follows_the_lines(db: &Database) {
    let tenant = create_tenant(db, "Sync").await;
    set(db, tenant.id, "A", 10).await;
    set(db, tenant.id, "B", 10).await;
    let cart = CartId::new();
    let (l1, l2, l3) = (LineId::new(), LineId::new(), LineId::new());

    assert!(
        sync(
            db,
            tenant.id,
            cart,
            &[want(l1, "A", 2), want(l2, "B", 3), want(l3, "A", 1)],
            t(100)
        )
        .await
        .is_empty()
    );
    assert_eq!(reserved(db, tenant.id, "A").await, 3);
    assert_eq!(reserved(db, tenant.id, "B").await, 3);
    let first = holds_by_line(db, tenant.id, cart).await;
    assert_eq!(first.len(), 3);
    assert_eq!(first[&l1].sku, sku("A"));
    assert_eq!(first[&l2].quantity, 3);
    assert!(first.values().all(|h| h.expires_at == t(100)));

    // l2 removed, l1 grows, l3 stays: B released, A +2, every hold renewed.
    assert!(
        sync(
            db,
            tenant.id,
            cart,
            &[want(l1, "A", 4), want(l3, "A", 1)],
            t(200)
        )
        .await
        .is_empty()
    );
    assert_eq!(reserved(db, tenant.id, "A").await, 5);
    assert_eq!(reserved(db, tenant.id, "B").await, 0);
    let second = holds_by_line(db, tenant.id, cart).await;
    assert_eq!(second.len(), 2);
    assert_eq!(second[&l1].quantity, 4);
    assert_eq!(second[&l3].quantity, 1);
    assert!(second.values().all(|h| h.expires_at == t(200)));
    let rows = stock_holds::Entity::find()
        .filter(stock_holds::Column::CartId.eq(cart.0))
        .count(db.connection())
        .await
        .unwrap();
    assert_eq!(rows, 2, "one row per line");

    // A quantity of 0 and an empty list release.
    assert!(
        sync(
            db,
            tenant.id,
            cart,
            &[want(l1, "A", 0), want(l3, "A", 1)],
            t(300)
        )
        .await
        .is_empty()
    );
    assert_eq!(reserved(db, tenant.id, "A").await, 1);
    assert!(sync(db, tenant.id, cart, &[], t(300)).await.is_empty());
    assert_eq!(reserved(db, tenant.id, "A").await, 0);
    assert!(holds_by_line(db, tenant.id, cart).await.is_empty());

    // Another tenant's view of the cart sees nothing.
    assert!(
        sync(db, tenant.id, cart, &[want(l1, "A", 2)], t(300))
            .await
            .is_empty()
    );
    let other = create_tenant(db, "Other").await;
    assert!(holds_by_line(db, other.id, cart).await.is_empty());

    // A cart that is no longer active holds no line stock.
    let mut stored = stored_cart(db, tenant.id, &[("B", 1)]).await;
    let line_b = stored.lines[0].id;
    assert!(
        sync(db, tenant.id, stored.id, &[want(line_b, "B", 1)], t(300))
            .await
            .is_empty()
    );
    assert_eq!(reserved(db, tenant.id, "B").await, 1);
    let expired = {
        let mut next = stored.clone();
        next.status = CartStatus::Expired;
        next.version += 1;
        next
    };
    db.carts().save(&expired, &stored, None).await.unwrap();
    stored = expired;
    assert!(
        sync(db, tenant.id, stored.id, &[want(line_b, "B", 2)], t(300))
            .await
            .is_empty()
    );
    assert_eq!(reserved(db, tenant.id, "B").await, 0);
    assert!(holds_by_line(db, tenant.id, stored.id).await.is_empty());
}

pub(crate) async fn sync_line_holds_is_all_or_nothing(db: &Database) {
    let tenant = create_tenant(db, "AllOrNothing").await;
    set(db, tenant.id, "A", 5).await;
    set(db, tenant.id, "B", 2).await;
    set(db, tenant.id, "C", 1).await;
    let cart = CartId::new();
    let rival = CartId::new();
    let (l1, l2, l3, l4) = (LineId::new(), LineId::new(), LineId::new(), LineId::new());
    assert!(
        sync(db, tenant.id, cart, &[want(l1, "A", 1)], t(100))
            .await
            .is_empty()
    );
    assert!(
        sync(
            db,
            tenant.id,
            rival,
            &[want(LineId::new(), "A", 3), want(LineId::new(), "C", 1)],
            t(100)
        )
        .await
        .is_empty()
    );
    // A: 5 on hand, 4 held (1 ours) → free 1; we may have 2. B: 2 free. C: 0 free.
    let shortages = sync(
        db,
        tenant.id,
        cart,
        &[
            want(l1, "A", 4),
            want(l2, "B", 2),
            want(l3, "C", 1),
            want(l4, "U", 9),
        ],
        t(900),
    )
    .await;
    assert_eq!(
        shortages,
        vec![
            Shortage {
                sku: sku("A"),
                requested: 4,
                available: 2,
                line_ids: vec![l1],
            },
            Shortage {
                sku: sku("C"),
                requested: 1,
                available: 0,
                line_ids: vec![l3],
            },
        ]
    );
    // Nothing changed: not B's hold (which fitted), not l1's quantity nor its expiry.
    assert_eq!(reserved(db, tenant.id, "A").await, 4);
    assert_eq!(reserved(db, tenant.id, "B").await, 0);
    assert_eq!(reserved(db, tenant.id, "C").await, 1);
    let holds = holds_by_line(db, tenant.id, cart).await;
    assert_eq!(holds.len(), 1);
    assert_eq!(holds[&l1].quantity, 1);
    assert_eq!(holds[&l1].expires_at, t(100));

    // Two lines of one short sku are both named, requested is their sum.
    let shortages = sync(
        db,
        tenant.id,
        cart,
        &[want(l1, "C", 1), want(l2, "C", 1)],
        t(900),
    )
    .await;
    assert_eq!(shortages.len(), 1);
    assert_eq!(shortages[0].requested, 2);
    assert_eq!(shortages[0].line_ids, vec![l1, l2]);
}

pub(crate) async fn concurrent_holds_never_oversell(db: &Database) {
    let tenant = create_tenant(db, "Contention").await;
    set(db, tenant.id, "HOT", 50).await;
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let inv = db.inventory();
        let tenant_id = tenant.id;
        tasks.push(tokio::spawn(async move {
            inv.sync_line_holds(
                tenant_id,
                CartId::new(),
                &[want(LineId::new(), "HOT", 1)],
                t(100),
            )
            .await
        }));
    }
    let mut held = 0;
    let mut short = 0;
    for task in tasks {
        let shortages = task.await.unwrap().unwrap();
        if shortages.is_empty() {
            held += 1;
        } else {
            assert_eq!(shortages[0].available, 0);
            short += 1;
        }
    }
    assert_eq!((held, short), (50, 50));
    assert_eq!(
        stock(db, tenant.id, "HOT").await,
        Some(level("HOT", 50, 50))
    );
    let rows = stock_holds::Entity::find()
        .filter(stock_holds::Column::TenantId.eq(tenant.id.0))
        .count(db.connection())
        .await
        .unwrap();
    assert_eq!(rows, 50);
}

// ---- checkouts --------------------------------------------------------------------------

pub(crate) async fn begin_with_a_short_sku_holds_nothing(db: &Database) {
    let tenant = create_tenant(db, "Short").await;
    set(db, tenant.id, "A", 5).await;
    set(db, tenant.id, "B", 2).await;
    let cart = stored_cart(db, tenant.id, &[("A", 2), ("B", 3), ("U", 1)]).await;
    let (la, lb) = (cart.lines[0].id, cart.lines[1].id);
    assert!(
        sync(db, tenant.id, cart.id, &[want(la, "A", 2)], t(100))
            .await
            .is_empty()
    );

    let next = frozen(&cart, 10);
    let snap = snapshot(&cart, t(60_000));
    let outcome = db
        .checkouts()
        .begin(tenant.id, &next, &cart, &snap, &wanted_of(&cart), None)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        BeginCheckout::Shortages(vec![Shortage {
            sku: sku("B"),
            requested: 3,
            available: 2,
            line_ids: vec![lb],
        }])
    );
    // Nothing happened: cart as it was, line hold in place, no checkout.
    assert_eq!(cart_row(db, &cart).await, cart);
    assert_eq!(reserved(db, tenant.id, "A").await, 2);
    assert_eq!(reserved(db, tenant.id, "B").await, 0);
    assert_eq!(holds_by_line(db, tenant.id, cart.id).await[&la].quantity, 2);
    assert_eq!(
        db.checkouts()
            .get(tenant.id, snap.checkout_id)
            .await
            .unwrap(),
        None
    );

    // A stale version is a conflict, and changes nothing either.
    let err = db
        .checkouts()
        .begin(
            tenant.id,
            &frozen(&cart, 11),
            &at_version(&cart, cart.version - 1),
            &snap,
            &[],
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, trolley_core::StoreError::VersionConflict),
        "{err:?}"
    );
    assert_eq!(cart_row(db, &cart).await, cart);
    assert_eq!(reserved(db, tenant.id, "A").await, 2);
}

pub(crate) async fn begin_then_complete_commits_stock_and_converts_the_cart(db: &Database) {
    let tenant = create_tenant(db, "Complete").await;
    set(db, tenant.id, "A", 10).await;
    set(db, tenant.id, "B", 4).await;
    let cart = stored_cart(db, tenant.id, &[("B", 1), ("A", 2), ("U", 1), ("A", 1)]).await;
    let la = cart.lines[1].id;
    assert!(
        sync(db, tenant.id, cart.id, &[want(la, "A", 2)], t(100))
            .await
            .is_empty()
    );
    assert_eq!(reserved(db, tenant.id, "A").await, 2);

    let (next, snap) = begin(db, &cart, t(60_000)).await;
    // Tracked skus reserved, in sku order; the line hold gave way to the checkout's.
    assert_eq!(
        snap.reservations,
        vec![
            SnapshotReservation {
                sku: sku("A"),
                quantity: 3,
            },
            SnapshotReservation {
                sku: sku("B"),
                quantity: 1,
            },
        ]
    );
    assert_eq!(reserved(db, tenant.id, "A").await, 3);
    assert_eq!(reserved(db, tenant.id, "B").await, 1);
    assert!(holds_by_line(db, tenant.id, cart.id).await.is_empty());
    let frozen_row = cart_row(db, &cart).await;
    assert_eq!(frozen_row, next);
    assert_eq!(frozen_row.status, CartStatus::CheckingOut);
    let stored = db
        .checkouts()
        .get(tenant.id, snap.checkout_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.snapshot, snap);
    assert_eq!(stored.status, CheckoutStatus::Pending);
    assert_eq!(stored.order_id, None);
    assert_eq!(stored.tenant_id, tenant.id);
    // Invisible to other tenants.
    let other = create_tenant(db, "Other").await;
    assert_eq!(
        db.checkouts()
            .get(other.id, snap.checkout_id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        db.checkouts()
            .complete(
                other.id,
                snap.checkout_id,
                &order_of(&snap, other.id, 20),
                t(20)
            )
            .await
            .unwrap(),
        CompleteCheckout::NotFound
    );

    let order = order_of(&snap, tenant.id, 20);
    assert_eq!(
        db.checkouts()
            .complete(tenant.id, snap.checkout_id, &order, t(20))
            .await
            .unwrap(),
        CompleteCheckout::Completed(order.clone())
    );
    assert_eq!(stock(db, tenant.id, "A").await, Some(level("A", 7, 0)));
    assert_eq!(stock(db, tenant.id, "B").await, Some(level("B", 3, 0)));
    assert_eq!(stock(db, tenant.id, "U").await, None);
    let converted = cart_row(db, &cart).await;
    assert_eq!(converted.status, CartStatus::Converted);
    assert_eq!(converted.version, next.version + 1);
    assert_eq!(converted.updated_at, t(20));
    assert_eq!(converted.lines, cart.lines);
    let customer = cart.owner.customer_id().unwrap();
    assert_eq!(
        db.carts()
            .find_live_for_customer(tenant.id, customer)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        db.checkouts()
            .order(tenant.id, order.order_id)
            .await
            .unwrap(),
        // The owner is kept with the order, so it outlives the cart.
        Some((
            order.clone(),
            Some(trolley_core::domain::CartOwner::Customer(
                customer.to_owned()
            ))
        ))
    );
    assert_eq!(
        db.checkouts()
            .order(other.id, order.order_id)
            .await
            .unwrap(),
        None
    );
    let done = db
        .checkouts()
        .get(tenant.id, snap.checkout_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, CheckoutStatus::Completed);
    assert_eq!(done.order_id, Some(order.order_id));
    assert_eq!(done.snapshot, snap);

    // Again, with another order: the first one answers; nothing else moves.
    let again = order_of(&snap, tenant.id, 30);
    assert_eq!(
        db.checkouts()
            .complete(tenant.id, snap.checkout_id, &again, t(30))
            .await
            .unwrap(),
        CompleteCheckout::AlreadyCompleted(order.clone())
    );
    assert_eq!(
        db.checkouts()
            .order(tenant.id, again.order_id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(stock(db, tenant.id, "A").await, Some(level("A", 7, 0)));
    assert_eq!(cart_row(db, &cart).await, converted);
    assert_eq!(
        db.checkouts()
            .cancel(tenant.id, snap.checkout_id, t(31))
            .await
            .unwrap(),
        CancelCheckout::Completed
    );
    let mut unknown = order_of(&snap, tenant.id, 31);
    unknown.checkout_id = CheckoutId::new();
    assert_eq!(
        db.checkouts()
            .complete(tenant.id, unknown.checkout_id, &unknown, t(31))
            .await
            .unwrap(),
        CompleteCheckout::NotFound
    );
    // An order made from another checkout is a bug of the caller.
    assert!(matches!(
        db.checkouts()
            .complete(tenant.id, CheckoutId::new(), &again, t(31))
            .await,
        Err(trolley_core::StoreError::Internal(_))
    ));
}

pub(crate) async fn concurrent_completes_make_one_order(db: &Database) {
    let tenant = create_tenant(db, "Once").await;
    set(db, tenant.id, "A", 10).await;
    let cart = stored_cart(db, tenant.id, &[("A", 4)]).await;
    let (_, snap) = begin(db, &cart, t(60_000)).await;

    let mut tasks = Vec::new();
    for i in 0..10 {
        let repo = db.checkouts();
        let order = order_of(&snap, tenant.id, 20 + i);
        let tenant_id = tenant.id;
        tasks.push(tokio::spawn(async move {
            repo.complete(tenant_id, order.checkout_id, &order, t(20 + i))
                .await
        }));
    }
    let mut made = Vec::new();
    let mut answered = Vec::new();
    for task in tasks {
        match task.await.unwrap().unwrap() {
            CompleteCheckout::Completed(order) => made.push(order),
            CompleteCheckout::AlreadyCompleted(order) => answered.push(order),
            other => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!(made.len(), 1);
    assert!(answered.iter().all(|o| *o == made[0]));
    assert_eq!(stock(db, tenant.id, "A").await, Some(level("A", 6, 0)));
    let orders = orders::Entity::find()
        .filter(orders::Column::TenantId.eq(tenant.id.0))
        .count(db.connection())
        .await
        .unwrap();
    assert_eq!(orders, 1);
    assert_eq!(cart_row(db, &cart).await.version, cart.version + 2);
}

pub(crate) async fn cancel_releases_and_unfreezes(db: &Database) {
    let tenant = create_tenant(db, "Cancel").await;
    set(db, tenant.id, "A", 3).await;
    let cart = stored_cart(db, tenant.id, &[("A", 3)]).await;
    let (next, snap) = begin(db, &cart, t(60_000)).await;
    assert_eq!(stock(db, tenant.id, "A").await.unwrap().available(), 0);

    let other = create_tenant(db, "Other").await;
    assert_eq!(
        db.checkouts()
            .cancel(other.id, snap.checkout_id, t(20))
            .await
            .unwrap(),
        CancelCheckout::NotFound
    );
    assert_eq!(
        db.checkouts()
            .cancel(tenant.id, snap.checkout_id, t(20))
            .await
            .unwrap(),
        CancelCheckout::Cancelled {
            cart_version: next.version + 1
        }
    );
    assert_eq!(stock(db, tenant.id, "A").await, Some(level("A", 3, 0)));
    let unfrozen = cart_row(db, &cart).await;
    assert_eq!(unfrozen.status, CartStatus::Active);
    assert_eq!(unfrozen.version, next.version + 1);
    assert_eq!(unfrozen.lines, cart.lines);
    let customer = cart.owner.customer_id().unwrap();
    assert_eq!(
        db.carts()
            .find_live_for_customer(tenant.id, customer)
            .await
            .unwrap()
            .map(|c| c.id),
        Some(cart.id)
    );
    assert_eq!(
        db.checkouts()
            .get(tenant.id, snap.checkout_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        CheckoutStatus::Cancelled
    );
    assert_eq!(
        db.checkouts()
            .cancel(tenant.id, snap.checkout_id, t(21))
            .await
            .unwrap(),
        CancelCheckout::AlreadyCancelled
    );
    assert_eq!(
        db.checkouts()
            .complete(
                tenant.id,
                snap.checkout_id,
                &order_of(&snap, tenant.id, 22),
                t(22)
            )
            .await
            .unwrap(),
        CompleteCheckout::Cancelled
    );
    assert_eq!(stock(db, tenant.id, "A").await, Some(level("A", 3, 0)));

    // The unfrozen cart can check out again.
    let (_, again) = begin(db, &unfrozen, t(60_000)).await;
    assert_eq!(reserved(db, tenant.id, "A").await, 3);
    assert_eq!(
        db.checkouts()
            .cancel(tenant.id, CheckoutId::new(), t(23))
            .await
            .unwrap(),
        CancelCheckout::NotFound
    );
    let order = order_of(&again, tenant.id, 24);
    assert_eq!(
        db.checkouts()
            .complete(tenant.id, again.checkout_id, &order, t(24))
            .await
            .unwrap(),
        CompleteCheckout::Completed(order)
    );
    assert_eq!(stock(db, tenant.id, "A").await, Some(level("A", 0, 0)));
}

pub(crate) async fn expired_checkout_answers_expired_and_releases(db: &Database) {
    let tenant = create_tenant(db, "Expired").await;
    set(db, tenant.id, "A", 5).await;
    let cart = stored_cart(db, tenant.id, &[("A", 2)]).await;
    let (next, snap) = begin(db, &cart, t(1_000)).await;
    assert_eq!(reserved(db, tenant.id, "A").await, 2);

    // Exactly at the expiry it can still complete; past it, not.
    let order = order_of(&snap, tenant.id, 1_001);
    assert_eq!(
        db.checkouts()
            .complete(tenant.id, snap.checkout_id, &order, t(1_001))
            .await
            .unwrap(),
        CompleteCheckout::Expired
    );
    assert_eq!(stock(db, tenant.id, "A").await, Some(level("A", 5, 0)));
    let unfrozen = cart_row(db, &cart).await;
    assert_eq!(unfrozen.status, CartStatus::Active);
    assert_eq!(unfrozen.version, next.version + 1);
    assert_eq!(
        db.checkouts()
            .get(tenant.id, snap.checkout_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        CheckoutStatus::Expired
    );
    assert_eq!(
        db.checkouts()
            .order(tenant.id, order.order_id)
            .await
            .unwrap(),
        None
    );
    // Every later call agrees, and nothing is released twice.
    assert_eq!(
        db.checkouts()
            .complete(tenant.id, snap.checkout_id, &order, t(1_002))
            .await
            .unwrap(),
        CompleteCheckout::Expired
    );
    assert_eq!(
        db.checkouts()
            .cancel(tenant.id, snap.checkout_id, t(1_003))
            .await
            .unwrap(),
        CancelCheckout::Expired
    );
    assert_eq!(reserved(db, tenant.id, "A").await, 0);
    assert_eq!(cart_row(db, &cart).await.version, next.version + 1);

    // On time (at the very millisecond) it completes; a late cancel expires instead.
    let (_, on_time) = begin(db, &unfrozen, t(2_000)).await;
    let order = order_of(&on_time, tenant.id, 2_000);
    assert_eq!(
        db.checkouts()
            .complete(tenant.id, on_time.checkout_id, &order, t(2_000))
            .await
            .unwrap(),
        CompleteCheckout::Completed(order)
    );
    let late_cart = stored_cart(db, tenant.id, &[("A", 1)]).await;
    let (_, late) = begin(db, &late_cart, t(3_000)).await;
    assert_eq!(reserved(db, tenant.id, "A").await, 1);
    assert_eq!(
        db.checkouts()
            .cancel(tenant.id, late.checkout_id, t(3_001))
            .await
            .unwrap(),
        CancelCheckout::Expired
    );
    assert_eq!(stock(db, tenant.id, "A").await, Some(level("A", 3, 0)));
}

pub(crate) async fn sweep_releases_expires_and_reports(db: &Database) {
    let tenant = create_tenant(db, "Sweep").await;
    for s in ["A", "B", "C", "D"] {
        set(db, tenant.id, s, 10).await;
    }
    // 1: an active cart whose line hold expired.
    let c1 = stored_cart(db, tenant.id, &[("A", 2)]).await;
    assert!(
        sync(
            db,
            tenant.id,
            c1.id,
            &[want(c1.lines[0].id, "A", 2)],
            t(100)
        )
        .await
        .is_empty()
    );
    // 2: a cart checking out, its checkout expired.
    let c2 = stored_cart(db, tenant.id, &[("B", 3)]).await;
    let (c2_frozen, snap2) = begin(db, &c2, t(100)).await;
    // 3: an idle cart past its TTL, whose line hold is still fresh.
    let mut c3 = guest_cart(tenant.id);
    c3.lines.push(line("C", "1.00", 1, 0));
    c3.expires_at = t(50);
    db.carts().insert(&c3, None).await.unwrap();
    assert!(
        sync(
            db,
            tenant.id,
            c3.id,
            &[want(c3.lines[0].id, "C", 1)],
            t(90_000)
        )
        .await
        .is_empty()
    );
    // 4: nothing expired.
    let c4 = stored_cart(db, tenant.id, &[("D", 4)]).await;
    assert!(
        sync(
            db,
            tenant.id,
            c4.id,
            &[want(c4.lines[0].id, "D", 4)],
            t(90_000)
        )
        .await
        .is_empty()
    );
    let (_, snap4) = {
        let c5 = stored_cart(db, tenant.id, &[("D", 1)]).await;
        begin(db, &c5, t(90_000)).await
    };

    let report = db.checkouts().sweep(t(1_000)).await.unwrap();
    let mut touched = report.carts_touched.clone();
    touched.sort();
    let mut expected = vec![(tenant.id, c1.id), (tenant.id, c2.id), (tenant.id, c3.id)];
    expected.sort();
    assert_eq!(
        (
            report.holds_released,
            report.checkouts_expired,
            report.carts_expired
        ),
        (1, 1, 1)
    );
    assert_eq!(touched, expected);

    assert_eq!(reserved(db, tenant.id, "A").await, 0);
    assert_eq!(reserved(db, tenant.id, "B").await, 0);
    assert_eq!(reserved(db, tenant.id, "C").await, 0);
    assert_eq!(reserved(db, tenant.id, "D").await, 5);
    assert!(holds_by_line(db, tenant.id, c1.id).await.is_empty());
    assert_eq!(
        cart_row(db, &c1).await,
        c1,
        "a lost hold leaves the cart row alone"
    );
    let c2_now = cart_row(db, &c2).await;
    assert_eq!(c2_now.status, CartStatus::Active);
    assert_eq!(c2_now.version, c2_frozen.version + 1);
    assert_eq!(
        db.checkouts()
            .get(tenant.id, snap2.checkout_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        CheckoutStatus::Expired
    );
    let c3_now = cart_row(db, &c3).await;
    assert_eq!(c3_now.status, CartStatus::Expired);
    assert_eq!(c3_now.version, c3.version + 1);
    assert_eq!(c3_now.updated_at, t(1_000));
    assert!(holds_by_line(db, tenant.id, c3.id).await.is_empty());
    assert_eq!(holds_by_line(db, tenant.id, c4.id).await.len(), 1);
    assert_eq!(
        db.checkouts()
            .get(tenant.id, snap4.checkout_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        CheckoutStatus::Pending
    );

    // Nothing left to do.
    assert_eq!(
        db.checkouts().sweep(t(1_000)).await.unwrap(),
        SweepReport::default()
    );
}

pub(crate) async fn concurrent_sweeps_release_each_hold_once(db: &Database) {
    let tenant = create_tenant(db, "Sweeps").await;
    set(db, tenant.id, "X", 100).await;
    set(db, tenant.id, "Y", 100).await;
    for _ in 0..40 {
        let cart = CartId::new();
        assert!(
            sync(db, tenant.id, cart, &[want(LineId::new(), "X", 1)], t(100))
                .await
                .is_empty()
        );
    }
    // A fresh hold that must survive: a double release would eat into it.
    let keeper = CartId::new();
    assert!(
        sync(
            db,
            tenant.id,
            keeper,
            &[want(LineId::new(), "X", 5)],
            t(90_000)
        )
        .await
        .is_empty()
    );
    for _ in 0..10 {
        let cart = stored_cart(db, tenant.id, &[("Y", 2)]).await;
        begin(db, &cart, t(100)).await;
    }
    let fresh = stored_cart(db, tenant.id, &[("Y", 7)]).await;
    begin(db, &fresh, t(90_000)).await;
    assert_eq!(reserved(db, tenant.id, "X").await, 45);
    assert_eq!(reserved(db, tenant.id, "Y").await, 27);

    let mut tasks = Vec::new();
    for _ in 0..4 {
        let repo = db.checkouts();
        tasks.push(tokio::spawn(async move { repo.sweep(t(1_000)).await }));
    }
    let mut total = SweepReport::default();
    for task in tasks {
        let report = task.await.unwrap().unwrap();
        total.holds_released += report.holds_released;
        total.checkouts_expired += report.checkouts_expired;
        total.carts_expired += report.carts_expired;
    }
    assert_eq!((total.holds_released, total.checkouts_expired), (40, 10));
    assert_eq!(total.carts_expired, 0);
    assert_eq!(stock(db, tenant.id, "X").await, Some(level("X", 100, 5)));
    assert_eq!(stock(db, tenant.id, "Y").await, Some(level("Y", 100, 7)));
}

pub(crate) async fn snapshot_and_order_round_trip_exactly(db: &Database) {
    let tenant = create_tenant(db, "RoundTrip").await;
    set(db, tenant.id, "A", 10).await;
    let cart = stored_cart(db, tenant.id, &[("A", 3), ("U", 1)]).await;
    let next = frozen(&cart, 10);
    let mut snap = snapshot(&cart, t(60_000));
    snap.subtotal = dec("100.50");
    snap.total = dec("0.10");
    snap.lines[0].unit_price = dec("33.500");
    snap.lines[0].title = Some("Crème brûlée \"large\" ✓".into());
    snap.fees.push(SnapshotFee {
        code: "bag".into(),
        label: "Bag".into(),
        amount: dec("-0.0001"),
    });
    snap.fulfillment = Some(SnapshotFulfillment {
        allowed_modes: vec!["delivery".into(), "pickup".into()],
        lead_time_minutes: Some(45),
        requirements: vec!["age_verified".into()],
        max_distance_km: Some(dec("12.75")),
        notes: vec![],
    });
    snap.plugin = Some(SnapshotPlugin {
        order_type: "delivery".into(),
        plugin_id: uuid::Uuid::now_v7(),
        version: "1.2.3-beta+7".into(),
        sha256: "ab".repeat(32),
    });
    snap.customer_id = None;
    // Sub-millisecond precision survives too: the snapshot is JSON, not columns.
    snap.validated_at = DateTime::from_timestamp(1_763_769_600, 123_456_789).unwrap();
    snap.expires_at = snap.validated_at + Duration::minutes(15);

    let BeginCheckout::Started(stored) = db
        .checkouts()
        .begin(tenant.id, &next, &cart, &snap, &wanted_of(&cart), None)
        .await
        .unwrap()
    else {
        panic!("checkout did not start");
    };
    let mut expected = snap.clone();
    expected.reservations = vec![SnapshotReservation {
        sku: sku("A"),
        quantity: 3,
    }];
    assert_eq!(stored, expected);
    let read = db
        .checkouts()
        .get(tenant.id, snap.checkout_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.snapshot, expected);
    assert_eq!(
        serde_json::to_string(&read.snapshot).unwrap(),
        serde_json::to_string(&expected).unwrap()
    );

    let mut order = order_of(&stored, tenant.id, 0);
    order.created_at = stored.validated_at + Duration::nanoseconds(1);
    order.total = dec("14.900");
    assert_eq!(
        db.checkouts()
            .complete(tenant.id, stored.checkout_id, &order, t(20))
            .await
            .unwrap(),
        CompleteCheckout::Completed(order.clone())
    );
    let (read, _) = db
        .checkouts()
        .order(tenant.id, order.order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, order);
    assert_eq!(read.total.to_string(), "14.900");
}
