//! Events leave the building (SPEC §11): a shopper's session reaches a tenant's webhook
//! signed and in order, failed deliveries are retried with backoff (the clock moved, no
//! sleeps) until they die, a refused change emits nothing, and every event type is raised
//! and matches its published schema. The admin API is in `webhooks.rs`.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;

use crate::on_both_backends;
use crate::support::receiver::{Receiver, verify_with_python};
use crate::support::{Backend, Tenant, TestApp, assert_problem, body, spawn_app_with};

on_both_backends!(
    a_shopper_session_reaches_the_receiver_signed_in_order_and_valid,
    a_failing_receiver_is_retried_with_backoff_until_it_answers,
    a_delivery_dies_after_a_day_and_the_endpoint_pauses,
    a_refused_change_emits_nothing,
    cancellations_and_expiries_are_events_too,
    every_event_type_is_raised_and_matches_its_schema,
);

pub(crate) async fn relay(app: &TestApp) -> Value {
    let res = app
        .operator(Method::POST, "/v1/platform/relay")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    body(res).await
}

/// Relay rounds until one finds nothing to do (a round takes a few deliveries per endpoint).
pub(crate) async fn relay_all(app: &TestApp) {
    for _ in 0..100 {
        let round = relay(app).await;
        let work = ["dispatched", "delivered", "failed", "dead"]
            .iter()
            .map(|k| round[k].as_u64().unwrap())
            .sum::<u64>();
        if work == 0 {
            return;
        }
    }
    panic!("the relay never ran out of work");
}

pub(crate) async fn create_webhook(app: &TestApp, tenant: &Tenant, request: Value) -> Value {
    let res = app
        .admin(tenant, Method::POST, "/v1/admin/webhooks")
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    body(res).await
}

