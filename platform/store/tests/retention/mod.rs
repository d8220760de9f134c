//! Retention (`SqlRetentionRepository`) and the read renewal of a cart's deadline, on both
//! backends through `on_both_backends!` in `store.rs`.

use std::collections::BTreeSet;

use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter};
use trolley_core::domain::lifecycle::Renewal;
use trolley_core::domain::{Cart, CartId, CartOwner, CartStatus, CheckoutStatus, TenantId};
use trolley_core::ports::{
    CartRepository, CheckoutRepository, CompleteCheckout, RetentionRepository,
};
use trolley_store::Database;
use trolley_store::entity::{cart_lines, cart_merges, carts, checkouts, orders, stock_holds};
use uuid::Uuid;

use crate::common::*;
use crate::stock::{begin, order_of, reserved, set, stored_cart, sync, want};

/// Sets a stored cart's status and last change directly, as if it had ended at `at`.
async fn end_cart(db: &Database, cart: CartId, status: CartStatus, at: i64) {
    carts::Entity::update_many()
        .col_expr(carts::Column::Status, Expr::value(status.as_str()))
        .col_expr(
            carts::Column::UpdatedAt,
            Expr::value(t(at).timestamp_millis()),
        )
        .filter(carts::Column::Id.eq(cart.0))
        .exec(db.connection())
        .await
        .unwrap();
}

async fn cart_exists(db: &Database, cart: CartId) -> bool {
    carts::Entity::find_by_id(cart.0)
        .one(db.connection())
        .await
        .unwrap()
        .is_some()
}

async fn line_count(db: &Database, cart: CartId) -> u64 {
    cart_lines::Entity::find()
        .filter(cart_lines::Column::CartId.eq(cart.0))
        .count(db.connection())
        .await
        .unwrap()
}

/// A stored checkout row of `cart` in `status`, last changed at `at`.
async fn checkout_row(db: &Database, tenant: TenantId, status: CheckoutStatus, at: i64) -> Uuid {
    let id = Uuid::now_v7();
    checkouts::Entity::insert(
        checkouts::Model {
            id,
            tenant_id: tenant.0,
            cart_id: Uuid::now_v7(),
            cart_version: 1,
            status: status.as_str().to_owned(),
            snapshot: "{}".to_owned(),
            order_id: None,
            expires_at: t(at).timestamp_millis(),
            created_at: t(at).timestamp_millis(),
            updated_at: t(at).timestamp_millis(),
        }
        .into_active_model(),
    )
    .exec_without_returning(db.connection())
    .await
    .unwrap();
    id
}

const DAY: i64 = 86_400_000;

