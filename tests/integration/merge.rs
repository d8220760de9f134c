//! Login as convergence (SPEC §3): guest → customer merges under every policy, through HTTP.

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{CartHandle, Tenant, TestApp, assert_problem, body};

/// A guest cart and a customer cart of one tenant, filled with `(sku, colour, quantity)`.
async fn carts(
    app: &TestApp,
    t: &Tenant,
    guest_lines: &[(&str, Option<&str>, i64)],
    customer_lines: &[(&str, Option<&str>, i64)],
) -> (CartHandle, CartHandle) {
    let guest = app.guest_cart(t).await;
    let customer = app.create_cart(&app.customer(t, "alice")).await;
    for (cart, lines) in [(&customer, customer_lines), (&guest, guest_lines)] {
        for (sku, colour, qty) in lines {
            let attrs = colour.map(|c| json!({"colour": c})).unwrap_or(json!({}));
            let res = app
                .cart_req(cart, Method::POST, "/lines")
                .json(&json!({"sku": sku, "quantity": qty, "attributes": attrs}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
        }
    }
    (guest, customer)
}

async fn merge(
    app: &TestApp,
    guest: &CartHandle,
    customer: &CartHandle,
    policy: Option<&str>,
) -> reqwest::Response {
    let mut req = json!({
        "source_cart_id": guest.id,
        "source_cart_token": guest.caller.cart_token.clone().unwrap(),
    });
    if let Some(p) = policy {
        req["policy"] = json!(p);
    }
    app.cart_req(customer, Method::POST, "/merge")
        .json(&req)
        .send()
        .await
        .unwrap()
}

/// (sku, quantity, outcome class) of one merge outcome.
type Outcome = (String, u64, String);
/// (sku, quantity, needs_review) of one line of the merged cart.
type MergedLine = (String, u64, bool);

/// (sku, quantity, outcome), sorted.
fn outcomes(v: &Value) -> Vec<Outcome> {
    let mut o: Vec<_> = v["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["sku"].as_str().unwrap().to_owned(),
                o["quantity"].as_u64().unwrap(),
                o["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    o.sort();
    o
}

fn lines(cart: &Value) -> Vec<MergedLine> {
    let mut l: Vec<_> = cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["sku"].as_str().unwrap().to_owned(),
                l["quantity"].as_u64().unwrap(),
                l["needs_review"].as_bool().unwrap(),
            )
        })
        .collect();
    l.sort();
    l
}

fn o(sku: &str, qty: u64, outcome: &str) -> Outcome {
    (sku.to_owned(), qty, outcome.to_owned())
}

async fn every_policy_on_the_classic_login(app: TestApp) {
    let t = app.create_tenant("USD").await;
    for sku in ["A", "B", "C"] {
        app.put_item(&t, sku, "1.00").await;
    }
    // (policy, expected outcomes, expected lines of the merged cart)
    let table: Vec<(&str, Vec<Outcome>, Vec<MergedLine>)> = vec![
        (
            "sum",
            vec![
                o("A", 1, "added"),
                o("B", 3, "summed"),
                o("C", 3, "kept_target"),
            ],
            vec![
                ("A".into(), 1, false),
                ("B".into(), 3, false),
                ("C".into(), 3, false),
            ],
        ),
        // The guest touched B last (its add comes after the customer's).
        (
            "latest",
            vec![
                o("A", 1, "added"),
                o("B", 2, "kept_source"),
                o("C", 3, "kept_target"),
            ],
            vec![
                ("A".into(), 1, false),
                ("B".into(), 2, false),
                ("C".into(), 3, false),
            ],
        ),
        (
            "keep_target",
            vec![
                o("A", 1, "added"),
                o("B", 1, "kept_target"),
                o("C", 3, "kept_target"),
            ],
            vec![
                ("A".into(), 1, false),
                ("B".into(), 1, false),
                ("C".into(), 3, false),
            ],
        ),
        (
            "keep_source",
            vec![
                o("A", 1, "added"),
                o("B", 2, "kept_source"),
                o("C", 3, "kept_target"),
            ],
            vec![
                ("A".into(), 1, false),
                ("B".into(), 2, false),
                ("C".into(), 3, false),
            ],
        ),
        (
            "review",
            vec![
                o("A", 1, "added"),
                o("B", 1, "conflict_surfaced"),
                o("C", 3, "kept_target"),
            ],
            vec![
                ("A".into(), 1, false),
                ("B".into(), 1, true),
                ("B".into(), 2, true),
                ("C".into(), 3, false),
            ],
        ),
    ];
    for (i, (policy, expected_outcomes, expected_lines)) in table.into_iter().enumerate() {
        // A fresh customer per row: one live cart per customer.
        let customer_id = format!("customer-{i}");
        let guest = app.guest_cart(&t).await;
        let customer = app.create_cart(&app.customer(&t, &customer_id)).await;
        for (sku, qty) in [("B", 1), ("C", 3)] {
            app.add_line(&customer, sku, qty).await;
        }
        // The guest touches B after the customer did.
        app.advance(chrono::Duration::seconds(1));
        for (sku, qty) in [("A", 1), ("B", 2)] {
            app.add_line(&guest, sku, qty).await;
        }
        let res = merge(&app, &guest, &customer, Some(policy)).await;
        assert_eq!(res.status(), StatusCode::OK, "{policy}");
        let v = body(res).await;
        assert_eq!(v["policy"], policy);
        assert_eq!(v["replayed"], false);
        assert_eq!(outcomes(&v), expected_outcomes, "{policy}");
        assert_eq!(lines(&v["cart"]), expected_lines, "{policy}");
        // The answer is the cart as a read shows it.
        assert_eq!(app.get_cart(&customer).await, v["cart"], "{policy}");
        // The guest cart is merged and points at the customer's.
        let g = app.cart_req(&guest, Method::GET, "").send().await.unwrap();
        let g = body(g).await;
        assert_eq!(g["status"], "merged");
        assert_eq!(g["merged_into"], customer.id.as_str());
    }
}

async fn variants_are_identity(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item(&t, "A", "1.00").await;
    let (guest, customer) = carts(
        &app,
        &t,
        &[("A", Some("red"), 1)],
        &[("A", Some("blue"), 2)],
    )
    .await;
    let v = body(merge(&app, &guest, &customer, Some("sum")).await).await;
    assert_eq!(v["cart"]["lines"].as_array().unwrap().len(), 2);
    assert_eq!(
        outcomes(&v),
        vec![o("A", 1, "added"), o("A", 2, "kept_target")]
    );
}

async fn caps_drops_and_idempotence(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_config(&t, json!({"max_quantity": 10})).await;
    app.put_item(&t, "A", "1.00").await;
    app.put_item(&t, "GONE", "1.00").await;
    let (guest, customer) = carts(
        &app,
        &t,
        &[("A", None, 7), ("GONE", None, 1)],
        &[("A", None, 6)],
    )
    .await;
    // The guest's sku is discontinued before the shopper logs in.
    app.delete_catalog_item(&t, "GONE").await;
    let res = merge(&app, &guest, &customer, Some("sum")).await;
    let v = body(res).await;
    let capped = v["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["sku"] == "A")
        .unwrap()
        .clone();
    assert_eq!(capped["outcome"], "capped");
    assert_eq!(capped["quantity"], 10);
    assert_eq!(capped["reason"], "max_quantity");
    let gone = v["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["sku"] == "GONE")
        .unwrap()
        .clone();
    assert_eq!(gone["outcome"], "dropped_unavailable");
    assert_eq!(gone["line_id"], Value::Null);
    assert_eq!(lines(&v["cart"]), vec![("A".into(), 10, false)]);

    // Merging the same source again is a no-op answering the first result.
    let again = body(merge(&app, &guest, &customer, Some("sum")).await).await;
    assert_eq!(again["replayed"], true);
    assert_eq!(again["outcomes"], v["outcomes"]);
    assert_eq!(again["cart"]["version"], v["cart"]["version"]);

    // The merged guest cart refuses mutations and says where its lines went.
    let res = app.add_line(&guest, "A", 1).await;
    let p = assert_problem(res, StatusCode::CONFLICT, "cart_merged").await;
    assert_eq!(p["merged_into"], customer.id.as_str());
}

async fn review_conflicts_block_nothing_but_need_resolving(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item(&t, "B", "1.00").await;
    let (guest, customer) = carts(&app, &t, &[("B", None, 2)], &[("B", None, 1)]).await;
    let v = body(merge(&app, &guest, &customer, Some("review")).await).await;
    let sides: Vec<Value> = v["cart"]["lines"].as_array().unwrap().clone();
    assert_eq!(sides.len(), 2);
    assert!(sides.iter().all(|l| l["needs_review"] == true));
    // The shopper picks the guest's version: its flag clears and the other side goes.
    let pick = sides.iter().find(|l| l["quantity"] == 2).unwrap();
    let res = app
        .cart_req(
            &customer,
            Method::PATCH,
            &format!("/lines/{}", pick["line_id"].as_str().unwrap()),
        )
        .json(&json!({"quantity": 2}))
        .send()
        .await
        .unwrap();
    let v = body(res).await;
    assert_eq!(lines(&v), vec![("B".into(), 2, false)]);
}

async fn adoption_frozen_targets_and_foreign_sources(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_item(&t, "A", "1.00").await;
    // Bob has no cart yet: merging the guest cart into itself adopts it.
    let guest = app.guest_cart(&t).await;
    app.add_line(&guest, "A", 2).await;
    let bob = app.customer(&t, "bob");
    let as_bob = CartHandle {
        id: guest.id.clone(),
        caller: bob.clone(),
    };
    let res = app
        .cart_req(&as_bob, Method::POST, "/merge")
        .json(&json!({"source_cart_id": guest.id, "source_cart_token": guest.caller.cart_token.clone().unwrap()}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let v = body(res).await;
    assert_eq!(v["cart"]["customer_id"], "bob");
    let mine = body(
        app.as_caller(&bob, Method::GET, "/v1/customers/me/cart")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(mine["cart_id"], guest.id.as_str());
    // The guest token alone no longer opens it.
    let res = app.cart_req(&guest, Method::GET, "").send().await.unwrap();
    assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;

    // A wrong source token is refused and nothing changes.
    let other_guest = app.guest_cart(&t).await;
    app.add_line(&other_guest, "A", 1).await;
    let res = app
        .cart_req(&as_bob, Method::POST, "/merge")
        .json(&json!({"source_cart_id": other_guest.id, "source_cart_token": "tct_wrong"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.get_cart(&other_guest).await["status"], "active");

    // Another tenant's guest cart is not found.
    let t2 = app.create_tenant("USD").await;
    app.put_item(&t2, "A", "1.00").await;
    let foreign = app.guest_cart(&t2).await;
    let res = app
        .cart_req(&as_bob, Method::POST, "/merge")
        .json(&json!({"source_cart_id": foreign.id, "source_cart_token": foreign.caller.cart_token.clone().unwrap()}))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "cart_not_found").await;

    // A guest cannot merge: a customer token is needed.
    let res = app
        .cart_req(&other_guest, Method::POST, "/merge")
        .json(&json!({"source_cart_id": other_guest.id, "source_cart_token": other_guest.caller.cart_token.clone().unwrap()}))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

async fn concurrent_merge_and_add_lose_nothing(app: TestApp) {
    let t = app.create_tenant("USD").await;
    for sku in ["A", "B"] {
        app.put_item(&t, sku, "1.00").await;
    }
    let (guest, customer) = carts(&app, &t, &[("A", None, 1)], &[("B", None, 1)]).await;
    let merge_fut = merge(&app, &guest, &customer, Some("sum"));
    let adds = join_all((0..5).map(|_| app.add_line(&customer, "B", 1)));
    let (m, adds) = tokio::join!(merge_fut, adds);
    assert_eq!(m.status(), StatusCode::OK);
    assert!(adds.iter().all(|r| r.status() == StatusCode::OK));
    let v = app.get_cart(&customer).await;
    assert_eq!(
        lines(&v),
        vec![("A".into(), 1, false), ("B".into(), 6, false)]
    );
}

async fn stale_devices_on_a_customer_cart(app: TestApp) {
    let t = app.create_tenant("USD").await;
    for sku in ["A", "B"] {
        app.put_item(&t, sku, "1.00").await;
    }
    let desktop = app.create_cart(&app.customer(&t, "dana")).await;
    let phone = CartHandle {
        id: desktop.id.clone(),
        caller: app.customer(&t, "dana"),
    };
    app.add_line(&desktop, "A", 1).await;
    let v = body(app.add_line(&desktop, "B", 1).await).await;
    let a = v["lines"][0]["line_id"].as_str().unwrap().to_owned();
    let b = v["lines"][1]["line_id"].as_str().unwrap().to_owned();
    // Desktop sets A to 2.
    let res = app
        .cart_req(&desktop, Method::PATCH, &format!("/lines/{a}"))
        .json(&json!({"quantity": 2, "expected_line_version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // The stale phone removes A (line version 1) and sets B (line version 1) at once.
    let remove_a = app
        .cart_req(
            &phone,
            Method::DELETE,
            &format!("/lines/{a}?expected_line_version=1"),
        )
        .send();
    let set_b = app
        .cart_req(&phone, Method::PATCH, &format!("/lines/{b}"))
        .json(&json!({"quantity": 4, "expected_line_version": 1}))
        .send();
    let (ra, rb) = tokio::join!(remove_a, set_b);
    assert_problem(ra.unwrap(), StatusCode::CONFLICT, "line_conflict").await;
    assert_eq!(rb.unwrap().status(), StatusCode::OK);
    let v = app.get_cart(&desktop).await;
    assert_eq!(
        lines(&v),
        vec![("A".into(), 2, false), ("B".into(), 4, false)]
    );
}

on_both_backends!(
    every_policy_on_the_classic_login,
    variants_are_identity,
    caps_drops_and_idempotence,
    review_conflicts_block_nothing_but_need_resolving,
    adoption_frozen_targets_and_foreign_sources,
    concurrent_merge_and_add_lose_nothing,
    stale_devices_on_a_customer_cart,
);
