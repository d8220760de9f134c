//! Plugin releases through HTTP: a version names one build, an activation without `config`
//! keeps the order type's settings, and an oversized upload says the limit.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::on_both_backends;
use crate::plugins::{GROCERY, wasm};
use crate::support::{TestApp, assert_problem, body};

async fn a_version_names_one_build(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let first = app.upload_ok(&t, wasm(GROCERY)).await;
    // Other bytes under the same name and version: refused, naming the upload that has it.
    let rebuilt = trolley_wasm_build::with_custom_section(wasm(GROCERY), "rebuilt");
    let res = app.upload(&t, rebuilt.clone()).await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "plugin_version_exists").await;
    assert_eq!(problem["plugin_id"], first["plugin_id"]);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("give this build a new version"),
        "{problem}"
    );
    let list = body(
        app.admin(&t, Method::GET, "/v1/admin/plugins")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1, "nothing was stored");
    // The same bytes again are the same upload; a new version is a new one; another
    // tenant has versions of its own.
    assert_eq!(app.upload(&t, wasm(GROCERY)).await.status(), StatusCode::OK);
    let next = trolley_wasm_build::with_version(wasm(GROCERY), "0.1.0", "0.1.1");
    let second = app.upload_ok(&t, next).await;
    assert_eq!(second["version"], "0.1.1");
    let other = app.create_tenant("USD").await;
    assert_eq!(
        app.upload(&other, rebuilt).await.status(),
        StatusCode::CREATED
    );
}

async fn an_activation_without_config_keeps_the_order_types_config(app: TestApp) {
    let (t, v1) = app
        .tenant_with("grocery", GROCERY, json!({"small_basket_fee": "4.00"}))
        .await;
    let v2 = app
        .upload_ok(
            &t,
            trolley_wasm_build::with_version(wasm(GROCERY), "0.1.0", "0.2.0"),
        )
        .await;
    let res = app
        .admin(&t, Method::POST, "/v1/admin/order-types/grocery/activate")
        .json(&json!({"plugin_id": v2["plugin_id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let active = body(res).await;
    assert_eq!(active["version"], "0.2.0");
    assert_eq!(
        active["config"],
        json!({"small_basket_fee": "4.00"}),
        "kept"
    );
    // An explicit config replaces it.
    let res = app
        .activate(&t, "grocery", &v1["plugin_id"], json!({}))
        .await;
    assert_eq!(body(res).await["config"], json!({}));
    // A first activation without config starts from the plugin's defaults.
    let fresh = app.create_tenant("USD").await;
    let p = app.upload_ok(&fresh, wasm(GROCERY)).await;
    let res = app
        .admin(
            &fresh,
            Method::POST,
            "/v1/admin/order-types/grocery/activate",
        )
        .json(&json!({"plugin_id": p["plugin_id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await["config"], json!({}));
}

async fn an_oversized_upload_says_the_limit(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let res = app.upload(&t, vec![0u8; 9 * 1024 * 1024]).await;
    let problem = assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert_eq!(problem["max_bytes"], 8 * 1024 * 1024);
    assert!(
        problem["detail"].as_str().unwrap().contains("8388608"),
        "{problem}"
    );
}

on_both_backends!(
    a_version_names_one_build,
    an_activation_without_config_keeps_the_order_types_config,
    an_oversized_upload_says_the_limit,
);
