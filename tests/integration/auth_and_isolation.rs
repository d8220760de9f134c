//! Tenants never see each other; customers and guests touch only their own carts.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::on_both_backends;
use crate::support::{CartHandle, TestApp, assert_problem};

/// Every cart endpoint, as (method, suffix, body).
fn cart_endpoints(line_id: &str) -> Vec<(Method, String, Option<serde_json::Value>)> {
    vec![
        (Method::GET, String::new(), None),
        (
            Method::POST,
            "/lines".into(),
            Some(json!({"sku": "APPLE", "quantity": 1})),
        ),
        (
            Method::PATCH,
            format!("/lines/{line_id}"),
            Some(json!({"quantity": 2})),
        ),
        (Method::DELETE, format!("/lines/{line_id}"), None),
        (Method::DELETE, "/lines".into(), None),
        (Method::PUT, "/context".into(), Some(json!({"k": "v"}))),
    ]
}

async fn another_tenant_sees_no_cart(app: TestApp) {
    let a = app.create_tenant("USD").await;
    let b = app.create_tenant("USD").await;
    app.put_item(&a, "APPLE", "1.00").await;
    app.put_item(&b, "APPLE", "1.00").await;
    for owner in [app.guest(&a), app.customer(&a, "alice")] {
        let cart = app.create_cart(&owner).await;
        let v = crate::support::body(app.add_line(&cart, "APPLE", 1).await).await;
        let line_id = v["lines"][0]["line_id"].as_str().unwrap().to_owned();
        // Tenant B's storefront key, with the very same cart token or customer id.
        let mut intruder = cart.caller.clone();
        intruder.api_key = b.storefront_key.clone();
        if intruder.bearer.is_some() {
            intruder.bearer = Some(crate::support::customer_token(
                &b.customer_token_secret,
                "alice",
                3600,
            ));
        }
        let foreign = CartHandle {
            id: cart.id.clone(),
            caller: intruder,
        };
        for (method, suffix, body) in cart_endpoints(&line_id) {
            let mut rb = app.cart_req(&foreign, method.clone(), &suffix);
            if let Some(body) = body {
                rb = rb.json(&body);
            }
            let res = rb.send().await.unwrap();
            assert_problem(res, StatusCode::NOT_FOUND, "cart_not_found").await;
        }
        // Tenant B's customer "alice" is another person: no cart of A's shows up.
        let b_alice = app.customer(&b, "alice");
        let res = app
            .as_caller(&b_alice, Method::GET, "/v1/customers/me/cart")
            .send()
            .await
            .unwrap();
        assert_problem(res, StatusCode::NOT_FOUND, "cart_not_found").await;
        let after = app.get_cart(&cart).await;
        assert_eq!(after["version"], v["version"]);
    }
}

async fn customers_and_guests_touch_only_their_own_carts(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item(&t, "APPLE", "1.00").await;
    let alice_cart = app.create_cart(&app.customer(&t, "alice")).await;
    let v = crate::support::body(app.add_line(&alice_cart, "APPLE", 1).await).await;
    let line_id = v["lines"][0]["line_id"].as_str().unwrap().to_owned();
    let guest_cart = app.guest_cart(&t).await;
    let other_guest = app.guest_cart(&t).await;

    let cases = [
        // Bob on Alice's cart.
        (
            CartHandle {
                id: alice_cart.id.clone(),
                caller: app.customer(&t, "bob"),
            },
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        // A guest token on a customer's cart.
        (
            CartHandle {
                id: alice_cart.id.clone(),
                caller: other_guest.caller.clone(),
            },
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        // Only a storefront key.
        (
            CartHandle {
                id: alice_cart.id.clone(),
                caller: app.guest(&t),
            },
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        // Another guest's token on a guest cart.
        (
            CartHandle {
                id: guest_cart.id.clone(),
                caller: other_guest.caller.clone(),
            },
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
    ];
    for (handle, status, code) in cases {
        for (method, suffix, body) in cart_endpoints(&line_id) {
            let mut rb = app.cart_req(&handle, method.clone(), &suffix);
            if let Some(body) = body {
                rb = rb.json(&body);
            }
            assert_problem(rb.send().await.unwrap(), status, code).await;
        }
    }
    assert_eq!(app.get_cart(&alice_cart).await["version"], v["version"]);
}

on_both_backends!(
    another_tenant_sees_no_cart,
    customers_and_guests_touch_only_their_own_carts,
);
