//! The tenant admin's lists (SPEC §12): every row exactly once across pages, in a stable
//! order, filters, one cart as support sees it, a subject's events, and the 400s a bad
//! `limit` or `cursor` gets.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Tenant, TestApp, assert_problem, body};

impl TestApp {
    async fn admin_list(&self, tenant: &Tenant, path: &str) -> Value {
        let res = self.admin(tenant, Method::GET, path).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        body(res).await
    }

    /// Every item of a list, page by page with `limit`; asserts no page is over the limit
    /// and that only the last page has no cursor.
    async fn walk(&self, tenant: &Tenant, path: &str, limit: u32) -> Vec<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..100 {
            let url = match &cursor {
                None => format!("{path}{sep}limit={limit}"),
                Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            };
            let page = self.admin_list(tenant, &url).await;
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= limit as usize, "{url}");
            all.extend(items.iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => {
                    assert_eq!(items.len(), limit as usize, "a short page has no next page");
                    cursor = Some(next.to_owned());
                }
                None => {
                    assert!(page["next_cursor"].is_null());
                    return all;
                }
            }
        }
        panic!("{path} never ended");
    }
}

fn strings(items: &[Value], field: &str) -> Vec<String> {
    items
        .iter()
        .map(|i| i[field].as_str().unwrap().to_owned())
        .collect()
}

async fn catalog_and_stock_pages_walk_every_sku_once(app: TestApp) {
    let tenant = app.create_tenant("USD").await;
    for n in 0..7 {
        let category = if n % 2 == 0 { "fruit" } else { "general" };
        app.put_item_with(
            &tenant,
            &format!("SKU-{n:02}"),
            json!({"price": "1.00", "category": category, "title": format!("Thing {n}"), "seller": if n < 3 { "acme" } else { "other" }}),
        )
        .await;
    }
    app.put_item_with(
        &tenant,
        "apple-1",
        json!({"price": "2.00", "category": "fruit", "title": "Green APPLE"}),
    )
    .await;

    let items = app.walk(&tenant, "/v1/admin/catalog/items", 3).await;
    let mut skus = strings(&items, "sku");
    assert_eq!(skus.len(), 8);
    let sorted = {
        let mut s = skus.clone();
        s.sort();
        s
    };
    assert_eq!(skus, sorted, "by sku ascending");
    skus.dedup();
    assert_eq!(skus.len(), 8, "no sku twice");
    // Shaped like GET /v1/admin/catalog/items/{sku}.
    let one = app
        .admin_list(&tenant, "/v1/admin/catalog/items/SKU-01")
        .await;
    assert_eq!(items.iter().find(|i| i["sku"] == "SKU-01").unwrap(), &one);

    let by_prefix = app
        .walk(&tenant, "/v1/admin/catalog/items?q=sku-0", 2)
        .await;
    assert_eq!(by_prefix.len(), 7, "sku prefix ignores case");
    let by_title = app
        .admin_list(&tenant, "/v1/admin/catalog/items?q=apple")
        .await;
    assert_eq!(
        strings(by_title["items"].as_array().unwrap(), "sku"),
        ["apple-1"]
    );
    let none = app
        .admin_list(&tenant, "/v1/admin/catalog/items?q=KU-0")
        .await;
    assert_eq!(none["items"], json!([]), "a sku matches by prefix only");
    let fruit = app
        .walk(&tenant, "/v1/admin/catalog/items?category=fruit", 2)
        .await;
    assert_eq!(
        strings(&fruit, "sku"),
        ["SKU-00", "SKU-02", "SKU-04", "SKU-06", "apple-1"]
    );
    let acme = app
        .admin_list(
            &tenant,
            "/v1/admin/catalog/items?seller=acme&category=general",
        )
        .await;
    assert_eq!(
        strings(acme["items"].as_array().unwrap(), "sku"),
        ["SKU-01"]
    );

    for (n, on_hand) in [(0, 0), (1, 2), (2, 10), (3, 4), (4, 50)] {
        app.set_stock(&tenant, &format!("SKU-{n:02}"), on_hand)
            .await;
    }
    let stock = app.walk(&tenant, "/v1/admin/inventory", 2).await;
    assert_eq!(
        strings(&stock, "sku"),
        ["SKU-00", "SKU-01", "SKU-02", "SKU-03", "SKU-04"]
    );
    assert_eq!(
        stock[1],
        app.stock(&tenant, "SKU-01").await,
        "shaped like GET /v1/admin/inventory/{{sku}}"
    );
    let low = app
        .admin_list(&tenant, "/v1/admin/inventory?available_below=5")
        .await;
    assert_eq!(
        strings(low["items"].as_array().unwrap(), "sku"),
        ["SKU-00", "SKU-01", "SKU-03"]
    );
    let prefixed = app
        .admin_list(&tenant, "/v1/admin/inventory?q=sku-0&available_below=1")
        .await;
    assert_eq!(
        strings(prefixed["items"].as_array().unwrap(), "sku"),
        ["SKU-00"]
    );
}

