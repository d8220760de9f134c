//! Two devices, double clicks and retries: correctness lives in the database.

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::on_both_backends;
use crate::support::{TestApp, body};

async fn fifty_concurrent_adds_of_one_line_key_add_fifty(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item(&t, "APPLE", "1.00").await;
    let cart = app.guest_cart(&t).await;
    let adds = (0..50).map(|i| {
        app.cart_req(&cart, Method::POST, "/lines")
            .header("Idempotency-Key", format!("add-{i}"))
            .json(&json!({"sku": "APPLE", "quantity": 1}))
            .send()
    });
    let statuses: Vec<StatusCode> = join_all(adds)
        .await
        .into_iter()
        .map(|r| r.unwrap().status())
        .collect();
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    let v = app.get_cart(&cart).await;
    assert_eq!(v["lines"].as_array().unwrap().len(), 1);
    assert_eq!(v["lines"][0]["quantity"], 50);
    assert_eq!(v["version"], 51);
}

async fn concurrent_adds_stop_cleanly_at_the_cap(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_config(&t, json!({"max_quantity": 30})).await;
    app.put_item(&t, "APPLE", "1.00").await;
    let cart = app.guest_cart(&t).await;
    let adds = (0..50).map(|i| {
        app.cart_req(&cart, Method::POST, "/lines")
            .header("Idempotency-Key", format!("add-{i}"))
            .json(&json!({"sku": "APPLE", "quantity": 1}))
            .send()
    });
    let mut ok = 0;
    let mut refused = 0;
    for res in join_all(adds).await {
        let res = res.unwrap();
        match res.status() {
            StatusCode::OK => ok += 1,
            StatusCode::UNPROCESSABLE_ENTITY => {
                assert_eq!(body(res).await["code"], "quantity_out_of_range");
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", body(res).await),
        }
    }
    assert_eq!((ok, refused), (30, 20));
    assert_eq!(app.get_cart(&cart).await["lines"][0]["quantity"], 30);
}

async fn fifty_concurrent_replays_of_one_key_add_once(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item(&t, "APPLE", "1.00").await;
    let cart = app.guest_cart(&t).await;
    let send = || {
        app.cart_req(&cart, Method::POST, "/lines")
            .header("Idempotency-Key", "double-click")
            .json(&json!({"sku": "APPLE", "quantity": 1}))
            .send()
    };
    let results = join_all((0..50).map(|_| send())).await;
    let mut ok = 0;
    for res in results {
        let res = res.unwrap();
        match res.status() {
            StatusCode::OK => {
                ok += 1;
                assert_eq!(body(res).await["lines"][0]["quantity"], 1);
            }
            StatusCode::CONFLICT => {
                assert!(res.headers().contains_key("retry-after"));
                assert_eq!(body(res).await["code"], "idempotency_key_in_use");
            }
            other => panic!("unexpected {other}: {}", body(res).await),
        }
    }
    assert!(ok >= 1);
    // Once the first finished, every retry is a replay.
    let replay = send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::OK);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let v = app.get_cart(&cart).await;
    assert_eq!(v["lines"][0]["quantity"], 1);
    assert_eq!(v["version"], 2);
}

async fn two_devices_creating_a_customer_cart_get_one(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let creates = (0..10).map(|_| {
        app.as_caller(&app.customer(&t, "carol"), Method::POST, "/v1/carts")
            .send()
    });
    let mut ids = Vec::new();
    for res in join_all(creates).await {
        let res = res.unwrap();
        assert!(res.status() == StatusCode::CREATED || res.status() == StatusCode::OK);
        ids.push(body(res).await["cart_id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1, "one live cart per customer: {ids:?}");
}

on_both_backends!(
    fifty_concurrent_adds_of_one_line_key_add_fifty,
    concurrent_adds_stop_cleanly_at_the_cap,
    fifty_concurrent_replays_of_one_key_add_once,
    two_devices_creating_a_customer_cart_get_one,
);
