//! Inventory, claim strength, checkout snapshots, orders and expiry (SPEC §1, §2, §4).

use chrono::Duration;
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Instant;

use crate::on_both_backends;
use crate::support::{Backend, CartHandle, TestApp, assert_problem, body, spawn_app};

async fn checkout_id(res: reqwest::Response) -> String {
    assert_eq!(res.status(), StatusCode::CREATED);
    let v = body(res).await;
    assert_eq!(v["status"], "pending");
    v["checkout_id"].as_str().unwrap().to_owned()
}

/// `carts` guest carts, each holding `quantity` of `sku`.
async fn filled_carts(
    app: &TestApp,
    t: &crate::support::Tenant,
    sku: &str,
    carts: usize,
    quantity: i64,
) -> Vec<CartHandle> {
    // Setup runs 50 at a time: on a loaded 2-core machine 500 at once can outwait the
    // server's request timeout (408). Only the checkouts themselves must race.
    let mut made = Vec::with_capacity(carts);
    for start in (0..carts).step_by(50) {
        let batch = join_all((start..carts.min(start + 50)).map(|_| app.guest_cart(t))).await;
        for res in join_all(batch.iter().map(|c| app.add_line(c, sku, quantity))).await {
            assert_eq!(res.status(), StatusCode::OK);
        }
        made.extend(batch);
    }
    made
}