pub(crate) async fn retention_deletes_old_ended_carts_with_lines_holds_and_merges(db: &Database) {
    let tenant = create_tenant(db, "Retention").await;
    let other = create_tenant(db, "Elsewhere").await;
    set(db, tenant.id, "H", 10).await;
    let cutoff = t(30 * DAY);

    let expired = stored_cart(db, tenant.id, &[("A", 1), ("B", 2)]).await;
    end_cart(db, expired.id, CartStatus::Expired, DAY).await;
    let converted = stored_cart(db, tenant.id, &[("A", 1)]).await;
    end_cart(db, converted.id, CartStatus::Converted, 2 * DAY).await;
    // A merged guest cart whose line hold was never released, with its merge record.
    let merged = stored_cart(db, tenant.id, &[("H", 3)]).await;
    let held_line = merged.lines[0].id;
    assert!(
        sync(
            db,
            tenant.id,
            merged.id,
            &[want(held_line, "H", 3)],
            t(90 * DAY)
        )
        .await
        .is_empty()
    );
    end_cart(db, merged.id, CartStatus::Merged, 3 * DAY).await;
    let target = stored_cart(db, tenant.id, &[("A", 1)]).await;
    cart_merges::Entity::insert(
        cart_merges::Model {
            source_cart_id: merged.id.0,
            tenant_id: tenant.id.0,
            target_cart_id: target.id.0,
            policy: "sum".into(),
            outcomes: "[]".into(),
            created_at: t(3 * DAY).timestamp_millis(),
        }
        .into_active_model(),
    )
    .exec_without_returning(db.connection())
    .await
    .unwrap();
    assert_eq!(reserved(db, tenant.id, "H").await, 3);

    // Kept: ended recently, still live, another tenant's, or still under a reservation.
    let recent = stored_cart(db, tenant.id, &[("A", 1)]).await;
    end_cart(db, recent.id, CartStatus::Expired, 31 * DAY).await;
    let active = stored_cart(db, tenant.id, &[("A", 1)]).await;
    end_cart(db, active.id, CartStatus::Active, DAY).await;
    let frozen = stored_cart(db, tenant.id, &[("A", 1)]).await;
    end_cart(db, frozen.id, CartStatus::CheckingOut, DAY).await;
    let foreign = stored_cart(db, other.id, &[("A", 1)]).await;
    end_cart(db, foreign.id, CartStatus::Expired, DAY).await;
    let reserved_for = stored_cart(db, tenant.id, &[("A", 1)]).await;
    end_cart(db, reserved_for.id, CartStatus::Converted, DAY).await;
    stock_holds::Entity::insert(
        stock_holds::Model {
            id: Uuid::now_v7(),
            tenant_id: tenant.id.0,
            sku: "Z".into(),
            quantity: 1,
            kind: "checkout".into(),
            cart_id: reserved_for.id.0,
            line_id: None,
            checkout_id: Some(Uuid::now_v7()),
            expires_at: t(90 * DAY).timestamp_millis(),
            created_at: t(DAY).timestamp_millis(),
        }
        .into_active_model(),
    )
    .exec_without_returning(db.connection())
    .await
    .unwrap();

    let retention = db.retention();
    let deleted: BTreeSet<CartId> = retention
        .delete_ended_carts(&[tenant.id], cutoff, 500)
        .await
        .unwrap()
        .into_iter()
        .map(|(t, c)| {
            assert_eq!(t, tenant.id);
            c
        })
        .collect();
    assert_eq!(
        deleted,
        BTreeSet::from([expired.id, converted.id, merged.id])
    );
    for gone in [expired.id, converted.id, merged.id] {
        assert!(!cart_exists(db, gone).await);
        assert_eq!(line_count(db, gone).await, 0);
        assert_eq!(db.carts().load(tenant.id, gone).await.unwrap(), None);
    }
    assert_eq!(
        db.carts().merge_record(tenant.id, merged.id).await.unwrap(),
        None
    );
    // The leftover hold went back to stock with its row.
    assert_eq!(reserved(db, tenant.id, "H").await, 0);
    assert_eq!(
        stock_holds::Entity::find()
            .filter(stock_holds::Column::CartId.eq(merged.id.0))
            .count(db.connection())
            .await
            .unwrap(),
        0
    );
    for kept in [target.id, recent.id, active.id, frozen.id, reserved_for.id] {
        assert!(cart_exists(db, kept).await, "{kept} was deleted");
        assert_eq!(line_count(db, kept).await, 1);
    }
    assert!(cart_exists(db, foreign.id).await);

    // Nothing left to do.
    assert!(
        retention
            .delete_ended_carts(&[tenant.id], cutoff, 500)
            .await
            .unwrap()
            .is_empty()
    );
    // Other tenants go when they are named.
    assert_eq!(
        retention
            .delete_ended_carts(&[tenant.id, other.id], cutoff, 500)
            .await
            .unwrap(),
        vec![(other.id, foreign.id)]
    );
}

