//! Config changes under `If-Match` (PATCH as a JSON merge patch, PUT) and the audit log of
//! admin changes (SPEC §14).

use futures_util::future::join_all;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Tenant, TestApp, assert_problem, body};

const GROCERY: &str = env!("TROLLEY_PLUGIN_GROCERY_WASM");
const MERGE_PATCH: &str = "application/merge-patch+json";

fn etag_of(res: &Response) -> String {
    res.headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("an ETag")
        .to_owned()
}

impl TestApp {
    /// The config and its ETag.
    async fn config(&self, tenant: &Tenant) -> (Value, String) {
        let res = self
            .admin(tenant, Method::GET, "/v1/admin/config")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let etag = etag_of(&res);
        (body(res).await, etag)
    }

    async fn patch_config(
        &self,
        tenant: &Tenant,
        if_match: Option<&str>,
        patch: Value,
    ) -> Response {
        let mut rb = self
            .admin(tenant, Method::PATCH, "/v1/admin/config")
            .header("content-type", MERGE_PATCH)
            .body(patch.to_string());
        if let Some(tag) = if_match {
            rb = rb.header("if-match", tag);
        }
        rb.send().await.unwrap()
    }

    async fn audit(&self, tenant: &Tenant, query: &str) -> Value {
        let res = self
            .admin(tenant, Method::GET, &format!("/v1/admin/audit{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        body(res).await
    }
}

async fn patch_keeps_omitted_fields(app: TestApp) {
    let t = app.create_tenant("USD").await;
    app.put_config(
        &t,
        json!({"max_quantity": 5, "guest_ttl_days": 3, "category_order_types": {"grocery": "grocery"}}),
    )
    .await;
    let (before, etag) = app.config(&t).await;

    let res = app
        .patch_config(
            &t,
            Some(&etag),
            json!({"max_lines": 3, "category_order_types": {"food": "food"}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let new_etag = etag_of(&res);
    assert_ne!(new_etag, etag);
    let patched = body(res).await;
    assert_eq!(patched["max_lines"], 3);
    // Left out: kept. A map merges key by key.
    assert_eq!(patched["max_quantity"], 5);
    assert_eq!(patched["guest_ttl_days"], 3);
    assert_eq!(
        patched["category_order_types"],
        json!({"grocery": "grocery", "food": "food"})
    );
    for (key, value) in before.as_object().unwrap() {
        if key != "max_lines" && key != "category_order_types" {
            assert_eq!(&patched[key], value, "{key} changed");
        }
    }
    // GET shows the same document and ETag.
    assert_eq!(app.config(&t).await, (patched, new_etag.clone()));

    // `null` resets a field to its default (and removes a map key); plain JSON works too.
    let res = app
        .admin(&t, Method::PATCH, "/v1/admin/config")
        .header("if-match", &new_etag)
        .json(&json!({"max_quantity": null, "category_order_types": {"grocery": null}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let patched = body(res).await;
    assert_eq!(patched["max_quantity"], 999);
    assert_eq!(patched["category_order_types"], json!({"food": "food"}));
    assert_eq!(patched["max_lines"], 3);

    // PUT still replaces the whole config, and answers the new ETag.
    let res = app
        .admin(&t, Method::PUT, "/v1/admin/config")
        .json(&json!({"max_quantity": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let put_etag = etag_of(&res);
    let replaced = body(res).await;
    assert_eq!(replaced["max_lines"], 100);
    assert_eq!(replaced["category_order_types"], json!({}));
    assert_eq!(app.config(&t).await.1, put_etag);
}

async fn stale_if_match_is_refused_and_changes_nothing(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let (_, first) = app.config(&t).await;
    let res = app
        .patch_config(&t, Some(&first), json!({"max_lines": 10}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (current, current_etag) = app.config(&t).await;

    // PATCH and PUT with the old ETag: 412 naming the current revision, nothing written.
    let res = app
        .patch_config(&t, Some(&first), json!({"max_lines": 20}))
        .await;
    assert_eq!(etag_of(&res), current_etag);
    let problem = assert_problem(res, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    assert_eq!(
        format!("\"{}\"", problem["current_revision"]),
        current_etag,
        "{problem}"
    );
    let res = app
        .admin(&t, Method::PUT, "/v1/admin/config")
        .header("if-match", &first)
        .json(&json!({"max_lines": 30}))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    let res = app
        .patch_config(&t, Some("\"not-a-revision\""), json!({"max_lines": 40}))
        .await;
    assert_problem(res, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    assert_eq!(app.config(&t).await, (current, current_etag));
}

async fn patch_without_if_match_is_428(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let before = app.config(&t).await;
    let res = app.patch_config(&t, None, json!({"max_lines": 10})).await;
    let problem = assert_problem(
        res,
        StatusCode::PRECONDITION_REQUIRED,
        "precondition_required",
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("If-Match"),
        "{problem}"
    );
    assert_eq!(app.config(&t).await, before);
    assert_eq!(
        app.audit(&t, "").await["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "config.patch")
            .count(),
        0
    );
}

async fn invalid_patch_names_the_field_and_changes_nothing(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let before = app.config(&t).await;
    let etag = before.1.clone();

    // Wrong type, unknown field: 400 naming it, as PUT would refuse the same body.
    for (patch, field) in [
        (json!({"max_lines": "many", "max_quantity": 5}), "max_lines"),
        (json!({"max_lnes": 3}), "max_lnes"),
        (json!({"merge_policy": "whatever"}), "merge_policy"),
        (json!({"rate_limit": {"per_second": "fast"}}), "rate_limit"),
    ] {
        let res = app.patch_config(&t, Some(&etag), patch.clone()).await;
        let problem = assert_problem(res, StatusCode::BAD_REQUEST, "invalid_request").await;
        assert_eq!(problem["field"], field, "{patch}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(field),
            "{problem}"
        );
    }
    // Out of range: 422, the message names the field, as for PUT.
    for (patch, field) in [
        (json!({"max_lines": 0}), "max_lines"),
        (json!({"max_quantity": 100_001}), "max_quantity"),
    ] {
        let res = app.patch_config(&t, Some(&etag), patch).await;
        let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
        assert!(
            problem["detail"].as_str().unwrap().contains(field),
            "{problem}"
        );
    }
    // Not a merge patch at all.
    let res = app.patch_config(&t, Some(&etag), json!([1, 2])).await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_request").await;
    let res = app
        .admin(&t, Method::PATCH, "/v1/admin/config")
        .header("if-match", &etag)
        .header("content-type", MERGE_PATCH)
        .body("{\"max_lines\": ")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "malformed_json").await;
    let res = app
        .admin(&t, Method::PATCH, "/v1/admin/config")
        .header("if-match", &etag)
        .header("content-type", "text/plain")
        .body("{\"max_lines\": 3}")
        .send()
        .await
        .unwrap();
    assert_problem(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    assert_eq!(app.config(&t).await, before);
}

async fn concurrent_patches_with_one_etag_one_wins(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let (_, etag) = app.config(&t).await;
    let answers = join_all((1..=8).map(|n| {
        let app = &app;
        let t = &t;
        let etag = etag.clone();
        async move {
            let res = app
                .patch_config(t, Some(&etag), json!({"max_lines": 10 + n}))
                .await;
            let status = res.status();
            (n, status, body(res).await)
        }
    }))
    .await;
    let winners: Vec<_> = answers
        .iter()
        .filter(|(_, status, _)| *status == StatusCode::OK)
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    for (_, status, problem) in &answers {
        if *status != StatusCode::OK {
            assert_eq!(*status, StatusCode::PRECONDITION_FAILED, "{problem}");
            assert_eq!(problem["code"], "precondition_failed");
        }
    }
    let (config, _) = app.config(&t).await;
    assert_eq!(config["max_lines"], 10 + winners[0].0);
    let patches = app.audit(&t, "").await["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "config.patch")
        .count();
    assert_eq!(patches, 1);
}

/// The entry with this action and target (the newest one).
fn entry<'a>(entries: &'a [Value], action: &str, target: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| e["action"] == action && e["target"] == target)
        .unwrap_or_else(|| panic!("no {action} of {target} in {entries:?}"))
}

async fn admin_changes_are_audited_per_tenant(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let other = app.create_tenant("USD").await;

    // Config patch.
    let (_, etag) = app.config(&t).await;
    let res = app
        .patch_config(&t, Some(&etag), json!({"max_lines": 42}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // Catalog upsert: created, then repriced.
    app.put_item(&t, "APPLE", "1.50").await;
    app.put_item(&t, "APPLE", "1.75").await;
    // Inventory.
    app.set_stock(&t, "APPLE", 10).await;
    app.set_stock(&t, "APPLE", 4).await;
    // Plugin upload and activation.
    let res = app
        .admin(&t, Method::POST, "/v1/admin/plugins")
        .header("content-type", "application/wasm")
        .body(std::fs::read(GROCERY).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let plugin = body(res).await;
    let res = app
        .admin(&t, Method::POST, "/v1/admin/order-types/grocery/activate")
        .json(&json!({"plugin_id": plugin["plugin_id"], "config": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    app.delete_catalog_item(&t, "APPLE").await;

    let page = app.audit(&t, "").await;
    let entries = page["entries"].as_array().unwrap();
    assert!(page["next_before"].is_null(), "{page}");
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "catalog.delete",
            "order_type.activate",
            "plugin.upload",
            "inventory.set",
            "inventory.set",
            "catalog.upsert",
            "catalog.upsert",
            "config.patch",
            "tenant.create",
        ],
        "newest first"
    );
    for e in entries {
        assert_eq!(e["tenant_id"], t.id.as_str());
        assert!(e["at"].is_string() && e["audit_id"].is_string());
        let expected = if e["action"] == "tenant.create" {
            "operator"
        } else {
            t.admin_key_id.as_str()
        };
        assert_eq!(e["actor"], expected, "{e}");
    }

    let config = entry(entries, "config.patch", "config");
    assert_eq!(config["before"]["max_lines"], 100);
    assert_eq!(config["after"]["max_lines"], 42);
    assert_eq!(
        config["after"]["max_quantity"],
        config["before"]["max_quantity"]
    );

    // The newest upsert of APPLE is the reprice; the older one created it.
    let upserts: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "catalog.upsert")
        .collect();
    assert_eq!(upserts[0]["target"], "APPLE");
    assert_eq!(upserts[0]["before"]["price"], "1.50");
    assert_eq!(upserts[0]["after"]["price"], "1.75");
    assert_eq!(upserts[0]["after"]["price_revision"], 2);
    assert!(upserts[1]["before"].is_null());
    assert_eq!(upserts[1]["after"]["price"], "1.50");

    let stock: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "inventory.set")
        .collect();
    assert_eq!(stock[0]["before"]["on_hand"], 10);
    assert_eq!(stock[0]["after"]["on_hand"], 4);
    assert!(stock[1]["before"].is_null());
    assert_eq!(stock[1]["after"]["on_hand"], 10);

    let activation = entry(entries, "order_type.activate", "grocery");
    assert!(activation["before"].is_null());
    assert_eq!(activation["after"]["plugin_id"], plugin["plugin_id"]);
    assert_eq!(activation["after"]["config"], json!({}));
    let upload = entry(
        entries,
        "plugin.upload",
        plugin["plugin_id"].as_str().unwrap(),
    );
    assert_eq!(upload["after"]["sha256"], plugin["sha256"]);

    let deleted = entry(entries, "catalog.delete", "APPLE");
    assert_eq!(deleted["before"]["price"], "1.75");
    assert!(deleted["after"].is_null());

    // The other tenant's admin sees only its own tenant's log.
    let theirs = app.audit(&other, "").await;
    let theirs = theirs["entries"].as_array().unwrap();
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!(theirs[0]["action"], "tenant.create");
    assert_eq!(theirs[0]["tenant_id"], other.id.as_str());
    // Even with a cursor taken from this tenant's log.
    let cursor = entries[0]["audit_id"].as_str().unwrap();
    let theirs = app.audit(&other, &format!("?before={cursor}")).await;
    assert!(
        theirs["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["tenant_id"] == other.id.as_str())
    );
}

async fn audit_pages_walk_back_without_gaps(app: TestApp) {
    let t = app.create_tenant("USD").await;
    for i in 0..6 {
        app.put_item(&t, &format!("SKU-{i}"), "1.00").await;
    }
    let all = app.audit(&t, "?limit=200").await["entries"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(all.len(), 7);

    let mut walked = Vec::new();
    let mut query = "?limit=3".to_owned();
    loop {
        let page = app.audit(&t, &query).await;
        let entries = page["entries"].as_array().unwrap();
        assert!(entries.len() <= 3);
        walked.extend(entries.iter().cloned());
        match page["next_before"].as_str() {
            Some(cursor) => query = format!("?limit=3&before={cursor}"),
            None => break,
        }
    }
    assert_eq!(walked, all);
    let targets: Vec<&str> = all.iter().map(|e| e["target"].as_str().unwrap()).collect();
    assert_eq!(
        &targets[..6],
        ["SKU-5", "SKU-4", "SKU-3", "SKU-2", "SKU-1", "SKU-0"]
    );

    // The default page is 50; the limit is 1–200.
    for bad in ["?limit=0", "?limit=201"] {
        let res = app
            .admin(&t, Method::GET, &format!("/v1/admin/audit{bad}"))
            .send()
            .await
            .unwrap();
        assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    }
    let res = app
        .admin(&t, Method::GET, "/v1/admin/audit?before=yesterday")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_request").await;
    // Admins only.
    let res = app
        .request(Method::GET, "/v1/admin/audit")
        .header("X-Api-Key", &t.storefront_key)
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

on_both_backends!(
    patch_keeps_omitted_fields,
    stale_if_match_is_refused_and_changes_nothing,
    patch_without_if_match_is_428,
    invalid_patch_names_the_field_and_changes_nothing,
    concurrent_patches_with_one_etag_one_wins,
    admin_changes_are_audited_per_tenant,
    audit_pages_walk_back_without_gaps,
);