async fn deliveries(app: &TestApp, tenant: &Tenant, webhook: &Value) -> Vec<Value> {
    let id = webhook["webhook_id"].as_str().unwrap();
    let res = app
        .admin(
            tenant,
            Method::GET,
            &format!("/v1/admin/webhooks/{id}/deliveries?limit=100"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    body(res).await["deliveries"].as_array().unwrap().clone()
}

/// Checks every event against its published JSON Schema.
async fn assert_match_schemas(app: &TestApp, events: &[Value]) {
    let res = app
        .request(Method::GET, "/v1/event-schemas")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let schemas = body(res).await;
    for event in events {
        let name = event["type"].as_str().unwrap();
        let schema = &schemas[name];
        assert!(schema.is_object(), "no schema for {name}");
        let validator = jsonschema::validator_for(schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(event)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{name} does not match its schema: {errors:?}\n{event}"
        );
        let envelope = jsonschema::validator_for(&schemas["envelope"]).unwrap();
        assert!(envelope.is_valid(event), "{event}");
    }
}

async fn a_shopper_session_reaches_the_receiver_signed_in_order_and_valid(app: TestApp) {
    let receiver = Receiver::start().await;
    let t = app.create_tenant("USD").await;
    let webhook = create_webhook(&app, &t, json!({ "url": receiver.url })).await;
    let secret = webhook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{webhook}");
    app.put_item(&t, "APPLE", "1.25").await;
    app.put_item(&t, "PEAR", "2.00").await;

    let cart = app.guest_cart(&t).await;
    assert_eq!(
        app.add_line(&cart, "APPLE", 2).await.status(),
        StatusCode::OK
    );
    let added = body(app.add_line(&cart, "PEAR", 1).await).await;
    let pear = added["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["sku"] == "PEAR")
        .unwrap()["line_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let apple = added["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["sku"] == "APPLE")
        .unwrap()["line_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .cart_req(&cart, Method::PATCH, &format!("/lines/{apple}"))
        .json(&json!({ "quantity": 3 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .cart_req(&cart, Method::DELETE, &format!("/lines/{pear}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let checkout = body(app.checkout(&cart).await).await;
    let checkout_id = checkout["checkout_id"].as_str().unwrap().to_owned();
    let order = body(app.complete(&cart, &checkout_id, "complete-1").await).await;
    let order_id = order["order_id"].as_str().unwrap().to_owned();

    let round = relay(&app).await;
    assert_eq!(round["delivered"], 8, "{round}");
    let events = receiver.acknowledged();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "cart.created",
            "cart.line_added",
            "cart.line_added",
            "cart.line_changed",
            "cart.line_removed",
            "checkout.started",
            "checkout.completed",
            "order.placed",
        ]
    );
    // Gap-free per subject, and about the right things.
    let mut per_subject: HashMap<String, Vec<i64>> = HashMap::new();
    for e in &events {
        assert_eq!(e["tenant_id"], t.id.as_str());
        assert_eq!(e["schema_version"], 1);
        let key = format!("{}:{}", e["subject"]["kind"], e["subject"]["id"]);
        per_subject
            .entry(key)
            .or_default()
            .push(e["sequence"].as_i64().unwrap());
    }
    assert_eq!(per_subject.len(), 3, "{per_subject:?}");
    for sequences in per_subject.values() {
        let expected: Vec<i64> = (1..=sequences.len() as i64).collect();
        assert_eq!(sequences, &expected);
    }
    assert_eq!(events[0]["subject"]["id"], cart.id.as_str());
    // The state after the change travels with it: no call back needed.
    let changed = &events[3]["data"];
    assert_eq!(changed["change"]["from_quantity"], 2);
    assert_eq!(changed["change"]["to_quantity"], 3);
    assert_eq!(changed["cart"]["subtotal"], "5.75");
    assert_eq!(changed["cart"]["lines"].as_array().unwrap().len(), 2);
    assert_eq!(events[5]["subject"]["id"], checkout_id.as_str());
    assert_eq!(events[7]["subject"]["kind"], "order");
    assert_eq!(events[7]["data"]["order_id"], order_id.as_str());
    assert_eq!(events[7]["data"]["total"], "3.75");
    // No cart token, key or secret is ever in a payload.
    for hit in receiver.hits() {
        for secret_like in [
            cart.caller.cart_token.as_deref().unwrap(),
            t.admin_key.as_str(),
            t.storefront_key.as_str(),
            secret.as_str(),
        ] {
            assert!(
                !hit.body.contains(secret_like),
                "a secret leaked: {}",
                hit.body
            );
        }
        assert_eq!(hit.headers["content-type"], "application/json");
        assert_eq!(
            hit.headers["webhook-id"],
            hit.json()["id"].as_str().unwrap()
        );
    }
    verify_with_python(&secret, &receiver.hits());
    assert_match_schemas(&app, &events).await;

    // Delivered once: another round sends nothing.
    assert_eq!(relay(&app).await["delivered"], 0);
    assert_eq!(receiver.hits().len(), 8);
    assert!(
        app.metric("trolley_webhook_attempts_total{result=\"delivered\"}")
            .await
            >= 8.0
    );
}

async fn a_failing_receiver_is_retried_with_backoff_until_it_answers(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.answer(&[500, 500]);
    let t = app.create_tenant("USD").await;
    let webhook = create_webhook(
        &app,
        &t,
        json!({ "url": receiver.url, "event_types": ["cart.created"] }),
    )
    .await;
    let cart = app.guest_cart(&t).await;
    app.put_item(&t, "A", "1.00").await;
    app.add_line(&cart, "A", 1).await;

    let round = relay(&app).await;
    assert_eq!(
        (round["failed"].as_u64(), round["delivered"].as_u64()),
        (Some(1), Some(0))
    );
    // Not due yet: nothing is sent however often the relay runs.
    assert_eq!(relay(&app).await["failed"], 0);
    assert_eq!(receiver.hits().len(), 1);
    let log = deliveries(&app, &t, &webhook).await;
    assert_eq!(log.len(), 1, "only the subscribed type: {log:?}");
    assert_eq!(log[0]["status"], "pending");
    assert_eq!(log[0]["attempts"][0]["status_code"], 500);
    assert_eq!(log[0]["attempts"][0]["error"], "receiver answered 500");
    assert_eq!(log[0]["attempts"][0]["response_excerpt"], "answered 500");

    app.advance(Duration::seconds(7));
    assert_eq!(relay(&app).await["failed"], 1);
    app.advance(Duration::seconds(37));
    assert_eq!(relay(&app).await["delivered"], 1);
    let hits = receiver.hits();
    assert_eq!(hits.len(), 3);
    // The same event each time, signed afresh.
    assert!(
        hits.iter()
            .all(|h| h.headers["webhook-id"] == hits[0].headers["webhook-id"])
    );
    let log = deliveries(&app, &t, &webhook).await;
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(log[0]["attempts"].as_array().unwrap().len(), 3);
    let endpoint = body(
        app.admin(
            &t,
            Method::GET,
            &format!(
                "/v1/admin/webhooks/{}",
                webhook["webhook_id"].as_str().unwrap()
            ),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(endpoint["failing_since"], Value::Null, "{endpoint}");
}

async fn a_delivery_dies_after_a_day_and_the_endpoint_pauses(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.answer(&[503; 40]);
    let t = app.create_tenant("USD").await;
    let webhook = create_webhook(&app, &t, json!({ "url": receiver.url })).await;
    let id = webhook["webhook_id"].as_str().unwrap().to_owned();
    app.guest_cart(&t).await;
    relay(&app).await;
    // A day of retries, two hours at a time at most.
    for _ in 0..20 {
        app.advance(Duration::hours(2));
        relay(&app).await;
    }
    let log = deliveries(&app, &t, &webhook).await;
    assert_eq!(log[0]["status"], "dead", "{log:?}");
    let attempts = log[0]["attempts"].as_array().unwrap().len();
    assert!((8..=14).contains(&attempts), "{attempts} attempts");
    let endpoint = body(
        app.admin(&t, Method::GET, &format!("/v1/admin/webhooks/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let reason = endpoint["paused_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("every delivery since"), "{endpoint}");
    assert!(endpoint["failing_since"].is_string());
    assert_eq!(endpoint["enabled"], true);

    // Paused: new events wait instead of being tried.
    let sent = receiver.hits().len();
    app.guest_cart(&t).await;
    relay(&app).await;
    assert_eq!(receiver.hits().len(), sent);
    // The tenant fixes the receiver and enables the endpoint: the waiting event goes, and
    // the dead one goes again when asked.
    receiver.answer(&[]);
    let res = app
        .admin(&t, Method::PATCH, &format!("/v1/admin/webhooks/{id}"))
        .json(&json!({ "enabled": true }))
        .send()
        .await
        .unwrap();
    let endpoint = body(res).await;
    assert_eq!(endpoint["paused_reason"], Value::Null, "{endpoint}");
    let round = relay(&app).await;
    assert!(round["delivered"].as_u64().unwrap() >= 1, "{round}");
    let dead = log[0]["delivery_id"].as_str().unwrap();
    let res = app
        .admin(
            &t,
            Method::POST,
            &format!("/v1/admin/webhooks/{id}/deliveries/{dead}/retry"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(body(res).await["status"], "pending");
    assert_eq!(relay(&app).await["delivered"], 1);
    assert!(
        app.metric("trolley_webhook_attempts_total{result=\"dead\"}")
            .await
            >= 1.0
    );
}

async fn a_refused_change_emits_nothing(app: TestApp) {
    let receiver = Receiver::start().await;
    let t = app.create_tenant("USD").await;
    let cart = app.guest_cart(&t).await;
    app.put_item(&t, "A", "1.00").await;
    app.set_stock(&t, "A", 1).await;
    app.put_item_with(
        &t,
        "B",
        json!({"price": "1.00", "category": "x", "claim_policy": "soft"}),
    )
    .await;
    app.set_stock(&t, "B", 1).await;
    // The cart's creation goes out before the endpoint exists.
    relay(&app).await;
    create_webhook(&app, &t, json!({ "url": receiver.url })).await;
    // Refused: more than the stock, a stale If-Match, an unknown sku.
    let res = app.add_line(&cart, "B", 5).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = app
        .cart_req(&cart, Method::POST, "/lines")
        .header("If-Match", "\"99\"")
        .json(&json!({ "sku": "A", "quantity": 1 }))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    let res = app.add_line(&cart, "NOPE", 1).await;
    assert!(res.status().is_client_error());
    relay(&app).await;
    assert_eq!(receiver.hits().len(), 0, "{:?}", receiver.acknowledged());
    // And a change that commits is.
    app.add_line(&cart, "A", 1).await;
    relay(&app).await;
    let events = receiver.acknowledged();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "cart.line_added");
    // Its sequence counts the creation before it: nothing was taken by the refusals.
    assert_eq!(events[0]["sequence"], 2);
}

async fn cancellations_and_expiries_are_events_too(app: TestApp) {
    let receiver = Receiver::start().await;
    let t = app.create_tenant("USD").await;
    app.put_config(&t, json!({ "guest_ttl_days": 1 })).await;
    create_webhook(
        &app,
        &t,
        json!({ "url": receiver.url, "event_types": ["cart.expired", "checkout.cancelled", "checkout.expired"] }),
    )
    .await;
    app.put_item(&t, "A", "1.00").await;
    let idle = app.guest_cart(&t).await;
    let paying = app.guest_cart(&t).await;
    app.add_line(&paying, "A", 1).await;
    let checkout = body(app.checkout(&paying).await).await;
    let checkout_id = checkout["checkout_id"].as_str().unwrap();
    assert_eq!(
        app.cancel(&paying, checkout_id).await.status(),
        StatusCode::OK
    );
    let again = body(app.checkout(&paying).await).await;
    app.advance(Duration::days(1) + Duration::minutes(1));
    app.sweep().await;
    relay(&app).await;
    let events = receiver.acknowledged();
    let seen: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["subject"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        seen.contains(&("checkout.cancelled".into(), checkout_id.into())),
        "{seen:?}"
    );
    assert!(
        seen.contains(&(
            "checkout.expired".into(),
            again["checkout_id"].as_str().unwrap().into()
        )),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("cart.expired".into(), idle.id.clone())),
        "{seen:?}"
    );
    assert_match_schemas(&app, &events).await;
}

async fn every_event_type_is_raised_and_matches_its_schema(app: TestApp) {
    use crate::plugins::{GROCERY, wasm};
    let receiver = Receiver::start().await;
    let t = app.create_tenant("USD").await;
    app.put_config(
        &t,
        json!({
            "category_order_types": {"grocery": "grocery"},
            "guest_ttl_days": 1,
            "low_stock_threshold": 5,
        }),
    )
    .await;
    create_webhook(&app, &t, json!({ "url": receiver.url })).await;

    // plugin.activated twice, then plugin.rolled_back.
    let v1 = app.upload_ok(&t, wasm(GROCERY)).await;
    app.activate_ok(&t, "grocery", &v1["plugin_id"], json!({}))
        .await;
    let v2 = app
        .upload_ok(
            &t,
            trolley_wasm_build::with_version(wasm(GROCERY), "0.1.0", "0.2.0"),
        )
        .await;
    app.activate_ok(&t, "grocery", &v2["plugin_id"], json!({}))
        .await;
    let res = app
        .admin(&t, Method::POST, "/v1/admin/order-types/grocery/rollback")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // A reserve line takes the pen below the low-stock threshold; clearing gives it back.
    app.put_item_with(
        &t,
        "PEN",
        json!({"price": "1.50", "category": "office", "claim_policy": "reserve"}),
    )
    .await;
    app.set_stock(&t, "PEN", 6).await;
    let guest = app.guest_cart(&t).await;
    app.add_line(&guest, "PEN", 2).await;
    let res = app
        .cart_req(&guest, Method::DELETE, "/lines")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // A hold left alone runs out.
    app.add_line(&guest, "PEN", 1).await;
    app.advance(Duration::minutes(16));
    app.sweep().await;

    // A guest cart merged at login; the customer's cart bought.
    let customer = app.create_cart(&app.customer(&t, "ada")).await;
    let res = app
        .cart_req(&customer, Method::POST, "/merge")
        .json(&json!({
            "source_cart_id": guest.id,
            "source_cart_token": guest.caller.cart_token.clone().unwrap(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let checkout = body(app.checkout(&customer).await).await;
    let res = app
        .complete(&customer, checkout["checkout_id"].as_str().unwrap(), "buy")
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // Another guest: a checkout cancelled, one left to expire, and an idle cart.
    let idle = app.guest_cart(&t).await;
    let other = app.guest_cart(&t).await;
    app.add_line(&other, "PEN", 1).await;
    let first = body(app.checkout(&other).await).await;
    app.cancel(&other, first["checkout_id"].as_str().unwrap())
        .await;
    app.checkout(&other).await;
    app.advance(Duration::days(1) + Duration::minutes(1));
    app.sweep().await;
    relay_all(&app).await;

    let events = receiver.acknowledged();
    let seen: std::collections::BTreeSet<&str> =
        events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let all: std::collections::BTreeSet<&str> = [
        "cart.created",
        "cart.line_added",
        "cart.line_changed",
        "cart.line_removed",
        "cart.cleared",
        "cart.merged",
        "cart.expired",
        "checkout.started",
        "checkout.completed",
        "checkout.cancelled",
        "checkout.expired",
        "order.placed",
        "reservation.expired",
        "inventory.low_stock",
        "plugin.activated",
        "plugin.rolled_back",
    ]
    .into();
    let missing: Vec<_> = all.difference(&seen).collect();
    // Line changes and removals are raised by the shopper session test; here they may not be.
    assert!(
        missing
            .iter()
            .all(|t| ["cart.line_changed", "cart.line_removed"].contains(t)),
        "never raised: {missing:?}"
    );
    assert!(seen.contains("cart.expired"), "{idle:?}");
    let low = events
        .iter()
        .find(|e| e["type"] == "inventory.low_stock")
        .unwrap();
    assert_eq!(low["subject"], json!({"kind": "inventory", "id": "PEN"}));
    assert_eq!(low["data"]["available"], 4);
    let rolled_back = events
        .iter()
        .find(|e| e["type"] == "plugin.rolled_back")
        .unwrap();
    assert_eq!(rolled_back["data"]["plugin"]["version"], "0.1.0");
    assert_eq!(rolled_back["data"]["previous_plugin"]["version"], "0.2.0");
    assert_eq!(rolled_back["sequence"], 3, "the order type's third event");
    let merged = events.iter().find(|e| e["type"] == "cart.merged").unwrap();
    assert_eq!(
        merged["data"]["change"]["source_cart_id"],
        guest.id.as_str()
    );
    assert_match_schemas(&app, &events).await;
}

/// The relay running as in production (continuously, in the background): an endpoint that
/// holds every request does not hold up another tenant's endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_endpoint_does_not_delay_another_tenants() {
    let app = spawn_app_with(Backend::Postgres, |s| s.relay_interval_ms = 20).await;
    let stuck = Receiver::start_holding().await;
    let fine = Receiver::start().await;
    let (a, b) = (
        app.create_tenant("USD").await,
        app.create_tenant("USD").await,
    );
    create_webhook(&app, &a, json!({ "url": stuck.url })).await;
    create_webhook(&app, &b, json!({ "url": fine.url })).await;
    for _ in 0..3 {
        app.guest_cart(&a).await;
        app.guest_cart(&b).await;
    }
    // Everything of tenant B arrives while A's receiver still holds its first request.
    let deadline = std::time::Instant::now() + crate::support::receiver::HOLD_AT_MOST / 2;
    while fine.acknowledged().len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "tenant B's events waited for tenant A's stuck endpoint"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        stuck.hits().is_empty(),
        "the stuck endpoint answered already"
    );
    stuck.release();
    assert!(stuck.released());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while stuck.acknowledged().len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "A's events never arrived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
