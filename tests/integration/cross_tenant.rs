//! A cross-tenant sweep generated from `openapi/openapi.json` (SPEC §6): every operation that
//! names something of a tenant's in its path (a cart, line, checkout, order, plugin, key,
//! sku, …) is called by another tenant with this tenant's ids, with every credential the
//! operation accepts. Each answers exactly like a missing id (404) and no answer carries a
//! byte of the first tenant's data; afterwards the first tenant's data is unchanged.
//!
//! An operation the spec gains with a path parameter fails this test until it is added to
//! [`probe`], so the sweep grows with the API.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Caller, CartHandle, Tenant, TestApp, body, customer_token};

/// What tenant A owns, by the names the spec's path parameters use.
struct Victim {
    tenant: Tenant,
    sku: String,
    customer_cart: CartHandle,
    guest_cart: CartHandle,
    line_id: String,
    /// A pending checkout and a completed one's order.
    checkout_id: String,
    order_id: String,
    plugin_id: String,
    /// A webhook endpoint with one (failed) delivery.
    webhook_id: String,
    delivery_id: String,
    /// A plugin run record (of a dry run).
    run_id: String,
    /// Values that must never appear in another tenant's answers.
    secrets: Vec<String>,
}

const SHARED_CUSTOMER: &str = "same-customer-id-in-both-tenants";

