//! `reject` refuses only the mutation it is to blame for (SPEC §5), through HTTP: a cart
//! left in violation by a merge stays editable where the violation is not.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::plugins::{FOOD, GROCERY};
use crate::support::{CartHandle, Tenant, TestApp, assert_problem, body};

/// Merges a guest cart holding `guest_lines` into a customer cart holding `customer_lines`
/// (`sum`), with no plugin in the way of either; answers the merged cart.
async fn merged(
    app: &TestApp,
    t: &Tenant,
    customer_lines: &[(&str, i64)],
    guest_lines: &[(&str, i64)],
) -> (CartHandle, Value) {
    let customer = app.create_cart(&app.customer(t, "alice")).await;
    let guest = app.guest_cart(t).await;
    for (cart, lines) in [(&customer, customer_lines), (&guest, guest_lines)] {
        for (sku, qty) in lines {
            let res = app.add_line(cart, sku, *qty).await;
            assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
        }
    }
    let res = app
        .cart_req(&customer, Method::POST, "/merge")
        .json(&json!({
            "source_cart_id": guest.id,
            "source_cart_token": guest.caller.cart_token.clone().unwrap(),
            "policy": "sum",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let v = body(res).await;
    (customer, v["cart"].clone())
}

fn line_of<'a>(cart: &'a Value, sku: &str) -> &'a Value {
    cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["sku"] == sku)
        .unwrap_or_else(|| panic!("no {sku} line in {cart}"))
}

async fn patch(app: &TestApp, cart: &CartHandle, line: &Value, quantity: i64) -> reqwest::Response {
    app.cart_req(
        cart,
        Method::PATCH,
        &format!("/lines/{}", line["line_id"].as_str().unwrap()),
    )
    .json(&json!({ "quantity": quantity }))
    .send()
    .await
    .unwrap()
}

async fn a_second_outlet_left_by_a_merge_blocks_only_itself(app: TestApp) {
    let (t, _) = app.tenant_with("food", FOOD, json!({})).await;
    for (sku, price, outlet) in [
        ("PIZZA", "12.00", "luigis"),
        ("SALAD", "7.00", "luigis"),
        ("BURGER", "9.00", "burger-barn"),
    ] {
        app.put_item_with(
            &t,
            sku,
            json!({"price": price, "category": "food", "seller": outlet}),
        )
        .await;
    }
    let (cart, v) = merged(&app, &t, &[("PIZZA", 1)], &[("BURGER", 1)]).await;
    let burger = line_of(&v, "BURGER").clone();
    assert_eq!(v["violations"][0]["code"], "food.one_outlet");
    assert_eq!(v["violations"][0]["line_id"], burger["line_id"]);

    // The outlet the cart is from stays editable: more of a line, a new line.
    let res = app.add_line(&cart, "PIZZA", 1).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    let res = app.add_line(&cart, "SALAD", 1).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    let v = app.get_cart(&cart).await;
    assert_eq!(line_of(&v, "PIZZA")["quantity"], 2);

    // Growing the line in violation is refused, naming it; nothing is stored.
    let res = patch(&app, &cart, &burger, 2).await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(p["violations"].as_array().unwrap().len(), 1, "{p}");
    assert_eq!(p["violations"][0]["line_id"], burger["line_id"]);
    let res = app.add_line(&cart, "BURGER", 1).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(app.get_cart(&cart).await, v, "nothing stored");

    // Checkout stays refused while it stands.
    let res = app.checkout(&cart).await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(p["violations"][0]["code"], "food.one_outlet");

    // Removing the second outlet's line fixes the cart; adding it back is refused again.
    let res = app
        .cart_req(
            &cart,
            Method::DELETE,
            &format!("/lines/{}", burger["line_id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let v = body(res).await;
    assert!(
        !v["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["severity"] == "reject"),
        "{v}"
    );
    let res = app.add_line(&cart, "BURGER", 1).await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(p["violations"][0]["code"], "food.one_outlet");
    let res = app.add_line(&cart, "PIZZA", 1).await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn a_cart_wide_rejection_refuses_any_growth_until_fixed(app: TestApp) {
    let (t, _) = app
        .tenant_with("grocery", GROCERY, json!({"max_total_quantity": 5}))
        .await;
    for sku in ["MILK", "EGGS"] {
        app.put_item_with(&t, sku, json!({"price": "2.00", "category": "grocery"}))
            .await;
    }
    // 3 + 3: over the maximum of 5, put there by the merge.
    let (cart, v) = merged(&app, &t, &[("MILK", 3)], &[("EGGS", 3)]).await;
    assert_eq!(v["violations"][0]["code"], "grocery.max_quantity");
    assert_eq!(v["violations"][0]["line_id"], Value::Null);

    // The rule is about the whole cart: any growth makes it worse.
    let res = app.add_line(&cart, "MILK", 1).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    // Decreasing is never refused, and once under the maximum the cart grows again.
    let res = patch(&app, &cart, line_of(&v, "EGGS"), 1).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.add_line(&cart, "MILK", 1).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
}

on_both_backends!(
    a_second_outlet_left_by_a_merge_blocks_only_itself,
    a_cart_wide_rejection_refuses_any_growth_until_fixed,
);
