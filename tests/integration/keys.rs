//! Several named API keys per tenant, revocation, and customer-token secret rotation with
//! an overlap (SPEC §14, issue 13), through HTTP.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Caller, Tenant, TestApp, assert_problem, body, customer_token};

impl TestApp {
    async fn api_keys(&self, admin_key: &str) -> Vec<Value> {
        let res = self
            .request(Method::GET, "/v1/admin/api-keys")
            .bearer_auth(admin_key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        body(res).await.as_array().unwrap().clone()
    }

    async fn create_key(&self, admin_key: &str, kind: &str, name: &str) -> Response {
        self.request(Method::POST, "/v1/admin/api-keys")
            .bearer_auth(admin_key)
            .json(&json!({"kind": kind, "name": name}))
            .send()
            .await
            .unwrap()
    }

    /// Creates a key and answers its 201 body.
    async fn new_key(&self, t: &Tenant, kind: &str, name: &str) -> Value {
        let res = self.create_key(&t.admin_key, kind, name).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        body(res).await
    }

    async fn revoke_key(&self, admin_key: &str, key_id: &str) -> Response {
        self.request(Method::DELETE, &format!("/v1/admin/api-keys/{key_id}"))
            .bearer_auth(admin_key)
            .send()
            .await
            .unwrap()
    }

    async fn secrets(&self, t: &Tenant) -> Vec<Value> {
        let res = self
            .admin(t, Method::GET, "/v1/admin/customer-token-secrets")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        body(res).await.as_array().unwrap().clone()
    }

    async fn delete_secret(&self, t: &Tenant, secret_id: &str) -> Response {
        self.admin(
            t,
            Method::DELETE,
            &format!("/v1/admin/customer-token-secrets/{secret_id}"),
        )
        .send()
        .await
        .unwrap()
    }

    async fn create_cart_as(&self, caller: &Caller) -> Response {
        self.as_caller(caller, Method::POST, "/v1/carts")
            .send()
            .await
            .unwrap()
    }
}

fn storefront(key: &str) -> Caller {
    Caller {
        api_key: key.to_owned(),
        bearer: None,
        cart_token: None,
    }
}

fn customer(t: &Tenant, secret: &str, who: &str) -> Caller {
    Caller {
        api_key: t.storefront_key.clone(),
        bearer: Some(customer_token(secret, who, 3600)),
        cart_token: None,
    }
}

async fn a_second_storefront_key_works_until_revoked(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let created = app.new_key(&t, "storefront", "  mobile app ").await;
    assert_eq!(created["kind"], "storefront");
    assert_eq!(created["name"], "mobile app");
    assert!(created["created_at"].is_string());
    let key = created["key"].as_str().unwrap().to_owned();
    let key_id = created["key_id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("tsk_") && key != t.storefront_key);

    // Both storefront keys work, side by side.
    let cart = app.create_cart(&storefront(&key)).await;
    assert_eq!(app.get_cart(&cart).await["cart_id"], cart.id.as_str());
    app.create_cart(&storefront(&t.storefront_key)).await;

    let res = app.revoke_key(&t.admin_key, &key_id).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // Refused at once on this node (its key cache forgot the tenant).
    let res = app.create_cart_as(&storefront(&key)).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let res = app.cart_req(&cart, Method::GET, "").send().await.unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // The other key is untouched; revoking again changes nothing.
    app.create_cart(&storefront(&t.storefront_key)).await;
    let res = app.revoke_key(&t.admin_key, &key_id).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // An admin key is not a storefront key, nor the other way round.
    let admin = app.new_key(&t, "admin", "ci").await;
    let admin_key = admin["key"].as_str().unwrap();
    assert!(admin_key.starts_with("tak_"));
    let res = app.create_cart_as(&storefront(admin_key)).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(app.api_keys(admin_key).await.len(), 4);
}

async fn keys_list_names_and_last_use_without_secrets(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let extra = app.new_key(&t, "storefront", "kiosk").await;
    app.create_cart(&storefront(&t.storefront_key)).await;

    let res = app
        .admin(&t, Method::GET, "/v1/admin/api-keys")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    for secret in [
        t.storefront_key.as_str(),
        t.admin_key.as_str(),
        extra["key"].as_str().unwrap(),
    ] {
        assert!(!text.contains(secret), "a secret is listed: {text}");
    }
    let keys: Vec<Value> = serde_json::from_str(&text).unwrap();
    let names: Vec<_> = keys.iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["initial storefront key", "initial admin key", "kiosk"]
    );
    for k in &keys {
        let mut fields: Vec<_> = k.as_object().unwrap().keys().cloned().collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "created_at",
                "key_id",
                "kind",
                "last_used_at",
                "name",
                "revoked_at"
            ]
        );
        assert!(k["revoked_at"].is_null());
    }
    // Used keys show when; the unused one shows null.
    assert!(keys[0]["last_used_at"].is_string(), "{keys:?}");
    assert!(keys[1]["last_used_at"].is_string(), "{keys:?}");
    assert!(keys[2]["last_used_at"].is_null(), "{keys:?}");
    assert_eq!(keys[1]["key_id"], t.admin_key_id.as_str());
    assert_eq!(keys[1]["kind"], "admin");

    // Names are 1–100 characters; kinds are the two there are.
    for name in ["", "   ", &"n".repeat(101)] {
        let res = app.create_key(&t.admin_key, "storefront", name).await;
        assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    }
    assert_eq!(
        app.create_key(&t.admin_key, "storefront", &"n".repeat(100))
            .await
            .status(),
        StatusCode::CREATED
    );
    let res = app.create_key(&t.admin_key, "root", "x").await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_request").await;
    // Storefront keys cannot manage keys.
    let res = app
        .request(Method::GET, "/v1/admin/api-keys")
        .header("X-Api-Key", &t.storefront_key)
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

