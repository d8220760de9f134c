use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::on_both_backends;
use crate::support::{TestApp, assert_problem, body};

async fn price_revision_moves_only_with_the_price(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let item = app.put_item(&t, "APPLE", "1.50").await;
    assert_eq!(item["price"], "1.50");
    assert_eq!(item["price_revision"], 1);

    // Same price, new title: revision unchanged.
    let item = app
        .put_item_with(
            &t,
            "APPLE",
            json!({"price": "1.5", "category": "general", "title": "Apple"}),
        )
        .await;
    assert_eq!(item["price_revision"], 1);
    assert_eq!(item["title"], "Apple");

    let item = app.put_item(&t, "APPLE", "1.75").await;
    assert_eq!(item["price_revision"], 2);

    let res = app
        .admin(&t, Method::GET, "/v1/admin/catalog/items/APPLE")
        .send()
        .await
        .unwrap();
    let got = body(res).await;
    assert_eq!(got["price"], "1.75");
    assert_eq!(got["currency"], "USD");
}

async fn money_is_exact_per_currency(app: TestApp) {
    let usd = app.create_tenant("USD").await;
    assert_eq!(app.put_item(&usd, "A", "100.50").await["price"], "100.50");
    let jpy = app.create_tenant("JPY").await;
    assert_eq!(app.put_item(&jpy, "A", "1200").await["price"], "1200");
    for (tenant, price) in [(&usd, "1.234"), (&usd, "-1.00"), (&jpy, "1.5")] {
        let res = app
            .admin(tenant, Method::PUT, "/v1/admin/catalog/items/B")
            .json(&json!({"price": price, "category": "general"}))
            .send()
            .await
            .unwrap();
        assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_price").await;
    }
    // Money is a decimal string, never a JSON number.
    let res = app
        .admin(&usd, Method::PUT, "/v1/admin/catalog/items/B")
        .json(&json!({"price": 1.5, "category": "general"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_request").await;
}

async fn batch_is_all_or_nothing(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let res = app
        .admin(&t, Method::POST, "/v1/admin/catalog/items:batch")
        .json(&json!({"items": [
            {"sku": "A", "price": "1.00", "category": "general"},
            {"sku": "B", "price": "-2.00", "category": "general"},
        ]}))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_price").await;
    let res = app
        .admin(&t, Method::GET, "/v1/admin/catalog/items/A")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "item_not_found").await;

    let items: Vec<_> = (0..200)
        .map(|i| json!({"sku": format!("SKU-{i}"), "price": format!("{i}.99"), "category": "general"}))
        .collect();
    let res = app
        .admin(&t, Method::POST, "/v1/admin/catalog/items:batch")
        .json(&json!({ "items": items }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await["items"].as_array().unwrap().len(), 200);
    let res = app
        .admin(&t, Method::GET, "/v1/admin/catalog/items/SKU-150")
        .send()
        .await
        .unwrap();
    assert_eq!(body(res).await["price"], "150.99");
}

async fn catalog_is_private_to_its_tenant(app: TestApp) {
    let a = app.create_tenant("USD").await;
    let b = app.create_tenant("USD").await;
    app.put_item(&a, "SECRET", "9.99").await;
    let res = app
        .admin(&b, Method::GET, "/v1/admin/catalog/items/SECRET")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "item_not_found").await;
    // Tenant B cannot add tenant A's sku to its carts either.
    let cart = app.guest_cart(&b).await;
    let res = app.add_line(&cart, "SECRET", 1).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "unknown_sku").await;
    // A storefront key is not an admin key.
    let res = app
        .request(Method::GET, "/v1/admin/catalog/items/SECRET")
        .bearer_auth(&a.storefront_key)
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

on_both_backends!(
    price_revision_moves_only_with_the_price,
    money_is_exact_per_currency,
    batch_is_all_or_nothing,
    catalog_is_private_to_its_tenant,
);