async fn carts_checkouts_and_orders_list_newest_first(app: TestApp) {
    let tenant = app.create_tenant("USD").await;
    app.put_item(&tenant, "TEA", "3.50").await;
    let customer = app.create_cart(&app.customer(&tenant, "cust-1")).await;
    app.add_line(&customer, "TEA", 2).await;
    let paid = app.guest_cart(&tenant).await;
    app.add_line(&paid, "TEA", 1).await;
    let checkout = body(app.checkout(&paid).await).await;
    let paid_checkout = checkout["checkout_id"].as_str().unwrap().to_owned();
    let order = body(app.complete(&paid, paid_checkout.as_str(), "pay-1").await).await;
    let pending = app.guest_cart(&tenant).await;
    app.add_line(&pending, "TEA", 1).await;
    let pending_checkout = body(app.checkout(&pending).await).await["checkout_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let empty = app.guest_cart(&tenant).await;

    let carts = app.walk(&tenant, "/v1/admin/carts", 2).await;
    let ids = strings(&carts, "cart_id");
    assert_eq!(
        ids,
        [
            empty.id.as_str(),
            pending.id.as_str(),
            paid.id.as_str(),
            customer.id.as_str()
        ],
        "newest first"
    );
    let mine = &carts[3];
    assert_eq!(mine["customer_id"], "cust-1");
    assert_eq!(mine["line_count"], 1);
    assert_eq!(mine["status"], "active");
    assert!(
        carts[0]["customer_id"].is_null(),
        "a guest's cart has no customer"
    );
    let converted = app
        .admin_list(&tenant, "/v1/admin/carts?status=converted")
        .await;
    assert_eq!(
        strings(converted["items"].as_array().unwrap(), "cart_id"),
        [paid.id.as_str()]
    );
    let by_customer = app
        .admin_list(&tenant, "/v1/admin/carts?customer_id=cust-1")
        .await;
    assert_eq!(
        strings(by_customer["items"].as_array().unwrap(), "cart_id"),
        [customer.id.as_str()]
    );
    let no_type = app
        .admin_list(&tenant, "/v1/admin/carts?order_type=grocery")
        .await;
    assert_eq!(no_type["items"], json!([]));
    let res = app
        .admin(&tenant, Method::GET, "/v1/admin/carts?status=lost")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_request").await;

    let checkouts = app.walk(&tenant, "/v1/admin/checkouts", 1).await;
    assert_eq!(
        strings(&checkouts, "checkout_id"),
        [pending_checkout.as_str(), paid_checkout.as_str()]
    );
    assert_eq!(checkouts[1]["status"], "completed");
    assert_eq!(checkouts[1]["total"], "3.50");
    assert_eq!(checkouts[1]["order_id"], order["order_id"]);
    let open = app
        .admin_list(&tenant, "/v1/admin/checkouts?status=pending")
        .await;
    assert_eq!(
        strings(open["items"].as_array().unwrap(), "checkout_id"),
        [pending_checkout.as_str()]
    );
    let of_cart = app
        .admin_list(&tenant, &format!("/v1/admin/checkouts?cart_id={}", paid.id))
        .await;
    assert_eq!(
        strings(of_cart["items"].as_array().unwrap(), "checkout_id"),
        [paid_checkout.as_str()]
    );

    let orders = app.walk(&tenant, "/v1/admin/orders?status=placed", 1).await;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["order_id"], order["order_id"]);
    assert_eq!(orders[0]["checkout_id"], paid_checkout.as_str());
    assert_eq!(orders[0]["cart_id"], paid.id.as_str());
    assert_eq!(orders[0]["total"], "3.50");
    assert_eq!(orders[0]["currency"], "USD");
    let since = (app.clock_now() - chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let recent = app
        .admin_list(&tenant, &format!("/v1/admin/orders?placed_since={since}"))
        .await;
    assert_eq!(recent["items"].as_array().unwrap().len(), 1);
    let later = (app.clock_now() + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let future = app
        .admin_list(&tenant, &format!("/v1/admin/orders?placed_since={later}"))
        .await;
    assert_eq!(future["items"], json!([]));
    let theirs = app
        .admin_list(&tenant, "/v1/admin/orders?customer_id=cust-1")
        .await;
    assert_eq!(theirs["items"], json!([]), "the customer placed no order");
    let res = app
        .admin(&tenant, Method::GET, "/v1/admin/orders?status=shipped")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_request").await;

    // The console's overview: one COUNT each.
    let db = trolley_store::Database::connect(&app.database_url)
        .await
        .unwrap();
    let lists = trolley_store::SqlAdminListRepository::new(db.connection().clone());
    let tenant_id = trolley_core::domain::TenantId(tenant.id.parse().unwrap());
    use trolley_core::ports::AdminListRepository as _;
    let counts = lists
        .overview_counts(tenant_id, app.clock_now() - chrono::Duration::hours(1))
        .await
        .unwrap();
    // Live carts: the customer's, the empty one, and the one checking out.
    assert_eq!(
        (
            counts.active_carts,
            counts.open_checkouts,
            counts.orders_since
        ),
        (3, 1, 1)
    );
    let later = lists
        .overview_counts(tenant_id, app.clock_now() + chrono::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(later.orders_since, 0);
}

async fn support_sees_a_cart_and_its_events_without_its_token(app: TestApp) {
    let tenant = app.create_tenant("USD").await;
    app.put_item(&tenant, "TEA", "3.50").await;
    let cart = app.guest_cart(&tenant).await;
    app.add_line(&cart, "TEA", 2).await;
    app.add_line(&cart, "TEA", 1).await;
    let shopper_view = app.get_cart(&cart).await;

    let detail = app
        .admin_list(&tenant, &format!("/v1/admin/carts/{}", cart.id))
        .await;
    assert_eq!(
        detail["cart"], shopper_view,
        "exactly what the storefront shows"
    );
    assert!(detail["created_at"].is_string() && detail["updated_at"].is_string());
    assert!(detail["merged_into"].is_null());
    assert_eq!(detail["holds"], json!([]));
    let unknown = app
        .admin(
            &tenant,
            Method::GET,
            &format!("/v1/admin/carts/{}", uuid::Uuid::now_v7()),
        )
        .send()
        .await
        .unwrap();
    assert_problem(unknown, StatusCode::NOT_FOUND, "cart_not_found").await;

    let timeline = app
        .walk(
            &tenant,
            &format!("/v1/admin/events?subject_kind=cart&subject_id={}", cart.id),
            1,
        )
        .await;
    let types = strings(&timeline, "type");
    assert_eq!(
        types,
        ["cart.created", "cart.line_added", "cart.line_changed"]
    );
    let sequences: Vec<i64> = timeline
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(sequences, [1, 2, 3]);
    assert_eq!(timeline[0]["tenant_id"], tenant.id.as_str());
    assert_eq!(
        timeline[0]["subject"],
        json!({"kind": "cart", "id": cart.id})
    );
    let res = app
        .admin(
            &tenant,
            Method::GET,
            "/v1/admin/events?subject_kind=basket&subject_id=x",
        )
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_request").await;
}

async fn bad_limits_and_cursors_are_400s(app: TestApp) {
    let tenant = app.create_tenant("USD").await;
    for n in 0..3 {
        app.put_item(&tenant, &format!("S-{n}"), "1.00").await;
        app.guest_cart(&tenant).await;
    }
    let carts = app.admin_list(&tenant, "/v1/admin/carts?limit=1").await;
    let carts_cursor = carts["next_cursor"].as_str().unwrap().to_owned();
    let items = app
        .admin_list(&tenant, "/v1/admin/catalog/items?limit=1")
        .await;
    let items_cursor = items["next_cursor"].as_str().unwrap().to_owned();
    let lists = [
        "/v1/admin/catalog/items",
        "/v1/admin/inventory",
        "/v1/admin/carts",
        "/v1/admin/checkouts",
        "/v1/admin/orders",
        "/v1/admin/events?subject_kind=cart&subject_id=x",
    ];
    for list in lists {
        let sep = if list.contains('?') { '&' } else { '?' };
        for query in [
            "limit=0".to_owned(),
            "limit=201".to_owned(),
            "limit=abc".to_owned(),
            "limit=-1".to_owned(),
            "cursor=not-a-cursor!".to_owned(),
            // Well-formed base64 of something no list gave ("carts:zzz").
            "cursor=Y2FydHM6enp6".to_owned(),
        ] {
            let res = app
                .admin(&tenant, Method::GET, &format!("{list}{sep}{query}"))
                .send()
                .await
                .unwrap();
            let problem = assert_problem(res, StatusCode::BAD_REQUEST, "invalid_request").await;
            assert!(
                !problem["detail"].as_str().unwrap().is_empty(),
                "{list} {query}"
            );
        }
        let res = app.request(Method::GET, list).send().await.unwrap();
        assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
        let res = app
            .admin(&tenant, Method::GET, &format!("{list}{sep}limit=200"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{list} limit=200");
    }
    // One list's cursor is no good in another.
    let res = app
        .admin(
            &tenant,
            Method::GET,
            &format!("/v1/admin/orders?cursor={carts_cursor}"),
        )
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert!(problem["detail"].as_str().unwrap().contains("cursor"));
    let res = app
        .admin(
            &tenant,
            Method::GET,
            &format!("/v1/admin/inventory?cursor={items_cursor}"),
        )
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_request").await;
    let res = app
        .admin(&tenant, Method::GET, "/v1/admin/carts?limit=0")
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("between 1 and 200")
    );
}

on_both_backends!(
    catalog_and_stock_pages_walk_every_sku_once,
    carts_checkouts_and_orders_list_newest_first,
    support_sees_a_cart_and_its_events_without_its_token,
    bad_limits_and_cursors_are_400s,
);