/// 500 shoppers race for the last 50 units: exactly 50 snapshots, never an oversell.
async fn contention(app: &TestApp, shoppers: usize, units: i64) {
    let t = app.create_tenant("USD").await;
    // Every guest cart here is created from one address (this test client): lift the
    // per-address limit that would otherwise, rightly, stop 500 creations in a second.
    app.put_config(
        &t,
        json!({"shopper_rate_limit": {"per_second": 10_000, "burst": 10_000}}),
    )
    .await;
    // `interest` lines: nothing is checked or held until checkout, so every cart can hold one.
    app.put_item_with(
        &t,
        "DROP",
        json!({"price": "99.00", "category": "tickets", "claim_policy": "interest"}),
    )
    .await;
    app.set_stock(&t, "DROP", units).await;
    let carts = filled_carts(app, &t, "DROP", shoppers, 1).await;

    let started = Instant::now();
    let results = join_all(carts.iter().map(|c| app.checkout(c))).await;
    let elapsed = started.elapsed();
    let mut won = Vec::new();
    let mut lost = 0;
    for (cart, res) in carts.iter().zip(results) {
        match res.status() {
            StatusCode::CREATED => won.push((
                cart.clone(),
                body(res).await["checkout_id"].as_str().unwrap().to_owned(),
            )),
            StatusCode::CONFLICT => {
                let p = body(res).await;
                assert_eq!(p["code"], "insufficient_stock", "{p}");
                assert_eq!(p["shortages"][0]["sku"], "DROP");
                lost += 1;
            }
            other => panic!("unexpected {other}: {}", body(res).await),
        }
    }
    println!("{shoppers} concurrent checkouts for {units} units took {elapsed:?}");
    assert_eq!(won.len() as i64, units);
    assert_eq!(lost, shoppers - units as usize);
    let stock = app.stock(&t, "DROP").await;
    assert_eq!(
        (
            stock["on_hand"].as_i64(),
            stock["reserved"].as_i64(),
            stock["available"].as_i64()
        ),
        (Some(units), Some(units), Some(0))
    );

    // Complete 60%, cancel the rest.
    let complete_n = (units as usize * 3) / 5;
    let (to_complete, to_cancel) = won.split_at(complete_n);
    let completes = to_complete.iter().map(|(c, id)| async move {
        let key = format!("k-{id}");
        app.complete(c, id, &key).await
    });
    for res in join_all(completes).await {
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let cancels = to_cancel.iter().map(|(c, id)| app.cancel(c, id));
    for res in join_all(cancels).await {
        assert_eq!(res.status(), StatusCode::OK);
    }
    let stock = app.stock(&t, "DROP").await;
    assert_eq!(stock["on_hand"].as_i64(), Some(units - complete_n as i64));
    assert_eq!(stock["reserved"].as_i64(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_checkouts_sell_exactly_fifty_on_postgres() {
    let app = spawn_app(Backend::Postgres).await;
    contention(&app, 500, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_checkouts_sell_exactly_ten_on_sqlite() {
    let app = spawn_app(Backend::Sqlite).await;
    contention(&app, 50, 10).await;
}

async fn a_short_line_reserves_nothing(app: TestApp) {
    let t = app.create_tenant("USD").await;
    for (sku, stock) in [("A", 10), ("B", 10), ("C", 1)] {
        app.put_item_with(
            &t,
            sku,
            json!({"price": "1.00", "category": "x", "claim_policy": "interest"}),
        )
        .await;
        app.set_stock(&t, sku, stock).await;
    }
    let cart = app.guest_cart(&t).await;
    for sku in ["A", "B"] {
        app.add_line(&cart, sku, 2).await;
    }
    let v = body(app.add_line(&cart, "C", 2).await).await;
    let c_line = v["lines"][2]["line_id"].clone();
    let version = v["version"].clone();
    let res = app.checkout(&cart).await;
    let p = assert_problem(res, StatusCode::CONFLICT, "insufficient_stock").await;
    assert_eq!(p["shortages"].as_array().unwrap().len(), 1);
    assert_eq!(p["shortages"][0]["sku"], "C");
    assert_eq!(p["shortages"][0]["available"], 1);
    assert_eq!(p["shortages"][0]["line_ids"][0], c_line);
    for sku in ["A", "B", "C"] {
        assert_eq!(app.stock(&t, sku).await["reserved"], 0, "{sku}");
    }
    let after = app.get_cart(&cart).await;
    assert_eq!(after["status"], "active");
    assert_eq!(after["version"], version);
}

async fn complete_exactly_once(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item(&t, "A", "2.50").await;
    app.set_stock(&t, "A", 5).await;
    let cart = app.guest_cart(&t).await;
    app.add_line(&cart, "A", 2).await;
    let id = checkout_id(app.checkout(&cart).await).await;

    // Without an idempotency key: refused, nothing happens.
    let res = app
        .as_caller(
            &cart.caller,
            Method::POST,
            &format!("/v1/checkouts/{id}/complete"),
        )
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "idempotency_key_required").await;

    let results = join_all((0..20).map(|_| app.complete(&cart, &id, "pay-1"))).await;
    let mut orders = std::collections::HashSet::new();
    for res in results {
        match res.status() {
            StatusCode::CREATED | StatusCode::OK => {
                orders.insert(body(res).await["order_id"].as_str().unwrap().to_owned());
            }
            StatusCode::CONFLICT => assert_eq!(body(res).await["code"], "idempotency_key_in_use"),
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(orders.len(), 1);
    // Another key after completion: the same order, not a second one.
    let res = app.complete(&cart, &id, "pay-2").await;
    assert_eq!(res.status(), StatusCode::OK);
    let order = body(res).await;
    assert!(orders.contains(order["order_id"].as_str().unwrap()));
    assert_eq!(order["total"], "5.00");
    assert_eq!(order["status"], "placed");
    assert_eq!(order["lines"][0]["quantity"], 2);
    let stock = app.stock(&t, "A").await;
    assert_eq!(
        (stock["on_hand"].as_i64(), stock["reserved"].as_i64()),
        (Some(3), Some(0))
    );
    assert_eq!(app.get_cart(&cart).await["status"], "converted");

    // The order, for the shopper and for the admin; not for another tenant.
    let oid = order["order_id"].as_str().unwrap();
    let res = app
        .as_caller(&cart.caller, Method::GET, &format!("/v1/orders/{oid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(body(res).await, order);
    let res = app
        .admin(&t, Method::GET, &format!("/v1/orders/{oid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(body(res).await, order);
    let other = app.create_tenant("USD").await;
    let res = app
        .admin(&other, Method::GET, &format!("/v1/orders/{oid}"))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "order_not_found").await;
    let res = app
        .as_caller(
            &app.guest(&other),
            Method::GET,
            &format!("/v1/checkouts/{id}"),
        )
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "checkout_not_found").await;
    // A completed checkout cannot be cancelled.
    assert_problem(
        app.cancel(&cart, &id).await,
        StatusCode::CONFLICT,
        "checkout_closed",
    )
    .await;
}

async fn price_drift_needs_consent(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item(&t, "A", "1.00").await;
    let cart = app.guest_cart(&t).await;
    app.add_line(&cart, "A", 3).await;
    app.put_item(&t, "A", "1.20").await;
    let v = app.get_cart(&cart).await;
    assert_eq!(v["lines"][0]["price_changed"], true);
    let res = app.checkout(&cart).await;
    let p = assert_problem(res, StatusCode::CONFLICT, "price_changed").await;
    assert_eq!(p["changes"][0]["was"], "1.00");
    assert_eq!(p["changes"][0]["now"], "1.20");
    assert_eq!(app.get_cart(&cart).await["status"], "active");
    let res = app
        .cart_req(&cart, Method::POST, "/checkout")
        .json(&json!({"accept_price_changes": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let snap = body(res).await;
    assert_eq!(snap["lines"][0]["unit_price"], "1.20");
    assert_eq!(snap["lines"][0]["price_revision"], 2);
    assert_eq!(snap["total"], "3.60");
}

async fn snapshots_are_immutable_and_carts_frozen(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item(&t, "A", "4.00").await;
    app.put_item(&t, "B", "1.00").await;
    // The last unit: once the checkout reserves it, it is this cart's, not gone.
    app.set_stock(&t, "A", 1).await;
    let cart = app.guest_cart(&t).await;
    let v = body(app.add_line(&cart, "A", 1).await).await;
    let line = v["lines"][0]["line_id"].as_str().unwrap().to_owned();
    let res = app.checkout(&cart).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created = res.text().await.unwrap();
    let snap: Value = serde_json::from_str(&created).unwrap();
    let id = snap["checkout_id"].as_str().unwrap().to_owned();
    assert_eq!(snap["cart_version"], v["version"]);
    let frozen = app.get_cart(&cart).await;
    assert_eq!(frozen["status"], "checking_out");
    // Its last unit (so `low_stock`), not `out_of_stock`.
    assert_eq!(frozen["lines"][0]["availability"], "low_stock", "{frozen}");

    // The catalog moves on; the snapshot does not.
    app.put_item(&t, "A", "9.00").await;
    app.delete_catalog_item(&t, "B").await;
    let res = app
        .as_caller(&cart.caller, Method::GET, &format!("/v1/checkouts/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.text().await.unwrap(), created);

    // Frozen: every mutation answers cart_frozen, a second checkout too.
    for (method, suffix, payload) in [
        (
            Method::POST,
            "/lines".to_owned(),
            Some(json!({"sku": "A", "quantity": 1})),
        ),
        (
            Method::PATCH,
            format!("/lines/{line}"),
            Some(json!({"quantity": 2})),
        ),
        (Method::DELETE, format!("/lines/{line}"), None),
        (Method::DELETE, "/lines".to_owned(), None),
        (Method::PUT, "/context".to_owned(), Some(json!({"k": "v"}))),
        (Method::POST, "/checkout".to_owned(), None),
    ] {
        let mut rb = app.cart_req(&cart, method, &suffix);
        if let Some(p) = payload {
            rb = rb.json(&p);
        }
        assert_problem(
            rb.send().await.unwrap(),
            StatusCode::CONFLICT,
            "cart_frozen",
        )
        .await;
    }
    // Cancel unfreezes.
    let res = app.cancel(&cart, &id).await;
    assert_eq!(body(res).await["status"], "cancelled");
    let v = app.get_cart(&cart).await;
    assert_eq!(v["status"], "active");
    app.set_stock(&t, "A", 5).await;
    assert_eq!(
        body(app.add_line(&cart, "A", 1).await).await["lines"][0]["quantity"],
        2
    );
}

async fn reserve_holds_expire_and_renew(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_config(&t, json!({"reserve_ttl_minutes": 10})).await;
    app.put_item_with(
        &t,
        "SLOT",
        json!({"price": "5.00", "category": "slots", "claim_policy": "reserve"}),
    )
    .await;
    app.set_stock(&t, "SLOT", 3).await;
    let cart = app.guest_cart(&t).await;
    let v = body(app.add_line(&cart, "SLOT", 2).await).await;
    assert_eq!(v["lines"][0]["claim"], "reserve");
    assert!(v["lines"][0]["held_until"].is_string());
    assert_eq!(app.stock(&t, "SLOT").await["reserved"], 2);
    // Only one left for everyone else.
    let other = app.guest_cart(&t).await;
    let res = app.add_line(&other, "SLOT", 2).await;
    assert_problem(res, StatusCode::CONFLICT, "insufficient_stock").await;

    // Activity within the TTL renews the hold.
    app.advance(Duration::minutes(8));
    app.cart_req(&cart, Method::PUT, "/context")
        .json(&json!({"slot": "morning"}))
        .send()
        .await
        .unwrap();
    app.advance(Duration::minutes(8));
    app.sweep().await;
    assert_eq!(
        app.stock(&t, "SLOT").await["reserved"],
        2,
        "renewed by activity"
    );

    // Idle past the TTL: released.
    app.advance(Duration::minutes(11));
    let report = app.sweep().await;
    assert_eq!(report["holds_released"], 1);
    assert_eq!(app.stock(&t, "SLOT").await["reserved"], 0);
    assert_eq!(
        app.add_line(&other, "SLOT", 2).await.status(),
        StatusCode::OK
    );
    // Removing a reserve line releases its hold at once.
    let v = app.get_cart(&other).await;
    let line = v["lines"][0]["line_id"].as_str().unwrap();
    app.cart_req(&other, Method::DELETE, &format!("/lines/{line}"))
        .send()
        .await
        .unwrap();
    assert_eq!(app.stock(&t, "SLOT").await["reserved"], 0);
}

async fn soft_lines_are_checked_and_decorated(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_config(&t, json!({"low_stock_threshold": 3})).await;
    app.put_item(&t, "A", "1.00").await;
    app.put_item(&t, "FREE", "1.00").await;
    app.set_stock(&t, "A", 10).await;
    let cart = app.guest_cart(&t).await;
    let v = body(app.add_line(&cart, "A", 2).await).await;
    assert_eq!(v["lines"][0]["availability"], "in_stock");
    assert_eq!(v["lines"][0]["claim"], "soft");
    let v = body(app.add_line(&cart, "A", 6).await).await;
    assert_eq!(v["lines"][0]["availability"], "low_stock");
    let res = app.add_line(&cart, "A", 3).await;
    let p = assert_problem(res, StatusCode::CONFLICT, "insufficient_stock").await;
    assert_eq!(p["shortages"][0]["available"], 10);
    // Stock sold elsewhere: the read says so, nothing was held.
    app.set_stock(&t, "A", 4).await;
    assert_eq!(
        app.get_cart(&cart).await["lines"][0]["availability"],
        "out_of_stock"
    );
    assert_eq!(app.stock(&t, "A").await["reserved"], 0);
    // An untracked sku is always available.
    let v = body(app.add_line(&cart, "FREE", 500).await).await;
    assert_eq!(v["lines"][1]["availability"], "untracked");
    let res = app
        .admin(&t, Method::GET, "/v1/admin/inventory/FREE")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "not_tracked").await;
}

async fn inventory_admin(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item_with(
        &t,
        "A",
        json!({"price": "1.00", "category": "x", "claim_policy": "reserve"}),
    )
    .await;
    let s = app.set_stock(&t, "A", 5).await;
    assert_eq!(
        s,
        json!({"sku": "A", "on_hand": 5, "reserved": 0, "available": 5})
    );
    let cart = app.guest_cart(&t).await;
    app.add_line(&cart, "A", 3).await;
    let res = app
        .admin(&t, Method::PUT, "/v1/admin/inventory/A")
        .json(&json!({"on_hand": 2}))
        .send()
        .await
        .unwrap();
    let p = assert_problem(res, StatusCode::CONFLICT, "on_hand_below_reserved").await;
    assert_eq!(p["reserved"], 3);
    for bad in [
        json!({"on_hand": -1}),
        json!({"on_hand": 10_000_000_000_i64}),
    ] {
        let res = app
            .admin(&t, Method::PUT, "/v1/admin/inventory/A")
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    }
    assert_eq!(app.stock(&t, "A").await["available"], 2);
}

async fn expiry_of_checkouts_and_idle_carts(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_config(&t, json!({"checkout_ttl_minutes": 15, "guest_ttl_days": 7}))
        .await;
    app.put_item(&t, "A", "1.00").await;
    app.set_stock(&t, "A", 5).await;
    let cart = app.guest_cart(&t).await;
    app.add_line(&cart, "A", 2).await;
    let id = checkout_id(app.checkout(&cart).await).await;
    assert_eq!(app.stock(&t, "A").await["reserved"], 2);

    // Past its TTL the snapshot cannot be completed, and its stock is free again.
    app.advance(Duration::minutes(16));
    let res = app.complete(&cart, &id, "late").await;
    assert_problem(res, StatusCode::GONE, "checkout_expired").await;
    assert_eq!(app.stock(&t, "A").await["reserved"], 0);
    assert_eq!(app.get_cart(&cart).await["status"], "active");

    // The sweeper expires a pending checkout nobody came back to.
    let id2 = checkout_id(app.checkout(&cart).await).await;
    app.advance(Duration::minutes(16));
    let report = app.sweep().await;
    assert_eq!(report["checkouts_expired"], 1);
    assert_eq!(app.stock(&t, "A").await["reserved"], 0);
    let res = app
        .as_caller(&cart.caller, Method::GET, &format!("/v1/checkouts/{id2}"))
        .send()
        .await
        .unwrap();
    assert_eq!(body(res).await["status"], "expired");

    // An idle guest cart expires after the tenant's TTL.
    let idle = app.guest_cart(&t).await;
    app.add_line(&idle, "A", 1).await;
    app.advance(Duration::days(8));
    let report = app.sweep().await;
    assert!(report["carts_expired"].as_u64().unwrap() >= 1);
    assert_eq!(app.get_cart(&idle).await["status"], "expired");
    let res = app.add_line(&idle, "A", 1).await;
    assert_problem(res, StatusCode::GONE, "cart_expired").await;
}

async fn checkout_refuses_what_it_cannot_bind(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item(&t, "A", "1.00").await;
    let empty = app.guest_cart(&t).await;
    assert_problem(
        app.checkout(&empty).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "cart_empty",
    )
    .await;

    // A line whose sku left the catalog blocks checkout.
    app.put_item(&t, "GONE", "1.00").await;
    let cart = app.guest_cart(&t).await;
    app.add_line(&cart, "GONE", 1).await;
    app.delete_catalog_item(&t, "GONE").await;
    let p = assert_problem(
        app.checkout(&cart).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(p["violations"][0]["code"], "trolley.item_unavailable");

    // Unresolved merge conflicts block checkout until resolved.
    app.put_item(&t, "B", "1.00").await;
    let guest = app.guest_cart(&t).await;
    app.add_line(&guest, "B", 2).await;
    let mine = app.create_cart(&app.customer(&t, "erin")).await;
    app.add_line(&mine, "B", 1).await;
    let res = app
        .cart_req(&mine, Method::POST, "/merge")
        .json(&json!({"source_cart_id": guest.id, "source_cart_token": guest.caller.cart_token.clone().unwrap(), "policy": "review"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_problem(
        app.checkout(&mine).await,
        StatusCode::CONFLICT,
        "review_required",
    )
    .await;

    // Merging into a frozen customer cart is refused with a clear code.
    let fresh_guest = app.guest_cart(&t).await;
    app.add_line(&fresh_guest, "A", 1).await;
    let frozen = app.create_cart(&app.customer(&t, "fred")).await;
    app.add_line(&frozen, "A", 1).await;
    checkout_id(app.checkout(&frozen).await).await;
    let res = app
        .cart_req(&frozen, Method::POST, "/merge")
        .json(&json!({"source_cart_id": fresh_guest.id, "source_cart_token": fresh_guest.caller.cart_token.clone().unwrap()}))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::CONFLICT, "cart_frozen").await;
    assert_eq!(app.get_cart(&fresh_guest).await["status"], "active");
}

on_both_backends!(
    a_short_line_reserves_nothing,
    complete_exactly_once,
    price_drift_needs_consent,
    snapshots_are_immutable_and_carts_frozen,
    reserve_holds_expire_and_renew,
    soft_lines_are_checked_and_decorated,
    inventory_admin,
    expiry_of_checkouts_and_idle_carts,
    checkout_refuses_what_it_cannot_bind,
);
