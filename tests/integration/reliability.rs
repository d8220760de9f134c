//! Issue 13 through HTTP: idempotency keys scoped by caller, retries answered at once after a
//! crash between a commit and its stored answer, and per-address limits that believe
//! forwarding headers only from trusted proxies.

use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Backend, TestApp, assert_problem, body, customer_token, spawn_app_with};

/// Two shoppers whose storefront uses the same simple keys never meet: each key lives in
/// its caller's scope (customer, guest cart, anonymous address, admin key).
async fn idempotency_keys_belong_to_their_caller(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item(&t, "APPLE", "1.00").await;
    app.put_item(&t, "PEAR", "2.00").await;

    // Two customers create their carts with the same key and the same (empty) body.
    let mut carts = Vec::new();
    for customer in ["ann", "bob"] {
        let res = app
            .as_caller(&app.customer(&t, customer), Method::POST, "/v1/carts")
            .header("Idempotency-Key", "1")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        assert!(res.headers().get("idempotent-replayed").is_none());
        let cart = body(res).await;
        assert_eq!(cart["customer_id"], customer);
        carts.push(cart["cart_id"].as_str().unwrap().to_owned());
    }
    assert_ne!(carts[0], carts[1]);

    // The same customer with a refreshed token is the same caller: a replay.
    let refreshed = crate::support::Caller {
        bearer: Some(customer_token(&t.customer_token_secret, "ann", 7200)),
        ..app.customer(&t, "ann")
    };
    let res = app
        .as_caller(&refreshed, Method::POST, "/v1/carts")
        .header("Idempotency-Key", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    assert_eq!(body(res).await["cart_id"], carts[0].as_str());

    // Two guests add different items with the same key: both run (before, the second got
    // 422 idempotency_key_reused).
    for sku in ["APPLE", "PEAR"] {
        let cart = app.guest_cart(&t).await;
        let res = app
            .cart_req(&cart, Method::POST, "/lines")
            .header("Idempotency-Key", "1")
            .json(&json!({"sku": sku, "quantity": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{sku}");
        assert_eq!(body(res).await["lines"][0]["sku"], sku);
    }
}

/// Stages what a node killed between committing a change and storing its answer leaves: the
/// key bound to the committed change, no answer.
async fn lose_the_answer(app: &TestApp, key: &str, secret: Option<&str>) {
    let db = Database::connect(&app.database_url).await.unwrap();
    let secret = secret.map_or("NULL".to_owned(), |s| format!("'{s}'"));
    let changed = db
        .execute_unprepared(&format!(
            "UPDATE idempotency_records SET state = 'committed', status_code = NULL, \
             content_type = NULL, etag = NULL, location = NULL, body = NULL, \
             replay_secret = {secret} WHERE idem_key = '{key}'"
        ))
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 1, "no record for {key}");
    db.close().await.ok();
}

/// A retry whose first request committed but never stored its answer is answered at once
/// from what the change left: the cart, the new guest cart with its token, the checkout.
async fn a_committed_change_without_its_answer_is_replayed_at_once(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item(&t, "APPLE", "1.00").await;

    // A line added, its answer lost.
    let cart = app.guest_cart(&t).await;
    let add = || {
        app.cart_req(&cart, Method::POST, "/lines")
            .header("Idempotency-Key", "add-1")
            .json(&json!({"sku": "APPLE", "quantity": 1}))
            .send()
    };
    assert_eq!(add().await.unwrap().status(), StatusCode::OK);
    lose_the_answer(&app, "add-1", None).await;
    let retry = add().await.unwrap();
    assert_eq!(retry.status(), StatusCode::OK);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert!(
        retry.headers()["etag"]
            .to_str()
            .unwrap()
            .starts_with("\"2-"),
        "the cart's ETag at version 2"
    );
    let cart_now = body(retry).await;
    assert_eq!(cart_now["lines"][0]["quantity"], 1, "applied once");
    // The re-rendered answer is now the key's answer.
    let again = add().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(body(again).await, cart_now);
    assert_eq!(app.get_cart(&cart).await["lines"][0]["quantity"], 1);

    // A guest cart created, its answer (the only place its token is shown) lost.
    let create = || {
        app.as_caller(&app.guest(&t), Method::POST, "/v1/carts")
            .header("Idempotency-Key", "new-cart")
            .send()
    };
    let first = body(create().await.unwrap()).await;
    let token = first["cart_token"].as_str().unwrap().to_owned();
    lose_the_answer(&app, "new-cart", Some(&token)).await;
    let retry = create().await.unwrap();
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(
        retry.headers()["location"],
        format!("/v1/carts/{}", first["cart_id"].as_str().unwrap()).as_str()
    );
    let replayed = body(retry).await;
    assert_eq!(replayed["cart_id"], first["cart_id"]);
    assert_eq!(replayed["cart_token"], token.as_str());

    // A checkout started, its answer lost.
    let start = || {
        app.cart_req(&cart, Method::POST, "/checkout")
            .header("Idempotency-Key", "pay")
            .send()
    };
    let started = start().await.unwrap();
    assert_eq!(started.status(), StatusCode::CREATED);
    let checkout: Value = body(started).await;
    lose_the_answer(&app, "pay", None).await;
    let retry = start().await.unwrap();
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(body(retry).await["checkout_id"], checkout["checkout_id"]);

    // A different request under a bound key is still refused.
    let other = app
        .cart_req(&cart, Method::POST, "/lines")
        .header("Idempotency-Key", "add-1")
        .json(&json!({"sku": "APPLE", "quantity": 5}))
        .send()
        .await
        .unwrap();
    assert_problem(
        other,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
}

on_both_backends!(
    idempotency_keys_belong_to_their_caller,
    a_committed_change_without_its_answer_is_replayed_at_once,
);

/// Anonymous guest-cart creations counted per address, the address read from `X-Forwarded-For`
/// only when the peer is a trusted proxy.
async fn forwarded_addresses(backend: Backend, trusted: bool) {
    let app = spawn_app_with(backend, |s| {
        s.trusted_proxies = trusted
            .then(|| trolley_api::client_addr::TrustedProxies::parse("127.0.0.1/32, ::1").unwrap());
    })
    .await;
    let t = app.create_tenant("USD").await;
    app.put_config(
        &t,
        json!({"shopper_rate_limit": {"per_second": 1, "burst": 2}}),
    )
    .await;
    let create = |from: &'static str| {
        app.as_caller(&app.guest(&t), Method::POST, "/v1/carts")
            .header("X-Forwarded-For", from)
            .send()
    };
    for _ in 0..2 {
        assert_eq!(
            create("198.51.100.1").await.unwrap().status(),
            StatusCode::CREATED
        );
    }
    assert_problem(
        create("198.51.100.1").await.unwrap(),
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    let another_shopper = create("198.51.100.2").await.unwrap();
    if trusted {
        // A storefront backend behind a trusted address: each shopper has their own bucket.
        assert_eq!(another_shopper.status(), StatusCode::CREATED);
    } else {
        // Anyone can write the header: it is ignored, the peer's bucket is empty.
        assert_problem(
            another_shopper,
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
        )
        .await;
    }
}

mod trusted_proxies_forward_the_anonymous_address {
    use crate::support::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::forwarded_addresses(Backend::Sqlite, true).await;
        super::forwarded_addresses(Backend::Sqlite, false).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::forwarded_addresses(Backend::Postgres, true).await;
        super::forwarded_addresses(Backend::Postgres, false).await;
    }
}