async fn admins_cannot_lock_themselves_out(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let res = app.revoke_key(&t.admin_key, &t.admin_key_id).await;
    assert_problem(res, StatusCode::CONFLICT, "cannot_revoke_own_key").await;

    // With a second admin key the first can go, and is refused afterwards.
    let second = app.new_key(&t, "admin", "second").await;
    let second_key = second["key"].as_str().unwrap();
    let second_id = second["key_id"].as_str().unwrap();
    let res = app.revoke_key(second_key, &t.admin_key_id).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .request(Method::GET, "/v1/admin/api-keys")
        .bearer_auth(&t.admin_key)
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let res = app.revoke_key(second_key, second_id).await;
    assert_problem(res, StatusCode::CONFLICT, "cannot_revoke_own_key").await;

    // Two admin keys revoking each other at once: one wins, the other is refused (its key
    // is gone, or it would be the last), and one admin key is left.
    let third = app.new_key_with(second_key, "admin", "third").await;
    let third_key = third["key"].as_str().unwrap();
    let third_id = third["key_id"].as_str().unwrap();
    let (a, b) = tokio::join!(
        app.revoke_key(second_key, third_id),
        app.revoke_key(third_key, second_id)
    );
    let mut statuses = Vec::new();
    for res in [a, b] {
        let status = res.status();
        let code = body(res).await["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        statuses.push((status, code));
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|(s, _)| *s == StatusCode::NO_CONTENT)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|(s, code)| *s == StatusCode::NO_CONTENT
            || (*s == StatusCode::CONFLICT && code == "last_admin_key")
            || (*s == StatusCode::UNAUTHORIZED && code == "unauthorized")),
        "{statuses:?}"
    );
    let survivor = if statuses[0].0 == StatusCode::NO_CONTENT {
        second_key
    } else {
        third_key
    };
    let active_admins = app
        .api_keys(survivor)
        .await
        .into_iter()
        .filter(|k| k["kind"] == "admin" && k["revoked_at"].is_null())
        .count();
    assert_eq!(active_admins, 1);
}

