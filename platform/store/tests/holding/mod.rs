//! A cart save that moves its `reserve` lines' holds (`CartRepository::save_holding`): the
//! cart, its holds, its events and its idempotency record in one transaction, all or
//! nothing; and how many statements a reserve write and a checkout send.

use std::sync::atomic::Ordering;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use trolley_core::StoreError;
use trolley_core::domain::{
    Cart, CartStatus, EventType, NewEvent, Receipt, Replay, Seal, Subject, SubjectKind, TenantId,
    WantedHold,
};
use trolley_core::ports::{CartRepository, CheckoutRepository, InventoryRepository};
use trolley_store::entity::{idempotency_records, outbox_events};
use trolley_store::{Database, DbBackend, SqlCartRepository, SqlCheckoutRepository};

use crate::common::*;
use crate::stock::{begin, order_of, reserved, set};

fn changed(cart: &Cart) -> NewEvent {
    NewEvent {
        event_type: EventType::CartLineAdded,
        subject: Subject {
            kind: SubjectKind::Cart,
            id: cart.id.to_string(),
        },
        data: json!({}),
    }
}

/// What every line of `cart` wants held.
fn wanted(cart: &Cart) -> Vec<WantedHold> {
    cart.lines
        .iter()
        .map(|l| WantedHold {
            line_id: l.id,
            sku: l.sku().clone(),
            quantity: l.quantity.get(),
        })
        .collect()
}

async fn events_of(db: &Database, cart: &Cart) -> usize {
    outbox_events::Entity::find()
        .filter(outbox_events::Column::Subject.eq(format!("cart:{}", cart.id)))
        .all(db.connection())
        .await
        .unwrap()
        .len()
}

async fn records(db: &Database, tenant: TenantId) -> usize {
    idempotency_records::Entity::find()
        .filter(idempotency_records::Column::TenantId.eq(tenant.0))
        .all(db.connection())
        .await
        .unwrap()
        .len()
}

async fn held(db: &Database, cart: &Cart) -> Vec<u32> {
    let mut held: Vec<u32> = db
        .inventory()
        .line_holds(cart.tenant_id, cart.id)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.quantity)
        .collect();
    held.sort_unstable();
    held
}

/// Short: nothing is written (cart, holds, event, key). Enough: the cart and its holds
/// land together. A lost race moves no hold. Lines removed: their holds go with them.
pub async fn a_save_holding_writes_the_cart_and_its_holds_or_nothing(db: &Database) {
    let tenant = create_tenant(db, "Holding").await;
    set(db, tenant.id, "X", 3).await;
    let repo = db.carts();
    let cart = guest_cart(tenant.id);
    repo.insert(&cart, None).await.unwrap();
    let key = Receipt {
        scope: format!("{}:address:10.0.0.9", tenant.id),
        key: "hold-1".into(),
        fingerprint: "fp".into(),
        at: t(1),
    };
    let replay = Replay::Cart(cart.id);
    let seal = Seal {
        receipt: &key,
        replay: &replay,
    };
    let until = t(600_000);

    // Four units of a sku with three: short, and nothing at all is written.
    let mut too_many = bumped(cart.clone(), 1);
    too_many.lines.push(line("X", "1.00", 4, 1));
    let shortages = repo
        .save_holding(
            &too_many,
            &cart,
            Some(seal),
            &[changed(&too_many)],
            &wanted(&too_many),
            until,
        )
        .await
        .unwrap();
    assert_eq!(shortages.len(), 1, "{shortages:?}");
    assert_eq!((shortages[0].requested, shortages[0].available), (4, 3));
    assert_eq!(
        repo.load(tenant.id, cart.id).await.unwrap(),
        Some(cart.clone())
    );
    assert_eq!(reserved(db, tenant.id, "X").await, 0);
    assert!(held(db, &cart).await.is_empty());
    assert_eq!(events_of(db, &cart).await, 0);
    assert_eq!(records(db, tenant.id).await, 0, "the key stays free");

    // Two: the cart, its hold, its event and the key, together.
    let mut two = bumped(cart.clone(), 2);
    two.lines.push(line("X", "1.00", 2, 2));
    let shortages = repo
        .save_holding(
            &two,
            &cart,
            Some(seal),
            &[changed(&two)],
            &wanted(&two),
            until,
        )
        .await
        .unwrap();
    assert!(shortages.is_empty(), "{shortages:?}");
    assert_eq!(
        repo.load(tenant.id, cart.id).await.unwrap(),
        Some(two.clone())
    );
    assert_eq!(reserved(db, tenant.id, "X").await, 2);
    assert_eq!(held(db, &two).await, [2]);
    assert_eq!(events_of(db, &cart).await, 1);
    assert_eq!(records(db, tenant.id).await, 1);

    // A save from the old version lost the race: no hold moves.
    let mut stale = bumped(cart.clone(), 3);
    stale.lines.push(line("X", "1.00", 3, 3));
    let err = repo
        .save_holding(
            &stale,
            &cart,
            None,
            &[changed(&stale)],
            &wanted(&stale),
            until,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict), "{err:?}");
    assert_eq!(reserved(db, tenant.id, "X").await, 2);
    assert_eq!(held(db, &two).await, [2]);

    // The line removed: its hold is released with the save.
    let mut emptied = bumped(two.clone(), 4);
    emptied.lines.clear();
    let shortages = repo
        .save_holding(&emptied, &two, None, &[changed(&emptied)], &[], until)
        .await
        .unwrap();
    assert!(shortages.is_empty());
    assert_eq!(reserved(db, tenant.id, "X").await, 0);
    assert!(held(db, &emptied).await.is_empty());

    // A cart saved as no longer active holds nothing, whatever is asked.
    let mut line_again = bumped(emptied.clone(), 5);
    line_again.lines.push(line("X", "1.00", 1, 5));
    line_again.status = CartStatus::Expired;
    let shortages = repo
        .save_holding(
            &line_again,
            &emptied,
            None,
            &[changed(&line_again)],
            &wanted(&line_again),
            until,
        )
        .await
        .unwrap();
    assert!(shortages.is_empty());
    assert_eq!(reserved(db, tenant.id, "X").await, 0);
}