pub(crate) async fn retention_batches_are_bounded_and_leave_pending_checkouts(db: &Database) {
    let tenant = create_tenant(db, "Batches").await;
    let cutoff = t(30 * DAY);
    for i in 0..7 {
        let cart = stored_cart(db, tenant.id, &[("A", 1)]).await;
        end_cart(db, cart.id, CartStatus::Expired, DAY + i).await;
    }
    let retention = db.retention();
    let mut sizes = Vec::new();
    loop {
        let n = retention
            .delete_ended_carts(&[tenant.id], cutoff, 3)
            .await
            .unwrap()
            .len();
        sizes.push(n);
        if n == 0 {
            break;
        }
    }
    assert_eq!(sizes, vec![3, 3, 1, 0]);

    let mut ended = Vec::new();
    for status in [
        CheckoutStatus::Completed,
        CheckoutStatus::Cancelled,
        CheckoutStatus::Expired,
    ] {
        ended.push(checkout_row(db, tenant.id, status, DAY).await);
    }
    let pending = checkout_row(db, tenant.id, CheckoutStatus::Pending, DAY).await;
    let recent = checkout_row(db, tenant.id, CheckoutStatus::Cancelled, 31 * DAY).await;
    let mut sizes = Vec::new();
    loop {
        let n = retention
            .delete_ended_checkouts(&[tenant.id], cutoff, 2)
            .await
            .unwrap();
        sizes.push(n);
        if n == 0 {
            break;
        }
    }
    assert_eq!(sizes, vec![2, 1, 0]);
    for id in ended {
        assert!(
            checkouts::Entity::find_by_id(id)
                .one(db.connection())
                .await
                .unwrap()
                .is_none()
        );
    }
    for id in [pending, recent] {
        assert!(
            checkouts::Entity::find_by_id(id)
                .one(db.connection())
                .await
                .unwrap()
                .is_some()
        );
    }
}

pub(crate) async fn concurrent_retention_sweeps_delete_each_row_once(db: &Database) {
    let tenant = create_tenant(db, "Concurrent").await;
    set(db, tenant.id, "H", 1_000).await;
    let cutoff = t(30 * DAY);
    let mut ended = BTreeSet::new();
    for i in 0..60 {
        let cart = stored_cart(db, tenant.id, &[("A", 1), ("H", 1)]).await;
        if i % 5 == 0 {
            let line = cart.lines[1].id;
            sync(db, tenant.id, cart.id, &[want(line, "H", 1)], t(90 * DAY)).await;
        }
        end_cart(db, cart.id, CartStatus::Merged, DAY + i).await;
        ended.insert(cart.id);
    }
    for _ in 0..30 {
        checkout_row(db, tenant.id, CheckoutStatus::Completed, DAY).await;
    }
    assert_eq!(reserved(db, tenant.id, "H").await, 12);
    // A live cart written all along: retention must neither block nor deadlock with it.
    let mut live = stored_cart(db, tenant.id, &[("A", 1)]).await;

    let mut tasks = Vec::new();
    for _ in 0..4 {
        let retention = db.retention();
        let tenants = [tenant.id];
        tasks.push(tokio::spawn(async move {
            let mut carts = Vec::new();
            let mut checkouts = 0;
            loop {
                let c = retention
                    .delete_ended_carts(&tenants, cutoff, 7)
                    .await
                    .unwrap();
                let k = retention
                    .delete_ended_checkouts(&tenants, cutoff, 4)
                    .await
                    .unwrap();
                if c.is_empty() && k == 0 {
                    break;
                }
                carts.extend(c);
                checkouts += k;
            }
            (carts, checkouts)
        }));
    }
    let writer = {
        let repo = db.carts();
        tokio::spawn(async move {
            for i in 0..20 {
                let next = bumped(live.clone(), 100 + i);
                repo.save(&next, &live, None).await.unwrap();
                live = next;
            }
        })
    };
    let mut deleted = Vec::new();
    let mut checkouts_deleted = 0;
    for task in tasks {
        let (carts, checkouts) = task.await.unwrap();
        deleted.extend(carts.into_iter().map(|(_, c)| c));
        checkouts_deleted += checkouts;
    }
    writer.await.unwrap();
    let unique: BTreeSet<CartId> = deleted.iter().copied().collect();
    assert_eq!(deleted.len(), 60, "a cart counted twice");
    assert_eq!(unique, ended);
    assert_eq!(checkouts_deleted, 30);
    assert_eq!(reserved(db, tenant.id, "H").await, 0);
}

