//! The webhook admin API (SPEC §11): endpoints refused by name, listed without secrets,
//! isolated per tenant, secrets rotated with an overlap, types filtered, endpoints disabled,
//! replays, deletion; private addresses refused unless the operator allows them.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::events::{create_webhook, relay};
use crate::on_both_backends;
use crate::support::receiver::{Receiver, verify_with_python};
use crate::support::{Backend, TestApp, assert_problem, body, spawn_app_with};

on_both_backends!(
    endpoints_are_managed_through_the_admin_api,
    delivered_events_are_kept_for_the_tenants_retention_then_purged,
);

async fn endpoints_are_managed_through_the_admin_api(app: TestApp) {
    let receiver = Receiver::start().await;
    let t = app.create_tenant("USD").await;
    let other = app.create_tenant("USD").await;
    // Refused by name.
    for (request, says) in [
        (json!({ "url": "ftp://example.com" }), "https"),
        (
            json!({ "url": receiver.url, "event_types": ["cart.exploded"] }),
            "cart.exploded",
        ),
        (
            json!({ "url": receiver.url, "event_types": [] }),
            "event_types",
        ),
        (json!({ "url": receiver.url, "bogus": 1 }), "bogus"),
    ] {
        let res = app
            .admin(&t, Method::POST, "/v1/admin/webhooks")
            .json(&request)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{request}");
        let problem = body(res).await;
        assert!(
            problem["detail"].as_str().unwrap().contains(says),
            "{problem}"
        );
    }
    let webhook = create_webhook(
        &app,
        &t,
        json!({ "url": receiver.url, "description": "orders to the ERP" }),
    )
    .await;
    let id = webhook["webhook_id"].as_str().unwrap().to_owned();
    // Listed without its secret; invisible to another tenant.
    let list = body(
        app.admin(&t, Method::GET, "/v1/admin/webhooks")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["webhooks"].as_array().unwrap().len(), 1);
    assert!(list["webhooks"][0].get("secret").is_none(), "{list}");
    assert_eq!(list["webhooks"][0]["description"], "orders to the ERP");
    assert_problem(
        app.admin(&other, Method::GET, &format!("/v1/admin/webhooks/{id}"))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        "webhook_not_found",
    )
    .await;

    // Rotation: for a day both secrets sign.
    let rotated = body(
        app.admin(
            &t,
            Method::POST,
            &format!("/v1/admin/webhooks/{id}/rotate-secret"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let (old, new) = (
        webhook["secret"].as_str().unwrap(),
        rotated["secret"].as_str().unwrap(),
    );
    assert_ne!(old, new);
    assert!(rotated["previous_secret_expires_at"].is_string());
    app.guest_cart(&t).await;
    relay(&app).await;
    let hits = receiver.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].headers["webhook-signature"].split(' ').count(), 2);
    verify_with_python(old, &hits);
    verify_with_python(new, &hits);

    // Filtered to one type, then disabled: nothing while off.
    let res = app
        .admin(&t, Method::PATCH, &format!("/v1/admin/webhooks/{id}"))
        .json(&json!({ "event_types": ["cart.line_added"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(body(res).await["event_types"], json!(["cart.line_added"]));
    app.guest_cart(&t).await;
    relay(&app).await;
    assert_eq!(receiver.hits().len(), 1);
    let res = app
        .admin(&t, Method::PATCH, &format!("/v1/admin/webhooks/{id}"))
        .json(&json!({ "enabled": false, "event_types": null }))
        .send()
        .await
        .unwrap();
    let patched = body(res).await;
    assert_eq!(
        (patched["enabled"].clone(), patched["event_types"].clone()),
        (json!(false), Value::Null)
    );
    app.guest_cart(&t).await;
    relay(&app).await;
    assert_eq!(receiver.hits().len(), 1);

    // Replay: everything since the start comes again (the endpoint enabled again).
    app.admin(&t, Method::PATCH, &format!("/v1/admin/webhooks/{id}"))
        .json(&json!({ "enabled": true }))
        .send()
        .await
        .unwrap();
    let since = (app.clock_now() - Duration::minutes(5)).to_rfc3339();
    let res = app
        .admin(&t, Method::POST, &format!("/v1/admin/webhooks/{id}/replay"))
        .json(&json!({ "since": since }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(body(res).await["queued"], 3);
    assert_eq!(relay(&app).await["delivered"], 3);

    // Deleted: gone with its log.
    let res = app
        .admin(&t, Method::DELETE, &format!("/v1/admin/webhooks/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.admin(
            &t,
            Method::GET,
            &format!("/v1/admin/webhooks/{id}/deliveries"),
        )
        .send()
        .await
        .unwrap(),
        StatusCode::NOT_FOUND,
        "webhook_not_found",
    )
    .await;
    // The schema of one type, and a clear 404 for an unknown one.
    let res = app
        .request(Method::GET, "/v1/event-schemas/order.placed")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_problem(
        app.request(Method::GET, "/v1/event-schemas/order.lost")
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

/// A server that refuses private webhook addresses, as production does by default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_or_plain_http_url_is_refused_without_the_operator_flag() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.webhook_allow_private = false).await;
    let t = app.create_tenant("USD").await;
    for url in [
        "https://127.0.0.1:8443/hooks",
        "https://10.0.0.7/hooks",
        "https://[::1]/hooks",
        "https://localhost/hooks",
        "http://hooks.example.com/trolley",
    ] {
        let res = app
            .admin(&t, Method::POST, "/v1/admin/webhooks")
            .json(&json!({ "url": url }))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("TROLLEY_WEBHOOK_ALLOW_PRIVATE") || detail.contains("https"),
            "{url}: {detail}"
        );
    }
    let list = body(
        app.admin(&t, Method::GET, "/v1/admin/webhooks")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["webhooks"], json!([]));
}

async fn delivered_events_are_kept_for_the_tenants_retention_then_purged(app: TestApp) {
    let receiver = Receiver::start().await;
    let short = app.create_tenant("USD").await;
    let long = app.create_tenant("USD").await;
    app.put_config(&long, json!({ "event_retention_days": 30 }))
        .await;
    let res = app
        .admin(&short, Method::PUT, "/v1/admin/config")
        .json(&json!({ "event_retention_days": 91 }))
        .send()
        .await
        .unwrap();
    let problem = body(res).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("event_retention_days"),
        "{problem}"
    );
    let mut hooks = Vec::new();
    for t in [&short, &long] {
        hooks.push(create_webhook(&app, t, json!({ "url": receiver.url })).await);
        app.guest_cart(t).await;
    }
    let start = app.clock_now() - Duration::minutes(1);
    assert_eq!(relay(&app).await["delivered"], 2);

    // Eight days on: past the default week, within the other tenant's month.
    app.advance(Duration::days(8));
    let round = relay(&app).await;
    assert_eq!(round["purged"], 1, "{round}");
    for (t, hook, kept) in [(&short, &hooks[0], 0), (&long, &hooks[1], 1)] {
        let id = hook["webhook_id"].as_str().unwrap();
        let res = app
            .admin(t, Method::POST, &format!("/v1/admin/webhooks/{id}/replay"))
            .json(&json!({ "since": start.to_rfc3339() }))
            .send()
            .await
            .unwrap();
        assert_eq!(body(res).await["queued"], kept);
        // The purged event's delivery went with it.
        let log = body(
            app.admin(
                t,
                Method::GET,
                &format!("/v1/admin/webhooks/{id}/deliveries"),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(
            log["deliveries"].as_array().unwrap().len(),
            if kept == 0 { 0 } else { 2 },
            "{log}"
        );
    }
}
