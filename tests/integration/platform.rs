use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::on_both_backends;
use crate::support::{TestApp, assert_problem, body};

async fn operator_manages_tenants(app: TestApp) {
    let t = app.create_tenant("SGD").await;

    let res = app
        .operator(Method::GET, "/v1/platform/tenants")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let list = body(res).await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|x| x["tenant_id"] == t.id.as_str())
    );

    let res = app
        .operator(Method::GET, &format!("/v1/platform/tenants/{}", t.id))
        .send()
        .await
        .unwrap();
    let got = body(res).await;
    assert_eq!(got["currency"], "SGD");
    assert_eq!(got["status"], "active");
    // Secrets are never shown again.
    assert!(got.get("admin_key").is_none() && got.get("storefront_key").is_none());

    // Suspending locks out the tenant's admin and storefront keys.
    let res = app
        .operator(Method::PATCH, &format!("/v1/platform/tenants/{}", t.id))
        .json(&json!({"status": "suspended"}))
        .send()
        .await
        .unwrap();
    assert_eq!(body(res).await["status"], "suspended");
    let res = app
        .admin(&t, Method::GET, "/v1/admin/config")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::FORBIDDEN, "tenant_suspended").await;
    let res = app
        .as_caller(&app.guest(&t), Method::POST, "/v1/carts")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::FORBIDDEN, "tenant_suspended").await;

    let res = app
        .operator(Method::PATCH, &format!("/v1/platform/tenants/{}", t.id))
        .json(&json!({"status": "active"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .admin(&t, Method::GET, "/v1/admin/config")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

async fn operator_endpoints_need_the_operator_token(app: TestApp) {
    let t = app.create_tenant("USD").await;
    for token in [None, Some("nope"), Some(t.admin_key.as_str())] {
        let mut rb = app.request(Method::GET, "/v1/platform/tenants");
        if let Some(token) = token {
            rb = rb.bearer_auth(token);
        }
        assert_problem(
            rb.send().await.unwrap(),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
    }
    let res = app
        .operator(Method::POST, "/v1/platform/tenants")
        .json(&json!({"name": "x", "currency": "XXX"}))
        .send()
        .await
        .unwrap();
    assert_problem(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unsupported_currency",
    )
    .await;
    let res = app
        .operator(
            Method::GET,
            &format!("/v1/platform/tenants/{}", uuid::Uuid::now_v7()),
        )
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "tenant_not_found").await;
}

async fn tenant_config_round_trips_and_is_bounded(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let res = app
        .admin(&t, Method::GET, "/v1/admin/config")
        .send()
        .await
        .unwrap();
    let config = body(res).await;
    assert_eq!(config["max_quantity"], 999);
    assert_eq!(config["max_lines"], 100);
    assert_eq!(config["guest_ttl_days"], 7);
    assert_eq!(config["customer_ttl_days"], 30);
    assert_eq!(config["merge_policy"], "sum");

    app.put_config(
        &t,
        json!({"max_quantity": 5, "category_order_types": {"grocery": "grocery"}}),
    )
    .await;
    let config = body(
        app.admin(&t, Method::GET, "/v1/admin/config")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(config["max_quantity"], 5);
    assert_eq!(config["category_order_types"]["grocery"], "grocery");

    for bad in [json!({"max_quantity": 0}), json!({"max_lines": 100000})] {
        let res = app
            .admin(&t, Method::PUT, "/v1/admin/config")
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    }
    let res = app
        .admin(&t, Method::PUT, "/v1/admin/config")
        .json(&json!({"max_quantty": 5}))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_request").await;
}

on_both_backends!(
    operator_manages_tenants,
    operator_endpoints_need_the_operator_token,
    tenant_config_round_trips_and_is_bounded,
);
