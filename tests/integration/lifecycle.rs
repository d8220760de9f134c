//! Data lifecycle: ended carts and checkouts deleted after the tenant's retention, reads
//! keeping an idle cart alive, orders outliving both, and what the sweeps removed in
//! `/metrics`.

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{CartHandle, TestApp, assert_problem, body};

on_both_backends!(
    ended_carts_past_retention_are_deleted_recent_ones_kept,
    a_read_renews_an_idle_cart_at_most_once_a_day,
    orders_stay_readable_after_retention_deletes_cart_and_checkout,
    retention_is_configurable_by_put_and_patch,
);

fn expires_at(cart: &Value) -> DateTime<Utc> {
    cart["expires_at"].as_str().unwrap().parse().unwrap()
}

async fn cart_status(app: &TestApp, cart: &CartHandle) -> StatusCode {
    app.cart_req(cart, Method::GET, "")
        .send()
        .await
        .unwrap()
        .status()
}

async fn ended_carts_past_retention_are_deleted_recent_ones_kept(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_config(&t, json!({"guest_ttl_days": 1, "cart_retention_days": 2}))
        .await;
    app.put_item(&t, "A", "1.00").await;

    // Expires after a day idle (ended at day 1).
    let old = app.guest_cart(&t).await;
    app.add_line(&old, "A", 1).await;
    let live = app.guest_cart(&t).await;
    app.advance(Duration::days(1) + Duration::minutes(1));
    assert_eq!(app.sweep().await["carts_expired"], 2);
    assert_eq!(app.get_cart(&old).await["status"], "expired");

    // Another one ends a day later (day 2).
    let recent = app.guest_cart(&t).await;
    app.add_line(&recent, "A", 1).await;
    app.advance(Duration::days(1) + Duration::minutes(1));
    assert_eq!(app.sweep().await["carts_expired"], 1);

    // Day 3 and a bit: the first ended more than 2 days ago, the second not yet.
    app.advance(Duration::days(1));
    // An active cart is never a retention candidate, however old.
    let active = app.guest_cart(&t).await;
    let report = app.sweep().await;
    assert_eq!(report["carts_deleted"], 2, "{report}");
    assert_problem(
        app.cart_req(&old, Method::GET, "").send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "cart_not_found",
    )
    .await;
    assert_eq!(cart_status(&app, &live).await, StatusCode::NOT_FOUND);
    assert_eq!(app.get_cart(&recent).await["status"], "expired");
    assert_eq!(app.get_cart(&active).await["status"], "active");
    // Its line is gone with it: adding to it is refused like any missing cart.
    assert_eq!(
        app.add_line(&old, "A", 1).await.status(),
        StatusCode::NOT_FOUND
    );

    // A day later the second one goes too; a sweep with nothing due deletes nothing.
    app.advance(Duration::days(1) + Duration::hours(1));
    assert_eq!(app.sweep().await["carts_deleted"], 1);
    assert_eq!(cart_status(&app, &recent).await, StatusCode::NOT_FOUND);
    assert_eq!(app.sweep().await["carts_deleted"], 0);
    assert_eq!(
        app.metric(r#"trolley_swept_total{kind="carts_deleted"}"#)
            .await,
        3.0
    );
}

async fn a_read_renews_an_idle_cart_at_most_once_a_day(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_config(&t, json!({"guest_ttl_days": 7})).await;
    app.put_item(&t, "A", "1.00").await;
    let cart = app.guest_cart(&t).await;
    app.add_line(&cart, "A", 1).await;
    let first = app.get_cart(&cart).await;
    let created_expiry = expires_at(&first);
    let etag = |res: &reqwest::Response| res.headers()["etag"].to_str().unwrap().to_owned();
    let res = app.cart_req(&cart, Method::GET, "").send().await.unwrap();
    let tag = etag(&res);

    // Within the first day a read writes nothing.
    app.advance(Duration::hours(20));
    assert_eq!(expires_at(&app.get_cart(&cart).await), created_expiry);

    // Two days in, a read pushes the deadline out by the TTL from now; the version (and
    // ETag) stays, since nothing the shopper asked for changed.
    app.advance(Duration::hours(28));
    let res = app.cart_req(&cart, Method::GET, "").send().await.unwrap();
    assert_eq!(etag(&res), tag);
    let renewed = body(res).await;
    assert_eq!(renewed["version"], first["version"]);
    assert_eq!(expires_at(&renewed), created_expiry + Duration::days(2));

    // Read again and again that day: no further renewal (at most once a day).
    for _ in 0..3 {
        app.advance(Duration::hours(7));
        assert_eq!(
            expires_at(&app.get_cart(&cart).await),
            created_expiry + Duration::days(2)
        );
    }
    // A day after the renewal, the next read renews again.
    app.advance(Duration::hours(4));
    assert_eq!(
        expires_at(&app.get_cart(&cart).await),
        created_expiry + Duration::days(3) + Duration::hours(1)
    );

    // Past its original deadline, the cart its shopper kept reading is still alive.
    app.advance(Duration::days(4));
    assert_eq!(app.sweep().await["carts_expired"], 0);
    let now_view = app.get_cart(&cart).await;
    assert_eq!(now_view["status"], "active");
    assert_eq!(now_view["version"], first["version"]);
    // Left alone past its deadline, it expires; a late read does not revive it.
    app.advance(Duration::days(8));
    let late = app.get_cart(&cart).await;
    assert_eq!(expires_at(&late), expires_at(&now_view));
    assert_eq!(app.sweep().await["carts_expired"], 1);
    assert_eq!(app.get_cart(&cart).await["status"], "expired");
}

async fn orders_stay_readable_after_retention_deletes_cart_and_checkout(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_config(&t, json!({"cart_retention_days": 1})).await;
    app.put_item(&t, "A", "2.50").await;
    app.set_stock(&t, "A", 10).await;

    let guest = app.guest_cart(&t).await;
    let customer = app.create_cart(&app.customer(&t, "alice")).await;
    let mut orders = Vec::new();
    for (i, cart) in [&guest, &customer].into_iter().enumerate() {
        assert_eq!(app.add_line(cart, "A", 2).await.status(), StatusCode::OK);
        let res = app.checkout(cart).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let checkout_id = body(res).await["checkout_id"].as_str().unwrap().to_owned();
        let res = app.complete(cart, &checkout_id, &format!("pay-{i}")).await;
        assert_eq!(res.status(), StatusCode::CREATED, "{}", body(res).await);
        let order_id = body(res).await["order_id"].as_str().unwrap().to_owned();
        orders.push((cart, checkout_id, order_id));
    }
    // A cancelled checkout of a cart that lives on goes too; the cart stays.
    let browsing = app.guest_cart(&t).await;
    app.add_line(&browsing, "A", 1).await;
    let res = app.checkout(&browsing).await;
    let cancelled = body(res).await["checkout_id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.cancel(&browsing, &cancelled).await.status(),
        StatusCode::OK
    );

    app.advance(Duration::days(1) + Duration::hours(1));
    let report = app.sweep().await;
    assert_eq!(report["carts_deleted"], 2, "{report}");
    assert_eq!(report["checkouts_deleted"], 3, "{report}");
    // The completes' idempotency records are past their 24 h too.
    assert!(
        report["idempotency_records_purged"].as_u64().unwrap() >= 2,
        "{report}"
    );

    for (cart, checkout_id, order_id) in &orders {
        assert_eq!(cart_status(&app, cart).await, StatusCode::NOT_FOUND);
        let res = app
            .as_caller(
                &cart.caller,
                Method::GET,
                &format!("/v1/checkouts/{checkout_id}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        // The shopper who placed it, and the tenant's admin, still read the order.
        let res = app
            .as_caller(&cart.caller, Method::GET, &format!("/v1/orders/{order_id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let order = body(res).await;
        assert_eq!(order["total"], "5.00");
        assert_eq!(order["checkout_id"], checkout_id.as_str());
        let res = app
            .admin(&t, Method::GET, &format!("/v1/orders/{order_id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    // Nobody else does.
    let (_, _, guest_order) = &orders[0];
    let stranger = app.guest_cart(&t).await;
    let res = app
        .as_caller(
            &stranger.caller,
            Method::GET,
            &format!("/v1/orders/{guest_order}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, _, customer_order) = &orders[1];
    let res = app
        .as_caller(
            &app.customer(&t, "mallory"),
            Method::GET,
            &format!("/v1/orders/{customer_order}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get_cart(&browsing).await["status"], "active");
    assert_eq!(app.stock(&t, "A").await["on_hand"], 6);

    for (kind, at_least) in [
        ("carts_deleted", 2.0),
        ("checkouts_deleted", 3.0),
        ("idempotency_records_purged", 2.0),
    ] {
        let n = app
            .metric(&format!(r#"trolley_swept_total{{kind="{kind}"}}"#))
            .await;
        assert!(n >= at_least, "{kind}: {n}");
    }
}

async fn retention_is_configurable_by_put_and_patch(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let config = |app: &TestApp| app.admin(&t, Method::GET, "/v1/admin/config").send();
    let res = config(&app).await.unwrap();
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(body(res).await["cart_retention_days"], 30);

    let res = app
        .admin(&t, Method::PATCH, "/v1/admin/config")
        .header("content-type", "application/merge-patch+json")
        .header("if-match", &etag)
        .body(json!({"cart_retention_days": 90}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let patched = body(res).await;
    assert_eq!(patched["cart_retention_days"], 90);
    assert_eq!(patched["guest_ttl_days"], 7);

    for bad in [0, 3651] {
        let res = app
            .admin(&t, Method::PUT, "/v1/admin/config")
            .json(&json!({"cart_retention_days": bad}))
            .send()
            .await
            .unwrap();
        let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
        assert!(
            p["detail"]
                .as_str()
                .unwrap()
                .contains("cart_retention_days"),
            "{p}"
        );
    }
    let res = app
        .admin(&t, Method::PUT, "/v1/admin/config")
        .json(&json!({"cart_retention_days": "forever"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    assert_eq!(
        body(config(&app).await.unwrap()).await["cart_retention_days"],
        90
    );

    // PUT replaces the whole config: left out, it is back to the default.
    app.put_config(&t, json!({"guest_ttl_days": 3})).await;
    assert_eq!(
        body(config(&app).await.unwrap()).await["cart_retention_days"],
        30
    );
}
