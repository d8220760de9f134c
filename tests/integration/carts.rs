use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{TestApp, assert_problem, body};

fn etag_of(res: &reqwest::Response) -> String {
    res.headers()["etag"].to_str().unwrap().to_owned()
}

async fn a_guest_fills_and_empties_a_cart(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item(&t, "APPLE", "1.50").await;
    app.put_item(&t, "SHIRT", "19.99").await;

    let res = app
        .as_caller(&app.guest(&t), Method::POST, "/v1/carts")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(etag_of(&res).starts_with("\"1-"), "{}", etag_of(&res));
    let created = body(res).await;
    assert!(created["cart_token"].as_str().unwrap().starts_with("tct_"));
    assert_eq!(created["status"], "active");
    assert_eq!(created["currency"], "USD");
    assert_eq!(created["version"], 1);
    assert_eq!(created["lines"], json!([]));
    assert_eq!(created["subtotal"], "0.00");
    let cart = app.guest_cart(&t).await;

    // Adding the same line key twice increments the line.
    let res = app.add_line(&cart, "APPLE", 2).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(etag_of(&res).starts_with("\"2-"), "{}", etag_of(&res));
    let res = app.add_line(&cart, "APPLE", 3).await;
    let after = body(res).await;
    assert_eq!(after["version"], 3);
    let lines = after["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["quantity"], 5);
    assert_eq!(lines[0]["line_version"], 2);
    assert_eq!(lines[0]["unit_price"], "1.50");
    assert_eq!(lines[0]["line_total"], "7.50");
    assert_eq!(lines[0]["price_changed"], false);
    assert_eq!(lines[0]["availability"], "untracked");
    assert!(
        after.get("cart_token").is_none(),
        "the token is shown only at creation"
    );

    // Attribute order never makes two lines; a different variant does.
    let add = |attrs: Value| {
        app.cart_req(&cart, Method::POST, "/lines")
            .json(&json!({"sku": "SHIRT", "quantity": 1, "attributes": attrs}))
            .send()
    };
    add(json!({"size": "M", "colour": "red"})).await.unwrap();
    let res = add(json!({"colour": "red", "size": "M"})).await.unwrap();
    let v = body(res).await;
    assert_eq!(v["lines"].as_array().unwrap().len(), 2);
    let res = add(json!({"colour": "blue", "size": "M"})).await.unwrap();
    let v = body(res).await;
    let lines = v["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["quantity"], 2);
    assert_eq!(v["subtotal"], "67.47"); // 7.50 + 2 × 19.99 + 19.99
    assert_eq!(v["total"], v["subtotal"]);

    // The mutation's answer is exactly what a read shows.
    assert_eq!(app.get_cart(&cart).await, v);

    // Patch, then delete a line.
    let shirt_red = lines[1]["line_id"].as_str().unwrap().to_owned();
    let res = app
        .cart_req(&cart, Method::PATCH, &format!("/lines/{shirt_red}"))
        .json(&json!({"quantity": 4, "expected_line_version": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let v = body(res).await;
    assert_eq!(v["lines"][1]["quantity"], 4);
    assert_eq!(v["lines"][1]["line_version"], 3);
    let res = app
        .cart_req(&cart, Method::DELETE, &format!("/lines/{shirt_red}"))
        .send()
        .await
        .unwrap();
    let v = body(res).await;
    assert_eq!(v["lines"].as_array().unwrap().len(), 2);
    let res = app
        .cart_req(&cart, Method::DELETE, &format!("/lines/{shirt_red}"))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "line_not_found").await;

    // Context, then clear.
    let res = app
        .cart_req(&cart, Method::PUT, "/context")
        .json(&json!({"distance_km": "3.2", "age_verified": "true"}))
        .send()
        .await
        .unwrap();
    let v = body(res).await;
    assert_eq!(v["context"]["distance_km"], "3.2");
    let version = v["version"].as_i64().unwrap();
    let res = app
        .cart_req(&cart, Method::DELETE, "/lines")
        .send()
        .await
        .unwrap();
    let v = body(res).await;
    assert_eq!(v["lines"], json!([]));
    assert_eq!(v["subtotal"], "0.00");
    assert_eq!(v["version"], version + 1);
    assert_eq!(v["order_type"], Value::Null);
}

async fn a_customer_has_one_cart_on_every_device(app: TestApp) {
    let t = app.create_tenant("EUR").await;
    app.put_item(&t, "APPLE", "0.99").await;
    let phone = app.customer(&t, "alice");
    let res = app
        .as_caller(&phone, Method::POST, "/v1/carts")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let first = body(res).await;
    assert!(first.get("cart_token").is_none());
    assert_eq!(first["customer_id"], "alice");

    // A second device (a new token for the same customer) gets the same cart back.
    let desktop = app.customer(&t, "alice");
    let res = app
        .as_caller(&desktop, Method::POST, "/v1/carts")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await["cart_id"], first["cart_id"]);

    let cart = app.create_cart(&phone).await;
    app.add_line(&cart, "APPLE", 2).await;
    let res = app
        .as_caller(&desktop, Method::GET, "/v1/customers/me/cart")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mine = body(res).await;
    assert_eq!(mine["cart_id"], first["cart_id"]);
    assert_eq!(mine["lines"][0]["quantity"], 2);

    // Bob has no cart yet; a guest has no "me".
    let bob = app.customer(&t, "bob");
    let res = app
        .as_caller(&bob, Method::GET, "/v1/customers/me/cart")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "cart_not_found").await;
    let res = app
        .as_caller(&app.guest(&t), Method::GET, "/v1/customers/me/cart")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

async fn a_price_change_is_flagged_on_read(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item(&t, "APPLE", "1.50").await;
    let cart = app.guest_cart(&t).await;
    app.add_line(&cart, "APPLE", 2).await;
    app.put_item(&t, "APPLE", "1.80").await;
    let v = app.get_cart(&cart).await;
    let line = &v["lines"][0];
    assert_eq!(line["price_changed"], true);
    assert_eq!(line["added_unit_price"], "1.50");
    assert_eq!(line["unit_price"], "1.80");
    assert_eq!(v["subtotal"], "3.60");
}

async fn if_match_guards_the_whole_cart(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item(&t, "APPLE", "1.00").await;
    let cart = app.guest_cart(&t).await;
    app.add_line(&cart, "APPLE", 1).await; // version 2

    let stale = app
        .cart_req(&cart, Method::POST, "/lines")
        .header("If-Match", "\"1\"")
        .json(&json!({"sku": "APPLE", "quantity": 1}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(
        stale,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    )
    .await;
    assert_eq!(problem["current_version"], 2);
    let v = app.get_cart(&cart).await;
    assert_eq!(v["version"], 2);
    assert_eq!(v["lines"][0]["quantity"], 1);

    let fresh = app
        .cart_req(&cart, Method::POST, "/lines")
        .header("If-Match", "\"2\"")
        .json(&json!({"sku": "APPLE", "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);
    assert_eq!(body(fresh).await["lines"][0]["quantity"], 2);
}

async fn a_stale_line_version_refuses_only_that_line(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item(&t, "A", "1.00").await;
    app.put_item(&t, "B", "2.00").await;
    let cart = app.guest_cart(&t).await;
    app.add_line(&cart, "A", 1).await;
    let v = body(app.add_line(&cart, "B", 1).await).await;
    let a = v["lines"][0]["line_id"].as_str().unwrap().to_owned();
    let b = v["lines"][1]["line_id"].as_str().unwrap().to_owned();

    // The desktop sets A to 2 (A is now at line version 2).
    let res = app
        .cart_req(&cart, Method::PATCH, &format!("/lines/{a}"))
        .json(&json!({"quantity": 2, "expected_line_version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // The phone, still at line version 1 for A, removes it: refused with the current line.
    let res = app
        .cart_req(
            &cart,
            Method::DELETE,
            &format!("/lines/{a}?expected_line_version=1"),
        )
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, StatusCode::CONFLICT, "line_conflict").await;
    assert_eq!(problem["current_line"]["quantity"], 2);
    assert_eq!(problem["current_line"]["line_version"], 2);
    // A stale quantity change on A is refused as well.
    let res = app
        .cart_req(&cart, Method::PATCH, &format!("/lines/{a}"))
        .json(&json!({"quantity": 7, "expected_line_version": 1}))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::CONFLICT, "line_conflict").await;

    // The phone's change to B, whose version it knows, goes through.
    let res = app
        .cart_req(&cart, Method::PATCH, &format!("/lines/{b}"))
        .json(&json!({"quantity": 5, "expected_line_version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let v = app.get_cart(&cart).await;
    assert_eq!(v["lines"][0]["quantity"], 2);
    assert_eq!(v["lines"][1]["quantity"], 5);
}

async fn limits_come_from_the_tenant(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_config(&t, json!({"max_quantity": 10, "max_lines": 2}))
        .await;
    for sku in ["A", "B", "C"] {
        app.put_item(&t, sku, "1.00").await;
    }
    let cart = app.guest_cart(&t).await;
    let res = app.add_line(&cart, "A", 11).await;
    let p = assert_problem(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "quantity_out_of_range",
    )
    .await;
    assert_eq!(p["max_quantity"], 10);
    app.add_line(&cart, "A", 6).await;
    let res = app.add_line(&cart, "A", 5).await;
    assert_problem(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "quantity_out_of_range",
    )
    .await;
    app.add_line(&cart, "B", 1).await;
    let res = app.add_line(&cart, "C", 1).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "too_many_lines").await;
    let v = app.get_cart(&cart).await;
    assert_eq!(v["lines"].as_array().unwrap().len(), 2);
    assert_eq!(v["lines"][0]["quantity"], 6);
}

async fn the_first_line_fixes_the_order_type(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_config(
        &t,
        json!({"category_order_types": {"food": "food", "grocery": "grocery"}}),
    )
    .await;
    app.put_item_with(
        &t,
        "PIZZA",
        json!({"price": "12.00", "category": "food", "seller": "luigis"}),
    )
    .await;
    app.put_item_with(&t, "MILK", json!({"price": "2.00", "category": "grocery"}))
        .await;
    let cart = app.guest_cart(&t).await;
    let v = body(app.add_line(&cart, "PIZZA", 1).await).await;
    assert_eq!(v["order_type"], "food");
    assert_eq!(v["lines"][0]["seller"], "luigis");

    let res = app.add_line(&cart, "MILK", 1).await;
    assert_problem(res, StatusCode::CONFLICT, "incompatible_order_type").await;
    let res = app
        .cart_req(&cart, Method::POST, "/lines")
        .json(&json!({"sku": "MILK", "quantity": 1, "replace_incompatible": true}))
        .send()
        .await
        .unwrap();
    let v = body(res).await;
    assert_eq!(v["order_type"], "grocery");
    assert_eq!(v["lines"].as_array().unwrap().len(), 1);
    assert_eq!(v["lines"][0]["sku"], "MILK");
}

async fn replacing_an_incompatible_cart_says_what_went(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_config(
        &t,
        json!({"category_order_types": {"food": "food", "grocery": "grocery"}}),
    )
    .await;
    app.put_item_with(
        &t,
        "PIZZA",
        json!({"price": "12.00", "category": "food", "seller": "luigis", "title": "Pizza"}),
    )
    .await;
    app.put_item_with(&t, "MILK", json!({"price": "2.00", "category": "grocery"}))
        .await;
    let cart = app.guest_cart(&t).await;
    let pizza = body(
        app.cart_req(&cart, Method::POST, "/lines")
            .json(&json!({"sku": "PIZZA", "quantity": 2, "attributes": {"size": "l"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(pizza.get("replaced").is_none(), "{pizza}");
    let pizza_line = pizza["lines"][0]["line_id"].clone();

    let add_milk = || {
        app.cart_req(&cart, Method::POST, "/lines")
            .header("Idempotency-Key", "replace-1")
            .json(&json!({"sku": "MILK", "quantity": 1, "replace_incompatible": true}))
            .send()
    };
    let res = add_milk().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let v = body(res).await;
    assert_eq!(v["order_type"], "grocery");
    assert_eq!(
        v["replaced"],
        json!({
            "reason": "incompatible_order_type",
            "previous_order_type": "food",
            "order_type": "grocery",
            "removed_lines": [{
                "line_id": pizza_line,
                "sku": "PIZZA",
                "title": "Pizza",
                "quantity": 2,
                "attributes": {"size": "l"},
                "seller": "luigis",
                "fulfillment": null,
            }],
        })
    );
    // A retry replays the same answer, `replaced` included; reads never carry it.
    let again = add_milk().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(body(again).await, v);
    let read = app.get_cart(&cart).await;
    assert!(read.get("replaced").is_none(), "{read}");
    assert_eq!(read["version"], v["version"]);

    // A compatible add with the flag set replaces nothing and says nothing.
    let res = app
        .cart_req(&cart, Method::POST, "/lines")
        .json(&json!({"sku": "MILK", "quantity": 1, "replace_incompatible": true}))
        .send()
        .await
        .unwrap();
    let v = body(res).await;
    assert!(v.get("replaced").is_none(), "{v}");
    assert_eq!(v["lines"][0]["quantity"], 2);
}

async fn idempotency_keys_replay_and_refuse_reuse(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item(&t, "APPLE", "1.00").await;
    let cart = app.guest_cart(&t).await;
    let send = |qty: i64| {
        app.cart_req(&cart, Method::POST, "/lines")
            .header("Idempotency-Key", "click-1")
            .json(&json!({"sku": "APPLE", "quantity": qty}))
            .send()
    };
    let first = send(1).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_etag = etag_of(&first);
    let first_body = body(first).await;

    let again = send(1).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(etag_of(&again), first_etag);
    assert_eq!(body(again).await, first_body);

    let reused = send(2).await.unwrap();
    assert_problem(
        reused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    assert_eq!(app.get_cart(&cart).await["lines"][0]["quantity"], 1);

    // The same key from another tenant is another key.
    let other = app.create_tenant("USD").await;
    app.put_item(&other, "APPLE", "1.00").await;
    let other_cart = app.guest_cart(&other).await;
    let res = app
        .cart_req(&other_cart, Method::POST, "/lines")
        .header("Idempotency-Key", "click-1")
        .json(&json!({"sku": "APPLE", "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("idempotent-replayed").is_none());
}

on_both_backends!(
    a_guest_fills_and_empties_a_cart,
    a_customer_has_one_cart_on_every_device,
    a_price_change_is_flagged_on_read,
    if_match_guards_the_whole_cart,
    a_stale_line_version_refuses_only_that_line,
    limits_come_from_the_tenant,
    the_first_line_fixes_the_order_type,
    replacing_an_incompatible_cart_says_what_went,
    idempotency_keys_replay_and_refuse_reuse,
);