/// Statements each write sends (sea-orm's count; a transaction's BEGIN and COMMIT are not
/// counted), printed for BENCHMARKS.md and bounded so a per-row or per-line loop that
/// creeps back in fails: a reserve write's save, a checkout start and its completion, for
/// a cart with two tracked skus.
pub async fn reserve_writes_and_checkouts_stay_few_statements(db: &Database) {
    let tenant = create_tenant(db, "Counted").await;
    set(db, tenant.id, "A", 10).await;
    set(db, tenant.id, "B", 10).await;
    let cart = guest_cart(tenant.id);
    db.carts().insert(&cart, None).await.unwrap();

    let (counted, statements) = counting_connection(db);
    let carts = SqlCartRepository::new(counted.clone());
    let mut two_lines = bumped(cart.clone(), 1);
    two_lines.lines.push(line("A", "1.00", 2, 1));
    two_lines.lines.push(line("B", "1.00", 1, 1));
    let shortages = carts
        .save_holding(
            &two_lines,
            &cart,
            None,
            &[changed(&two_lines)],
            &wanted(&two_lines),
            t(600_000),
        )
        .await
        .unwrap();
    assert!(shortages.is_empty());
    let save_holding = statements.swap(0, Ordering::SeqCst);

    // The holds now held move over to a checkout.
    let (_, snapshot) = begin(
        &Database::from_connection(counted.clone()),
        &two_lines,
        t(600_000),
    )
    .await;
    let checkout_begin = statements.swap(0, Ordering::SeqCst);
    assert_eq!(reserved(db, tenant.id, "A").await, 2);

    let checkouts = SqlCheckoutRepository::new(counted);
    let (read, owner) = checkouts
        .get_with_owner(tenant.id, snapshot.checkout_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.snapshot.checkout_id, snapshot.checkout_id);
    assert_eq!(owner, Some(two_lines.owner.clone()));
    let checkout_read = statements.swap(0, Ordering::SeqCst);
    let order = order_of(&snapshot, tenant.id, 20);
    checkouts
        .complete(tenant.id, snapshot.checkout_id, &order, t(20))
        .await
        .unwrap();
    let checkout_complete = statements.swap(0, Ordering::SeqCst);
    assert_eq!(reserved(db, tenant.id, "A").await, 0);

    println!(
        "{:?}: reserve save {save_holding}, checkout start {checkout_begin}, checkout read \
         {checkout_read}, checkout complete {checkout_complete} statements",
        db.backend()
    );
    assert_eq!(checkout_read, 1);
    if db.backend() == DbBackend::Postgres {
        assert!(save_holding <= 10, "reserve save: {save_holding}");
        assert!(checkout_begin <= 7, "checkout start: {checkout_begin}");
        assert!(
            checkout_complete <= 12,
            "checkout complete: {checkout_complete}"
        );
    }
}
