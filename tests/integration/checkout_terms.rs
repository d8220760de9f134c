//! What a checkout binds besides lines and stock (SPEC §2, §4): prices the shopper accepted
//! stay accepted, and the request context that priced the snapshot is kept with it.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::on_both_backends;
use crate::support::{CartHandle, TestApp, assert_problem, body};

async fn checkout_accepting(app: &TestApp, cart: &CartHandle) -> reqwest::Response {
    app.cart_req(cart, Method::POST, "/checkout")
        .json(&json!({"accept_price_changes": true}))
        .send()
        .await
        .unwrap()
}

async fn started(res: reqwest::Response) -> serde_json::Value {
    assert_eq!(res.status(), StatusCode::CREATED);
    body(res).await
}

async fn an_accepted_price_is_not_asked_again(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item(&t, "A", "1.00").await;
    app.put_item(&t, "B", "2.00").await;
    let cart = app.guest_cart(&t).await;
    app.add_line(&cart, "A", 3).await;
    app.add_line(&cart, "B", 1).await;
    app.put_item(&t, "A", "1.20").await;

    let snap = started(checkout_accepting(&app, &cart).await).await;
    assert_eq!(snap["lines"][0]["unit_price"], "1.20");
    let res = app
        .cancel(&cart, snap["checkout_id"].as_str().unwrap())
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // The cart is back, at the price the shopper accepted: nothing to flag.
    let v = app.get_cart(&cart).await;
    assert_eq!(v["status"], "active");
    assert_eq!(v["lines"][0]["price_changed"], false);
    assert_eq!(v["lines"][0]["added_unit_price"], "1.20");
    assert_eq!(v["lines"][1]["price_changed"], false);
    assert_eq!(v["lines"][1]["added_unit_price"], "2.00");

    // A new checkout without consent binds it: it was accepted already.
    let snap = started(app.checkout(&cart).await).await;
    assert_eq!(snap["lines"][0]["unit_price"], "1.20");
    assert_eq!(snap["lines"][0]["price_revision"], 2);
    assert_eq!(snap["total"], "5.60");

    // After an expiry too; and a price that moves again is asked about again.
    app.advance(Duration::minutes(16));
    app.sweep().await;
    assert_eq!(app.get_cart(&cart).await["status"], "active");
    app.put_item(&t, "A", "1.50").await;
    let v = app.get_cart(&cart).await;
    assert_eq!(v["lines"][0]["price_changed"], true);
    let p = assert_problem(
        app.checkout(&cart).await,
        StatusCode::CONFLICT,
        "price_changed",
    )
    .await;
    assert_eq!(p["changes"][0]["was"], "1.20");
    assert_eq!(p["changes"][0]["now"], "1.50");
    assert_eq!(p["changes"].as_array().unwrap().len(), 1, "{p}");
}

async fn snapshots_and_orders_keep_the_context_that_priced_them(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item(&t, "A", "1.00").await;
    let cart = app.guest_cart(&t).await;
    app.add_line(&cart, "A", 1).await;
    let context = json!({"delivery_slot": "2026-12-03T10:00/12:00", "distance_km": "3.2", "age_verified": "true"});
    let res = app
        .cart_req(&cart, Method::PUT, "/context")
        .json(&context)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let snap = started(app.checkout(&cart).await).await;
    assert_eq!(snap["context"], context);
    let id = snap["checkout_id"].as_str().unwrap();
    let read = body(
        app.as_caller(&cart.caller, Method::GET, &format!("/v1/checkouts/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(read["context"], context, "stored with the snapshot");

    let res = app.complete(&cart, id, "order-1").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let order = body(res).await;
    assert_eq!(order["context"], context);
    let order_id = order["order_id"].as_str().unwrap();
    // Support reads it back from the stored order.
    let res = app
        .admin(&t, Method::GET, &format!("/v1/orders/{order_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await["context"], context);

    // A cart with no context records an empty one, not a missing field.
    let other = app.guest_cart(&t).await;
    app.add_line(&other, "A", 1).await;
    let snap = started(app.checkout(&other).await).await;
    assert_eq!(snap["context"], json!({}));
}

on_both_backends!(
    an_accepted_price_is_not_asked_again,
    snapshots_and_orders_keep_the_context_that_priced_them,
);
