//! Storefront rate limits (SPEC §6): a bucket per tenant and one per shopper, shaped by the
//! tenant's config within the operator's maxima; `429 rate_limited` with `Retry-After` and
//! `RateLimit-*` headers. On PostgreSQL the buckets live in Redis; on SQLite in process.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::on_both_backends;
use crate::support::{TestApp, assert_problem, body};

async fn a_shopper_past_its_burst_is_refused_and_others_are_not(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_config(
        &t,
        json!({"shopper_rate_limit": {"per_second": 1, "burst": 3}}),
    )
    .await;
    app.put_item(&t, "MILK", "2.00").await;
    // Creating the cart spends the anonymous caller's bucket, not the cart's.
    let cart = app.guest_cart(&t).await;
    for remaining in ["2", "1", "0"] {
        let res = app.cart_req(&cart, Method::GET, "").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["ratelimit-limit"], "3");
        assert_eq!(res.headers()["ratelimit-remaining"], remaining);
        assert!(res.headers().contains_key("ratelimit-reset"));
    }
    let refused = app.add_line(&cart, "MILK", 1).await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "retry after {retry_after}");
    assert_eq!(refused.headers()["ratelimit-remaining"], "0");
    let problem = assert_problem(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert!(problem["retry_after"].as_u64().unwrap() >= 1);

    let other = app.guest_cart(&t).await;
    assert_eq!(
        app.cart_req(&other, Method::GET, "")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK,
        "another guest has a bucket of its own"
    );
    // A second later the bucket holds a token again, and the refused add changed nothing.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let view = app.get_cart(&cart).await;
    assert_eq!(view["lines"].as_array().unwrap().len(), 0, "{view}");
}

async fn the_tenant_bucket_bounds_every_shopper(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_config(&t, json!({"rate_limit": {"per_second": 1, "burst": 4}}))
        .await;
    // Four carts (four shoppers) spend the tenant's burst; the fifth shopper is refused.
    for _ in 0..4 {
        app.guest_cart(&t).await;
    }
    let res = app
        .as_caller(&app.guest(&t), Method::POST, "/v1/carts")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Another tenant is untouched.
    let other = app.create_tenant("USD").await;
    app.guest_cart(&other).await;
}

async fn limits_are_validated_and_capped_by_the_operator(app: TestApp) {
    let t = app.create_tenant("USD").await;
    for bad in [
        json!({"shopper_rate_limit": {"per_second": 0, "burst": 3}}),
        json!({"rate_limit": {"per_second": 5, "burst": 0}}),
        json!({"rate_limit": {"per_second": 5}}),
        json!({"rate_limit": {"per_second": -1, "burst": 3}}),
        json!({"rate_limit": {"per_second": 5, "burst": 3, "extra": 1}}),
    ] {
        let res = app
            .admin(&t, Method::PUT, "/v1/admin/config")
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{bad} → {}", res.status());
    }
    // A tenant may ask for more than the operator allows (1000/s, burst 2000 in tests); it
    // gets the operator's maximum.
    app.put_config(
        &t,
        json!({"shopper_rate_limit": {"per_second": 1_000_000, "burst": 1_000_000}}),
    )
    .await;
    let config = body(
        app.admin(&t, Method::GET, "/v1/admin/config")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(config["shopper_rate_limit"]["burst"], 1_000_000);
    let cart = app.guest_cart(&t).await;
    let res = app.cart_req(&cart, Method::GET, "").send().await.unwrap();
    assert_eq!(res.headers()["ratelimit-limit"], "2000");
}

on_both_backends!(
    a_shopper_past_its_burst_is_refused_and_others_are_not,
    the_tenant_bucket_bounds_every_shopper,
    limits_are_validated_and_capped_by_the_operator,
);
