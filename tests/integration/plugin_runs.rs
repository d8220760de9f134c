//! Seeing why a live plugin fails, and trying a version before it serves (SPEC §14): run
//! records, failure codes that tell a retry from a broken plugin, fail-open reasons, dry runs
//! and the check every activation runs.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::plugins::{GROCERY, HOSTILE, wasm};
use crate::support::{Tenant, TestApp, assert_problem, body};

impl TestApp {
    /// Activates even if the version fails on the tenant's carts: what a test of failures
    /// needs (the check itself is tested below).
    pub(crate) async fn activate_forced(
        &self,
        tenant: &Tenant,
        order_type: &str,
        plugin_id: &Value,
        config: Value,
    ) {
        let res = self
            .admin(
                tenant,
                Method::POST,
                &format!("/v1/admin/order-types/{order_type}/activate"),
            )
            .json(&json!({"plugin_id": plugin_id, "config": config, "force": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "forced activation");
    }

    async fn runs(&self, tenant: &Tenant, order_type: &str, query: &str) -> Value {
        let res = self
            .admin(
                tenant,
                Method::GET,
                &format!("/v1/admin/order-types/{order_type}/runs{query}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "runs{query}");
        body(res).await
    }

    async fn run(&self, tenant: &Tenant, order_type: &str, run_id: &Value) -> reqwest::Response {
        self.admin(
            tenant,
            Method::GET,
            &format!(
                "/v1/admin/order-types/{order_type}/runs/{}",
                run_id.as_str().unwrap()
            ),
        )
        .send()
        .await
        .unwrap()
    }

    async fn dry_run(
        &self,
        tenant: &Tenant,
        order_type: &str,
        request: Value,
    ) -> reqwest::Response {
        self.admin(
            tenant,
            Method::POST,
            &format!("/v1/admin/order-types/{order_type}/dry-run"),
        )
        .json(&request)
        .send()
        .await
        .unwrap()
    }

    /// A hostile-fixture tenant (mode `ok`) with a one-line cart.
    async fn hostile_cart(&self) -> (Tenant, Value, crate::support::CartHandle) {
        let (t, p) = self
            .tenant_with("hostile", HOSTILE, json!({"mode": "ok"}))
            .await;
        self.put_item_with(&t, "X", json!({"price": "1.00", "category": "hostile"}))
            .await;
        let cart = self.guest_cart(&t).await;
        assert_eq!(self.add_line(&cart, "X", 1).await.status(), StatusCode::OK);
        (t, p, cart)
    }
}

async fn a_broken_plugin_is_not_retry_later_and_its_run_says_why(app: TestApp) {
    let (t, p, cart) = app.hostile_cart().await;
    app.activate_forced(&t, "hostile", &p["plugin_id"], json!({"mode": "panic"}))
        .await;
    // A panic fails every time: 502 plugin_error, no Retry-After, the run named.
    let res = app.cart_req(&cart, Method::GET, "").send().await.unwrap();
    assert!(!res.headers().contains_key("retry-after"));
    let problem = assert_problem(res, StatusCode::BAD_GATEWAY, "plugin_error").await;
    assert_eq!(problem["order_type"], "hostile");
    assert_eq!(problem["failure_kind"], "trapped");
    let run_id = problem["run_id"].clone();
    assert!(
        problem["detail"].as_str().unwrap().contains(&format!(
            "/v1/admin/order-types/hostile/runs/{}",
            run_id.as_str().unwrap()
        )),
        "{problem}"
    );
    // The tenant reads the panic's own message, the cart as the plugin saw it and the
    // version and config that ran.
    let res = app.run(&t, "hostile", &run_id).await;
    assert_eq!(res.status(), StatusCode::OK);
    let run = body(res).await;
    assert_eq!(run["trigger"], "cart");
    assert_eq!(run["failure"]["kind"], "trapped");
    assert_eq!(run["failure"]["transient"], false);
    let message = run["failure"]["message"].as_str().unwrap();
    assert!(message.contains("panics on purpose"), "{message}");
    assert!(
        run["report"]["logs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["level"] == "error"
                && l["message"].as_str().unwrap().contains("panics on purpose")),
        "the panic is in the logs: {run}"
    );
    assert_eq!(run["plugin"]["plugin_id"], p["plugin_id"]);
    assert_eq!(run["plugin"]["config"], json!({"mode": "panic"}));
    assert!(run["plugin"]["config_activated_at"].is_string());
    assert_eq!(run["input"]["cart_id"], json!(cart.id));
    assert_eq!(run["input"]["lines"][0]["sku"], "X");
    assert!(run["output"].is_null());
    // Listed among the failed runs; successful ones are sampled (the first `ok` read was).
    let failed = app.runs(&t, "hostile", "?failed=true").await;
    assert_eq!(failed["runs"][0]["run_id"], run_id);
    assert!(
        failed["runs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["failure"].is_object())
    );
    let all = app.runs(&t, "hostile", "").await;
    assert!(
        all["runs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["failure"].is_null()),
        "a successful call was sampled: {all}"
    );
    // A loop passes its deadline: that may be load, so 503 with Retry-After.
    app.activate_forced(&t, "hostile", &p["plugin_id"], json!({"mode": "loop"}))
        .await;
    let res = app.cart_req(&cart, Method::GET, "").send().await.unwrap();
    assert!(res.headers().contains_key("retry-after"));
    let problem = assert_problem(res, StatusCode::SERVICE_UNAVAILABLE, "plugin_failed").await;
    assert_eq!(problem["failure_kind"], "deadline_exceeded");
    // Malformed output is the plugin's bug too.
    app.activate_forced(
        &t,
        "hostile",
        &p["plugin_id"],
        json!({"mode": "bad_decimal"}),
    )
    .await;
    let res = app.add_line(&cart, "X", 1).await;
    let problem = assert_problem(res, StatusCode::BAD_GATEWAY, "plugin_error").await;
    assert_eq!(problem["failure_kind"], "bad_output");
    // Another tenant cannot read the run; a bad query is refused.
    let other = app.create_tenant("USD").await;
    assert_problem(
        app.run(&other, "hostile", &run_id).await,
        StatusCode::NOT_FOUND,
        "plugin_run_not_found",
    )
    .await;
    let res = app
        .admin(
            &t,
            Method::GET,
            "/v1/admin/order-types/hostile/runs?limit=0",
        )
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
}

async fn failing_open_says_how_the_plugin_failed(app: TestApp) {
    let (t, p, cart) = app.hostile_cart().await;
    app.put_config(
        &t,
        json!({"category_order_types": {"hostile": "hostile"}, "plugin_fail_mode": "open"}),
    )
    .await;
    app.activate_forced(
        &t,
        "hostile",
        &p["plugin_id"],
        json!({"mode": "unknown_line"}),
    )
    .await;
    let v = body(app.cart_req(&cart, Method::GET, "").send().await.unwrap()).await;
    assert_eq!(v["plugin_status"], "unavailable");
    assert_eq!(v["plugin_failure"]["order_type"], "hostile");
    assert_eq!(v["plugin_failure"]["kind"], "bad_output");
    assert_eq!(v["plugin_failure"]["transient"], false);
    let run = body(app.run(&t, "hostile", &v["plugin_failure"]["run_id"]).await).await;
    assert!(
        run["failure"]["message"].as_str().unwrap().contains("line"),
        "{run}"
    );
}

async fn a_dry_run_shows_two_versions_side_by_side(app: TestApp) {
    let (t, v1) = app
        .tenant_with("grocery", GROCERY, json!({"small_basket_fee": "2.00"}))
        .await;
    app.put_item_with(&t, "MILK", json!({"price": "1.00", "category": "grocery"}))
        .await;
    let cart = app.guest_cart(&t).await;
    app.add_line(&cart, "MILK", 1).await;
    let v2 = app
        .upload_ok(
            &t,
            trolley_wasm_build::with_version(wasm(GROCERY), "0.1.0", "0.2.0"),
        )
        .await;
    let res = app
        .dry_run(
            &t,
            "grocery",
            json!({"plugin_id": v2["plugin_id"], "config": {"small_basket_fee": "5.00"}, "cart_ids": [cart.id]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let d = body(res).await;
    assert_eq!(d["candidate"]["version"], "0.2.0");
    assert_eq!(d["active"]["plugin_id"], v1["plugin_id"]);
    let c = &d["carts"][0];
    assert_eq!(c["cart_id"], json!(cart.id));
    let fee = |o: &Value| {
        o["evaluation"]["fees"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "grocery.small_basket")
            .map(|f| f["amount"].clone())
    };
    assert_eq!(fee(&c["candidate"]), Some(json!("5.00")));
    assert_eq!(fee(&c["active"]), Some(json!("2.00")));
    assert_eq!(c["differs"], true);
    assert_eq!(c["regressed"], false);
    assert!(c["candidate"]["run_id"].is_string());
    // Nothing changed: the cart still shows the active version's fee.
    let shown = body(app.cart_req(&cart, Method::GET, "").send().await.unwrap()).await;
    assert_eq!(shown["plugin"]["version"], "0.1.0");
    // Without cart ids: recent carts of the order type; without config: the current one.
    let d = body(
        app.dry_run(&t, "grocery", json!({"plugin_id": v2["plugin_id"]}))
            .await,
    )
    .await;
    assert_eq!(d["carts"].as_array().unwrap().len(), 1);
    assert_eq!(
        d["candidate"]["config"],
        json!({"small_basket_fee": "2.00"})
    );
    assert_eq!(d["carts"][0]["differs"], false);
    // Refusals name the problem and change nothing.
    let res = app
        .dry_run(
            &t,
            "grocery",
            json!({"plugin_id": v2["plugin_id"], "config": {"items_per_bag": "many"}}),
        )
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_config").await;
    assert!(
        problem["errors"].to_string().contains("items_per_bag"),
        "{problem}"
    );
    let foreign = app.create_tenant("USD").await;
    let foreign_cart = app.guest_cart(&foreign).await;
    let res = app
        .dry_run(
            &t,
            "grocery",
            json!({"plugin_id": v2["plugin_id"], "cart_ids": [foreign_cart.id]}),
        )
        .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    let res = app
        .dry_run(
            &t,
            "grocery",
            json!({"plugin_id": uuid::Uuid::now_v7(), "cart_ids": [cart.id]}),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "plugin_not_found").await;
}

async fn an_activation_that_would_break_carts_is_refused(app: TestApp) {
    let (t, p, cart) = app.hostile_cart().await;
    // A config that passes the schema but makes every cart fail.
    let res = app
        .activate(
            &t,
            "hostile",
            &p["plugin_id"],
            json!({"mode": "bad_decimal"}),
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "activation_check_failed").await;
    let failure = &problem["failures"][0];
    assert_eq!(failure["cart_id"], json!(cart.id));
    assert_eq!(failure["kind"], "bad_output");
    assert!(failure["run_id"].is_string());
    assert!(
        problem["detail"].as_str().unwrap().contains("force"),
        "{problem}"
    );
    // Still served by the working config.
    let v = body(app.cart_req(&cart, Method::GET, "").send().await.unwrap()).await;
    assert_eq!(v["plugin_status"], "ok");
    let active = body(
        app.admin(&t, Method::GET, "/v1/admin/order-types")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(active[0]["config"], json!({"mode": "ok"}));
    // The check's runs are readable.
    let run = body(app.run(&t, "hostile", &failure["run_id"]).await).await;
    assert_eq!(run["trigger"], "activation_check");
    // `force` overrides.
    app.activate_forced(
        &t,
        "hostile",
        &p["plugin_id"],
        json!({"mode": "bad_decimal"}),
    )
    .await;
    let res = app.cart_req(&cart, Method::GET, "").send().await.unwrap();
    assert_problem(res, StatusCode::BAD_GATEWAY, "plugin_error").await;
    // A version that works is activated after the check.
    app.activate_ok(&t, "hostile", &p["plugin_id"], json!({"mode": "ok"}))
        .await;
}

async fn violations_name_the_field_that_fixes_them(app: TestApp) {
    let (t, _) = app.tenant_with("grocery", GROCERY, json!({})).await;
    app.put_item_with(
        &t,
        "FISH",
        json!({"price": "20.00", "category": "grocery", "attributes": {"cold_chain": "true"}}),
    )
    .await;
    let cart = app.guest_cart(&t).await;
    let v = body(app.add_line(&cart, "FISH", 1).await).await;
    let slot = v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["code"] == "grocery.delivery_slot_required")
        .unwrap();
    assert_eq!(slot["field"], "context.delivery_slot");
}

on_both_backends!(
    a_broken_plugin_is_not_retry_later_and_its_run_says_why,
    failing_open_says_how_the_plugin_failed,
    a_dry_run_shows_two_versions_side_by_side,
    an_activation_that_would_break_carts_is_refused,
    violations_name_the_field_that_fixes_them,
);