async fn another_tenants_key_and_secret_are_not_found(app: TestApp) {
    let a = app.create_tenant("USD").await;
    let b = app.create_tenant("USD").await;
    let b_key = app.new_key(&b, "storefront", "b's").await;
    let b_key_id = b_key["key_id"].as_str().unwrap();
    for id in [
        b_key_id,
        b.admin_key_id.as_str(),
        "0193c0de-5f1e-7c2a-9d1b-3f6a2b8c4e10",
    ] {
        let res = app.revoke_key(&a.admin_key, id).await;
        assert_problem(res, StatusCode::NOT_FOUND, "api_key_not_found").await;
    }
    // Untouched: B's key still works.
    app.create_cart(&storefront(b_key["key"].as_str().unwrap()))
        .await;
    let res = app.revoke_key(&a.admin_key, "not-a-uuid").await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_request").await;

    let b_secret = app.secrets(&b).await[0]["secret_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app.delete_secret(&a, &b_secret).await;
    assert_problem(
        res,
        StatusCode::NOT_FOUND,
        "customer_token_secret_not_found",
    )
    .await;
    assert!(
        !app.api_keys(&a.admin_key)
            .await
            .iter()
            .any(|k| k["key_id"] == b_key_id)
    );
}

async fn customer_token_secrets_rotate_with_an_overlap(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let listed = app.secrets(&t).await;
    assert_eq!(listed.len(), 1);
    let old_id = listed[0]["secret_id"].as_str().unwrap().to_owned();
    let mut fields: Vec<_> = listed[0].as_object().unwrap().keys().cloned().collect();
    fields.sort();
    assert_eq!(fields, ["created_at", "secret_id"]);

    let res = app
        .admin(&t, Method::POST, "/v1/admin/customer-token-secrets")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let created = body(res).await;
    let new_secret = created["secret"].as_str().unwrap().to_owned();
    let new_id = created["secret_id"].as_str().unwrap().to_owned();
    assert!(new_secret.starts_with("tcs_") && new_secret != t.customer_token_secret);
    let listed = app.secrets(&t).await;
    assert_eq!(
        listed
            .iter()
            .map(|s| s["secret_id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        [new_id.as_str(), old_id.as_str()],
        "newest first"
    );
    assert!(
        !serde_json::to_string(&listed)
            .unwrap()
            .contains(&new_secret)
    );

    // Tokens signed with either secret verify.
    let old_signed = customer(&t, &t.customer_token_secret, "ann");
    let new_signed = customer(&t, &new_secret, "bob");
    app.create_cart(&old_signed).await;
    app.create_cart(&new_signed).await;
    // An expired token signed with a current secret says so.
    let mut expired = new_signed.clone();
    expired.bearer = Some(customer_token(&new_secret, "bob", -3600));
    let res = app.create_cart_as(&expired).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "token_expired").await;

    let res = app.delete_secret(&t, &old_id).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.create_cart_as(&old_signed).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_token").await;
    let res = app
        .request(Method::GET, "/v1/customers/me/cart")
        .header("X-Api-Key", &t.storefront_key)
        .bearer_auth(customer_token(&t.customer_token_secret, "ann", 3600))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_token").await;
    app.create_cart(&new_signed).await;

    // The last secret stays; a deleted one is gone.
    let res = app.delete_secret(&t, &new_id).await;
    assert_problem(res, StatusCode::CONFLICT, "last_customer_token_secret").await;
    let res = app.delete_secret(&t, &old_id).await;
    assert_problem(
        res,
        StatusCode::NOT_FOUND,
        "customer_token_secret_not_found",
    )
    .await;
    app.create_cart(&new_signed).await;
}

async fn key_and_secret_changes_are_audited_without_secrets(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let key = app.new_key(&t, "storefront", "pos").await;
    let key_id = key["key_id"].as_str().unwrap();
    assert_eq!(
        app.revoke_key(&t.admin_key, key_id).await.status(),
        StatusCode::NO_CONTENT
    );
    let res = app
        .admin(&t, Method::POST, "/v1/admin/customer-token-secrets")
        .send()
        .await
        .unwrap();
    let secret = body(res).await;
    let old_id = app.secrets(&t).await[1]["secret_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.delete_secret(&t, &old_id).await.status(),
        StatusCode::NO_CONTENT
    );

    let res = app
        .admin(&t, Method::GET, "/v1/admin/audit?limit=10")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    for s in [
        key["key"].as_str().unwrap(),
        secret["secret"].as_str().unwrap(),
        t.customer_token_secret.as_str(),
        t.admin_key.as_str(),
    ] {
        assert!(!text.contains(s), "a secret is in the audit log: {text}");
    }
    let log: Value = serde_json::from_str(&text).unwrap();
    let entries = log["entries"].as_array().unwrap();
    let find = |action: &str| {
        entries
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} in {entries:?}"))
            .clone()
    };
    let created = find("api_key.create");
    assert_eq!(created["actor"], t.admin_key_id.as_str());
    assert_eq!(created["target"], key_id);
    assert!(created["before"].is_null());
    assert_eq!(created["after"]["name"], "pos");
    assert_eq!(created["after"]["kind"], "storefront");
    let revoked = find("api_key.revoke");
    assert!(revoked["before"]["revoked_at"].is_null());
    assert!(revoked["after"]["revoked_at"].is_string());
    let added = find("customer_token_secret.create");
    assert_eq!(added["target"], secret["secret_id"]);
    assert_eq!(added["actor"], t.admin_key_id.as_str());
    let deleted = find("customer_token_secret.delete");
    assert_eq!(deleted["target"], old_id.as_str());
    assert!(deleted["after"].is_null());
}

impl TestApp {
    async fn new_key_with(&self, admin_key: &str, kind: &str, name: &str) -> Value {
        let res = self.create_key(admin_key, kind, name).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        body(res).await
    }
}

on_both_backends!(
    a_second_storefront_key_works_until_revoked,
    keys_list_names_and_last_use_without_secrets,
    admins_cannot_lock_themselves_out,
    another_tenants_key_and_secret_are_not_found,
    customer_token_secrets_rotate_with_an_overlap,
    key_and_secret_changes_are_audited_without_secrets,
);
