//! Login merges across order types (SPEC §2, §3): a guest cart of another order type than
//! the customer's is never dropped silently; it stays the shopper's, active, and the answer
//! says so line by line.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{CartHandle, TestApp, body};

async fn merge(app: &TestApp, guest: &CartHandle, customer: &CartHandle) -> Value {
    let res = app
        .cart_req(customer, Method::POST, "/merge")
        .json(&json!({
            "source_cart_id": guest.id,
            "source_cart_token": guest.caller.cart_token.clone().unwrap(),
            "policy": "sum",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    body(res).await
}

fn outcome<'a>(merge: &'a Value, sku: &str) -> &'a Value {
    merge["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["sku"] == sku)
        .unwrap_or_else(|| panic!("no outcome for {sku}: {merge}"))
}

async fn a_guest_cart_of_another_order_type_stays_the_shoppers(app: TestApp) {
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
    let customer = app.create_cart(&app.customer(&t, "alice")).await;
    let guest = app.guest_cart(&t).await;
    assert_eq!(
        app.add_line(&customer, "MILK", 1).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.add_line(&guest, "PIZZA", 2).await.status(),
        StatusCode::OK
    );
    let customer_before = app.get_cart(&customer).await;
    let guest_before = app.get_cart(&guest).await;

    let v = merge(&app, &guest, &customer).await;
    let pizza = outcome(&v, "PIZZA");
    assert_eq!(pizza["outcome"], "left_in_source");
    assert_eq!(pizza["reason"], "incompatible_order_type");
    assert_eq!(pizza["source_quantity"], 2);
    assert_eq!(pizza["quantity"], 0);
    assert_eq!(pizza["line_id"], Value::Null);
    assert_eq!(outcome(&v, "MILK")["outcome"], "kept_target");
    assert_eq!(
        v["source"],
        json!({"cart_id": guest.id, "status": "active", "order_type": "food", "lines_left": 1})
    );
    assert_eq!(v["replayed"], false);
    // Nothing changed on either side: same versions, same lines.
    assert_eq!(v["cart"], customer_before);
    assert_eq!(app.get_cart(&customer).await, customer_before);
    assert_eq!(app.get_cart(&guest).await, guest_before);

    // The guest cart is still the shopper's to use, and asking again answers the same.
    assert_eq!(
        app.add_line(&guest, "PIZZA", 1).await.status(),
        StatusCode::OK
    );
    let again = merge(&app, &guest, &customer).await;
    assert_eq!(outcome(&again, "PIZZA")["outcome"], "left_in_source");
    assert_eq!(outcome(&again, "PIZZA")["source_quantity"], 3);
    assert_eq!(again["cart"]["version"], customer_before["version"]);

    // Once the customer's cart no longer stands in the way, the same merge absorbs it.
    let res = app
        .cart_req(&customer, Method::DELETE, "/lines")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let v = merge(&app, &guest, &customer).await;
    assert_eq!(outcome(&v, "PIZZA")["outcome"], "added");
    assert_eq!(v["cart"]["order_type"], "food");
    assert_eq!(v["source"]["status"], "merged");
    assert_eq!(v["source"]["lines_left"], 0);
    assert_eq!(app.get_cart(&guest).await["status"], "merged");
    let replay = merge(&app, &guest, &customer).await;
    assert_eq!(replay["replayed"], true);
    assert_eq!(replay["outcomes"], v["outcomes"]);
    assert_eq!(replay["source"]["status"], "merged");
}

on_both_backends!(a_guest_cart_of_another_order_type_stays_the_shoppers);