pub(crate) async fn renew_expiry_moves_only_the_deadline_once(db: &Database) {
    let tenant = create_tenant(db, "Renewal").await;
    let cart = stored_cart(db, tenant.id, &[("A", 1)]).await;
    let stored = db.carts().load(tenant.id, cart.id).await.unwrap().unwrap();
    let now = t(2 * DAY);
    let renewal = Renewal {
        until: now + Duration::days(30),
        due_before: now + Duration::days(29),
        now,
    };
    assert!(
        db.carts()
            .renew_expiry(tenant.id, cart.id, &renewal)
            .await
            .unwrap()
    );
    let renewed = db.carts().load(tenant.id, cart.id).await.unwrap().unwrap();
    assert_eq!(renewed.expires_at, renewal.until);
    assert_eq!(
        Cart {
            expires_at: stored.expires_at,
            ..renewed.clone()
        },
        stored,
        "only the deadline moves"
    );
    // Once renewed it is not due: a second node's renewal changes nothing.
    assert!(
        !db.carts()
            .renew_expiry(tenant.id, cart.id, &renewal)
            .await
            .unwrap()
    );
    // Never another tenant's cart, an ended one, or one whose deadline has passed.
    let later = Renewal {
        until: renewal.until + Duration::days(5),
        due_before: renewal.until + Duration::days(4),
        now: renewal.now + Duration::days(5),
    };
    assert!(
        !db.carts()
            .renew_expiry(TenantId::new(), cart.id, &later)
            .await
            .unwrap()
    );
    let lapsed = Renewal {
        now: renewal.until + Duration::days(1),
        ..later
    };
    assert!(
        !db.carts()
            .renew_expiry(tenant.id, cart.id, &lapsed)
            .await
            .unwrap()
    );
    end_cart(db, cart.id, CartStatus::Expired, 3 * DAY).await;
    assert!(
        !db.carts()
            .renew_expiry(tenant.id, cart.id, &later)
            .await
            .unwrap()
    );
}

pub(crate) async fn orders_stay_readable_by_their_owner_after_retention(db: &Database) {
    let tenant = create_tenant(db, "Orders").await;
    // A guest's cart: its token hash goes with the order.
    let mut cart = guest_cart(tenant.id);
    cart.lines.push(line("A", "2.50", 1, 0));
    db.carts().insert(&cart, None).await.unwrap();
    let (_, snap) = begin(db, &cart, t(DAY)).await;
    let order = order_of(&snap, tenant.id, 20);
    assert!(matches!(
        db.checkouts()
            .complete(tenant.id, snap.checkout_id, &order, t(20))
            .await
            .unwrap(),
        CompleteCheckout::Completed(_)
    ));
    // Long after, retention deletes the converted cart and the completed checkout.
    let later = t(20) + Duration::days(31);
    let retention = db.retention();
    assert_eq!(
        retention
            .delete_ended_carts(&[tenant.id], later, 500)
            .await
            .unwrap(),
        vec![(tenant.id, cart.id)]
    );
    assert_eq!(
        retention
            .delete_ended_checkouts(&[tenant.id], later, 500)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        db.checkouts()
            .get(tenant.id, snap.checkout_id)
            .await
            .unwrap(),
        None
    );
    let CartOwner::Guest { token_hash } = &cart.owner else {
        unreachable!()
    };
    assert_eq!(
        db.checkouts()
            .order(tenant.id, order.order_id)
            .await
            .unwrap(),
        Some((
            order.clone(),
            Some(CartOwner::Guest {
                token_hash: token_hash.clone()
            })
        ))
    );
    assert_eq!(
        orders::Entity::find()
            .filter(orders::Column::TenantId.eq(tenant.id.0))
            .count(db.connection())
            .await
            .unwrap(),
        1
    );
}
