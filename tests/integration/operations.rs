//! Health, readiness, security headers and the committed OpenAPI document.

use reqwest::{Method, StatusCode};

use crate::on_both_backends;
use crate::support::{TestApp, body};

async fn health_ready_and_headers(app: TestApp) {
    let res = app.request(Method::GET, "/health").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    for header in [
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "content-security-policy",
    ] {
        assert!(res.headers().contains_key(header), "missing {header}");
    }
    let res = app.request(Method::GET, "/ready").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let ready = body(res).await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["checks"]["database"], "ok");
    // A real evaluation of a bundled order type, not a constant.
    assert_eq!(ready["checks"]["plugin_runtime"], "ok");
    // Errors carry the headers too.
    let res = app
        .request(Method::GET, "/v1/carts/x")
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("x-content-type-options"));
}

async fn the_served_spec_is_the_committed_one(app: TestApp) {
    let res = app
        .request(Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let served = body(res).await;
    let generated: serde_json::Value =
        serde_json::from_str(&trolley::cli::openapi_json().unwrap()).unwrap();
    assert_eq!(served, generated);
    let res = app.request(Method::GET, "/docs/").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("swagger"));
}

on_both_backends!(
    health_ready_and_headers,
    the_served_spec_is_the_committed_one
);

/// Fails when `openapi/openapi.json` drifts from the code; `UPDATE_OPENAPI=1` rewrites it.
#[test]
fn committed_openapi_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json");
    let generated = trolley::cli::openapi_json().unwrap();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let diff: Vec<String> = committed
            .lines()
            .zip(generated.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(10)
            .map(|(i, (a, b))| format!("line {}:\n  committed: {a}\n  generated: {b}", i + 1))
            .collect();
        panic!(
            "openapi/openapi.json is out of date ({} vs {} lines). Run `UPDATE_OPENAPI=1 cargo test -p trolley-tests committed_openapi` or `trolley openapi`.\n{}",
            committed.lines().count(),
            generated.lines().count(),
            diff.join("\n")
        );
    }
}

#[test]
fn the_spec_documents_every_v1_path() {
    let spec: serde_json::Value =
        serde_json::from_str(&trolley::cli::openapi_json().unwrap()).unwrap();
    let paths = spec["paths"].as_object().unwrap();
    for path in [
        "/v1/platform/tenants",
        "/v1/platform/tenants/{tenant_id}",
        "/v1/admin/catalog/items/{sku}",
        "/v1/admin/catalog/items:batch",
        "/v1/admin/config",
        "/v1/admin/audit",
        "/v1/carts",
        "/v1/carts/{cart_id}",
        "/v1/customers/me/cart",
        "/v1/carts/{cart_id}/lines",
        "/v1/carts/{cart_id}/lines/{line_id}",
        "/v1/carts/{cart_id}/context",
        "/health",
        "/ready",
    ] {
        assert!(
            paths.contains_key(path),
            "missing {path}; have {:?}",
            paths.keys().collect::<Vec<_>>()
        );
    }
    assert!(spec["components"]["schemas"]["Problem"].is_object());
    assert!(spec["components"]["schemas"]["CartResponse"].is_object());
    let config = &paths["/v1/admin/config"];
    assert!(config["get"].is_object() && config["put"].is_object() && config["patch"].is_object());
    assert!(
        config["patch"]["requestBody"]["content"]["application/merge-patch+json"].is_object(),
        "{}",
        config["patch"]
    );
}