async fn victim(app: &TestApp) -> Victim {
    let tenant = app.create_tenant("USD").await;
    let sku = "A-ONLY".to_owned();
    app.put_item_with(
        &tenant,
        &sku,
        json!({"price": "7.77", "category": "grocery", "title": "Secret Sauce"}),
    )
    .await;
    app.set_stock(&tenant, &sku, 10).await;
    let grocery = std::fs::read(env!("TROLLEY_PLUGIN_GROCERY_WASM")).unwrap();
    let res = app
        .admin(&tenant, Method::POST, "/v1/admin/plugins")
        .header("content-type", "application/wasm")
        .body(grocery)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let plugin = body(res).await;

    let customer_cart = app
        .create_cart(&app.customer(&tenant, SHARED_CUSTOMER))
        .await;
    let res = app.add_line(&customer_cart, &sku, 1).await;
    assert_eq!(res.status(), StatusCode::OK);
    let line_id = body(res).await["lines"][0]["line_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A checkout completed into an order, and a pending one.
    let paid = app.guest_cart(&tenant).await;
    app.add_line(&paid, &sku, 1).await;
    let checkout = body(app.checkout(&paid).await).await;
    let order = body(
        app.complete(&paid, checkout["checkout_id"].as_str().unwrap(), "pay")
            .await,
    )
    .await;
    let guest_cart = app.guest_cart(&tenant).await;
    app.add_line(&guest_cart, &sku, 2).await;
    let pending = body(app.checkout(&guest_cart).await).await;

    // Nothing listens on port 9: the delivery fails and stays in the log.
    let webhook = body(
        app.admin(&tenant, Method::POST, "/v1/admin/webhooks")
            .json(&json!({"url": "http://127.0.0.1:9/a-only-hooks"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let webhook_id = webhook["webhook_id"].as_str().unwrap().to_owned();
    app.guest_cart(&tenant).await;
    app.operator(Method::POST, "/v1/platform/relay")
        .send()
        .await
        .unwrap();
    let log = body(
        app.admin(
            &tenant,
            Method::GET,
            &format!("/v1/admin/webhooks/{webhook_id}/deliveries"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let delivery_id = log["deliveries"][0]["delivery_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A run record: a dry run of the plugin on a cart of its order type.
    app.put_config(
        &tenant,
        json!({"category_order_types": {"grocery": "grocery"}}),
    )
    .await;
    let judged = app.guest_cart(&tenant).await;
    app.add_line(&judged, &sku, 1).await;
    let dry = body(
        app.admin(
            &tenant,
            Method::POST,
            "/v1/admin/order-types/grocery/dry-run",
        )
        .json(&json!({"plugin_id": plugin["plugin_id"], "cart_ids": [judged.id]}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    let run_id = dry["carts"][0]["candidate"]["run_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let secrets = vec![
        "Secret Sauce".to_owned(),
        "a-only-hooks".to_owned(),
        webhook["secret"].as_str().unwrap().to_owned(),
        "7.77".to_owned(),
        guest_cart.caller.cart_token.clone().unwrap(),
        paid.caller.cart_token.clone().unwrap(),
        plugin["sha256"].as_str().unwrap().to_owned(),
        line_id.clone(),
    ];
    Victim {
        tenant,
        sku,
        customer_cart,
        guest_cart,
        line_id,
        checkout_id: pending["checkout_id"].as_str().unwrap().to_owned(),
        order_id: order["order_id"].as_str().unwrap().to_owned(),
        plugin_id: plugin["plugin_id"].as_str().unwrap().to_owned(),
        webhook_id,
        delivery_id,
        run_id,
        secrets,
    }
}

/// The path with A's ids filled in and the body to send, for an operation taking ids;
/// `None` for operations that take none of a tenant's ids (or only the operator's).
fn probe(method: &str, path: &str, a: &Victim) -> Option<(String, Option<Value>)> {
    let fill = |p: &str| {
        p.replace("{cart_id}", &a.customer_cart.id)
            .replace("{line_id}", &a.line_id)
            .replace("{checkout_id}", &a.checkout_id)
            .replace("{order_id}", &a.order_id)
            .replace("{plugin_id}", &a.plugin_id)
            .replace("{sku}", &a.sku)
            .replace("{key_id}", &a.tenant.admin_key_id)
            .replace("{secret_id}", &uuid::Uuid::now_v7().to_string())
            .replace("{order_type}", "grocery")
            .replace("{webhook_id}", &a.webhook_id)
            .replace("{run_id}", &a.run_id)
            .replace("{delivery_id}", &a.delivery_id)
    };
    let body = match (method, path) {
        // The operator sees every tenant by design; names chosen by a tenant (a sku, an
        // order type) are a namespace per tenant: B writing its own "A-ONLY" is no leak.
        (_, p) if p.starts_with("/v1/platform/") => return None,
        ("put", "/v1/admin/catalog/items/{sku}" | "/v1/admin/inventory/{sku}") => return None,
        ("post", "/v1/admin/order-types/{order_type}/rollback") => return None,
        // B's own runs of its own "grocery" (none): checked after the sweep.
        ("get", "/v1/admin/order-types/{order_type}/runs") => return None,
        ("get" | "delete", _) => None,
        ("post", "/v1/carts/{cart_id}/lines") => Some(json!({"sku": a.sku, "quantity": 1})),
        ("patch", "/v1/carts/{cart_id}/lines/{line_id}") => Some(json!({"quantity": 3})),
        ("put", "/v1/carts/{cart_id}/context") => Some(json!({"distance_km": "1"})),
        ("post", "/v1/carts/{cart_id}/merge") => Some(json!({
            "source_cart_id": a.guest_cart.id,
            "source_cart_token": a.guest_cart.caller.cart_token,
        })),
        ("post", "/v1/carts/{cart_id}/checkout") => Some(json!({})),
        ("post", "/v1/checkouts/{checkout_id}/cancel" | "/v1/checkouts/{checkout_id}/complete") => {
            Some(json!({}))
        }
        ("patch", "/v1/admin/webhooks/{webhook_id}") => Some(json!({"description": "mine"})),
        (
            "post",
            "/v1/admin/webhooks/{webhook_id}/rotate-secret"
            | "/v1/admin/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
        ) => Some(json!({})),
        ("post", "/v1/admin/webhooks/{webhook_id}/replay") => {
            Some(json!({"since": "2026-01-01T00:00:00Z"}))
        }
        ("post", "/v1/admin/order-types/{order_type}/activate") => {
            Some(json!({"plugin_id": a.plugin_id, "config": {}}))
        }
        ("post", "/v1/admin/order-types/{order_type}/dry-run") => {
            Some(json!({"plugin_id": a.plugin_id, "cart_ids": [a.customer_cart.id]}))
        }
        (m, p) => panic!(
            "`{} {p}` takes an id: add it to the cross-tenant sweep (tests/integration/cross_tenant.rs)",
            m.to_uppercase()
        ),
    };
    Some((fill(path), body))
}

/// Every caller of tenant B the operation's security allows.
fn callers(op: &Value, b: &Tenant, b_guest: &CartHandle) -> Vec<(&'static str, Caller)> {
    let schemes: Vec<Vec<String>> = op["security"]
        .as_array()
        .map(|alts| {
            alts.iter()
                .map(|alt| alt.as_object().unwrap().keys().cloned().collect())
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for alt in schemes {
        let has = |s: &str| alt.iter().any(|x| x == s);
        let caller = if has("admin_key") {
            (
                "admin",
                Caller {
                    api_key: String::new(),
                    bearer: Some(b.admin_key.clone()),
                    cart_token: None,
                },
            )
        } else if has("customer_token") {
            // The same customer id as A's customer, signed by B: still not A's customer.
            (
                "customer",
                Caller {
                    api_key: b.storefront_key.clone(),
                    bearer: Some(customer_token(
                        &b.customer_token_secret,
                        SHARED_CUSTOMER,
                        3600,
                    )),
                    cart_token: None,
                },
            )
        } else if has("cart_token") {
            ("guest", b_guest.caller.clone())
        } else {
            continue;
        };
        out.push(caller);
    }
    out
}

async fn another_tenant_never_reaches_this_tenants_data(app: TestApp) {
    let a = victim(&app).await;
    let b = app.create_tenant("USD").await;
    app.put_item(&b, "B-ITEM", "1.00").await;
    let b_guest = app.guest_cart(&b).await;
    app.add_line(&b_guest, "B-ITEM", 1).await;
    let before = app.get_cart(&a.customer_cart).await;

    let spec: Value = serde_json::from_str(include_str!("../../openapi/openapi.json")).unwrap();
    let mut probed = 0;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        if !path.contains('{') {
            continue;
        }
        for (method, op) in ops.as_object().unwrap() {
            let Some((url, request_body)) = probe(method, path, &a) else {
                continue;
            };
            for (who, caller) in callers(op, &b, &b_guest) {
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let mut req = app.request(method.clone(), &url);
                if caller.api_key.is_empty() {
                    req = req.bearer_auth(caller.bearer.as_deref().unwrap());
                } else {
                    req = caller.apply(req);
                }
                req = req.header("Idempotency-Key", format!("sweep-{probed}"));
                if let Some(b) = &request_body {
                    req = req.json(b);
                }
                let res = req.send().await.unwrap();
                let status = res.status();
                let text = res.text().await.unwrap();
                assert_eq!(
                    status,
                    StatusCode::NOT_FOUND,
                    "{method} {path} as B's {who}: {text}"
                );
                for secret in &a.secrets {
                    assert!(
                        !text.contains(secret.as_str()),
                        "{method} {path} as B's {who} leaked `{secret}`: {text}"
                    );
                }
                probed += 1;
            }
        }
    }
    assert!(
        probed >= 20,
        "only {probed} probes: did the spec lose its paths?"
    );
    println!("cross-tenant sweep: {probed} calls with another tenant's ids, every one 404");
    // B's admin lists hold only B's rows: none of A's items, stock, carts, checkouts,
    // orders or events, whatever the filter names.
    let a_ids = [
        a.sku.clone(),
        a.customer_cart.id.clone(),
        a.guest_cart.id.clone(),
        a.checkout_id.clone(),
        a.order_id.clone(),
    ];
    for list in [
        "/v1/admin/catalog/items".to_owned(),
        "/v1/admin/catalog/items?q=a-only".to_owned(),
        "/v1/admin/inventory".to_owned(),
        "/v1/admin/carts".to_owned(),
        format!("/v1/admin/carts?customer_id={SHARED_CUSTOMER}"),
        "/v1/admin/checkouts".to_owned(),
        format!("/v1/admin/checkouts?cart_id={}", a.guest_cart.id),
        "/v1/admin/orders".to_owned(),
        format!(
            "/v1/admin/events?subject_kind=cart&subject_id={}",
            a.customer_cart.id
        ),
        format!(
            "/v1/admin/events?subject_kind=checkout&subject_id={}",
            a.checkout_id
        ),
        format!(
            "/v1/admin/events?subject_kind=order&subject_id={}",
            a.order_id
        ),
        format!(
            "/v1/admin/events?subject_kind=inventory&subject_id={}",
            a.sku
        ),
    ] {
        let res = app.admin(&b, Method::GET, &list).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{list}");
        let text = res.text().await.unwrap();
        for leak in a.secrets.iter().chain(a_ids.iter()) {
            assert!(
                !text.contains(leak.as_str()),
                "B's {list} leaked `{leak}`: {text}"
            );
        }
    }
    let events = body(
        app.admin(
            &a.tenant,
            Method::GET,
            &format!(
                "/v1/admin/events?subject_kind=cart&subject_id={}",
                a.customer_cart.id
            ),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert!(
        !events["items"].as_array().unwrap().is_empty(),
        "A sees its own cart's events"
    );

    // B's runs of the same order type name are B's: none of A's.
    let runs = body(
        app.admin(&b, Method::GET, "/v1/admin/order-types/grocery/runs")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(runs["runs"], json!([]));

    // Nothing of A's changed.
    assert_eq!(app.get_cart(&a.customer_cart).await, before);
    let checkout = body(
        app.as_caller(
            &a.guest_cart.caller,
            Method::GET,
            &format!("/v1/checkouts/{}", a.checkout_id),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(checkout["status"], "pending");
    let item = app
        .admin(
            &a.tenant,
            Method::GET,
            &format!("/v1/admin/catalog/items/{}", a.sku),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(item.status(), StatusCode::OK);
    let order = app
        .admin(
            &a.tenant,
            Method::GET,
            &format!("/v1/orders/{}", a.order_id),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(order.status(), StatusCode::OK);
    let types = body(
        app.admin(&a.tenant, Method::GET, "/v1/admin/order-types")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(types, json!([]), "B activated nothing for A");
}

on_both_backends!(another_tenant_never_reaches_this_tenants_data);
