//! The storefront kit through HTTP (SPEC §13): conditional reads, CORS per tenant, the
//! read-only catalog, live cart streams, and errors that say which credential is wrong.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

use crate::on_both_backends;
use crate::support::{CartHandle, TestApp, assert_problem, body};

const SHOP: &str = "https://shop.example";
const OTHER: &str = "https://evil.example";

fn etag_of(res: &Response) -> String {
    res.headers()["etag"].to_str().unwrap().to_owned()
}

fn header<'a>(res: &'a Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn get_with(app: &TestApp, cart: &CartHandle, if_none_match: &str) -> Response {
    app.cart_req(cart, Method::GET, "")
        .header("If-None-Match", if_none_match)
        .send()
        .await
        .unwrap()
}

async fn a_cart_read_is_conditional(app: TestApp) {
    let t = app.create_tenant("EUR").await;
    app.put_item(&t, "MILK", "1.99").await;
    let cart = app.guest_cart(&t).await;
    let res = app.add_line(&cart, "MILK", 1).await;
    let tag = etag_of(&res);
    assert!(tag.starts_with("\"2-"), "{tag}");

    // Unchanged: 304, no body, the same tag.
    let res = get_with(&app, &cart, &tag).await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(etag_of(&res), tag);
    assert!(res.bytes().await.unwrap().is_empty());
    // The weak form and a list naming it match too; another tag does not.
    let res = get_with(&app, &cart, &format!("\"1-00000000\", W/{tag}")).await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        get_with(&app, &cart, "\"2\"").await.status(),
        StatusCode::OK
    );

    // A catalog price change shows on the cart at the same version: not a 304.
    app.put_item(&t, "MILK", "2.49").await;
    let res = get_with(&app, &cart, &tag).await;
    assert_eq!(res.status(), StatusCode::OK);
    let repriced = etag_of(&res);
    assert_ne!(repriced, tag);
    assert!(repriced.starts_with("\"2-"), "{repriced}");
    assert_eq!(body(res).await["lines"][0]["price_changed"], true);

    // The full ETag works as If-Match; a change makes the old tag stale.
    let res = app
        .cart_req(&cart, Method::POST, "/lines")
        .header("If-Match", &repriced)
        .json(&json!({"sku": "MILK", "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let changed = etag_of(&res);
    assert!(changed.starts_with("\"3-"));
    assert_eq!(
        get_with(&app, &cart, &repriced).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        get_with(&app, &cart, &changed).await.status(),
        StatusCode::NOT_MODIFIED
    );
    // A GET answers the tag the mutation answered.
    let res = app.cart_req(&cart, Method::GET, "").send().await.unwrap();
    assert_eq!(etag_of(&res), changed);
}

async fn cors_opens_the_storefront_api_to_the_tenants_origins_only(app: TestApp) {
    let t = app.create_tenant("EUR").await;
    app.put_item(&t, "MILK", "1.99").await;

    // Origins are exact: a wildcard, a path or a default port is refused by name.
    for bad in [
        "*",
        "https://shop.example/",
        "https://shop.example:443",
        "shop.example",
    ] {
        let res = app
            .admin(&t, Method::PATCH, "/v1/admin/config")
            .header("If-Match", "*")
            .json(&json!({"cors_allowed_origins": [bad]}))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
        assert!(
            problem["detail"].as_str().unwrap().contains(bad),
            "{problem}"
        );
    }
    let res = app
        .admin(&t, Method::PATCH, "/v1/admin/config")
        .header("If-Match", "*")
        .json(&json!({"cors_allowed_origins": [SHOP]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await["cors_allowed_origins"], json!([SHOP]));

    // A preflight for a mutation with the headers a storefront sends.
    let preflight = |origin: &'static str| {
        app.request(
            Method::OPTIONS,
            "/v1/carts/0190b6f0-0000-7000-8000-000000000000/lines",
        )
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "content-type, x-api-key, x-cart-token, idempotency-key, if-match",
        )
        .send()
    };
    let res = preflight(SHOP).await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(SHOP));
    let allowed = header(&res, "access-control-allow-headers")
        .unwrap()
        .to_owned();
    for h in [
        "x-api-key",
        "x-cart-token",
        "idempotency-key",
        "if-match",
        "content-type",
    ] {
        assert!(allowed.contains(h), "{h} not allowed: {allowed}");
    }
    assert!(
        header(&res, "access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    assert!(header(&res, "access-control-allow-credentials").is_none());
    let res = preflight(OTHER).await.unwrap();
    assert!(header(&res, "access-control-allow-origin").is_none());
    assert_problem(res, StatusCode::FORBIDDEN, "origin_not_allowed").await;

    // The actual request: readable by the tenant's origin, with the headers it needs.
    let cart = app.guest_cart(&t).await;
    let read = |origin: &'static str| {
        app.cart_req(&cart, Method::GET, "")
            .header("Origin", origin)
            .send()
    };
    let res = read(SHOP).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(SHOP));
    let exposed = header(&res, "access-control-expose-headers")
        .unwrap()
        .to_owned();
    for h in [
        "ETag",
        "Idempotent-Replayed",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
        "Retry-After",
        "X-Request-Id",
    ] {
        assert!(exposed.contains(h), "{h} not exposed: {exposed}");
    }
    assert!(header(&res, "vary").unwrap_or_default().contains("Origin"));
    let res = read(OTHER).await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "CORS never changes what is done"
    );
    assert!(header(&res, "access-control-allow-origin").is_none());

    // Another tenant's origin cannot read this tenant's answers.
    let other = app.create_tenant("EUR").await;
    app.put_config(&other, json!({"cors_allowed_origins": [OTHER]}))
        .await;
    let res = read(OTHER).await.unwrap();
    assert!(header(&res, "access-control-allow-origin").is_none());

    // A refused key still lets a known origin read why.
    let res = app
        .request(Method::GET, "/v1/catalog/items")
        .header("Origin", SHOP)
        .header("X-Api-Key", "tsk_nonsense")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&res, "access-control-allow-origin"), Some(SHOP));
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;

    // The admin API is not for browsers on other origins.
    let res = app
        .admin(&t, Method::GET, "/v1/admin/config")
        .header("Origin", SHOP)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(header(&res, "access-control-allow-origin").is_none());
}

async fn a_storefront_browses_the_catalog_with_its_key_alone(app: TestApp) {
    let t = app.create_tenant("EUR").await;
    app.put_config(
        &t,
        json!({"category_order_types": {"grocery": "grocery"}, "low_stock_threshold": 5}),
    )
    .await;
    for (sku, price, category, title) in [
        ("APPLE-1KG", "3.49", "grocery", "Apples 1 kg"),
        ("BREAD", "2.25", "grocery", "White bread"),
        ("MILK-1L", "1.99", "grocery", "Fresh Milk 1 l"),
        ("PIZZA", "11.90", "food", "Margherita"),
        ("SOAP", "0.99", "household", "Olive soap"),
    ] {
        app.put_item_with(
            &t,
            sku,
            json!({"price": price, "category": category, "title": title,
                   "attributes": {"origin": "ES", "_supplier_code": "X-17"}}),
        )
        .await;
    }
    app.set_stock(&t, "APPLE-1KG", 100).await;
    app.set_stock(&t, "BREAD", 3).await;
    app.set_stock(&t, "MILK-1L", 0).await;
    let shopper = app.guest(&t);
    let list = |query: &str| {
        app.as_caller(&shopper, Method::GET, &format!("/v1/catalog/items{query}"))
            .send()
    };

    // Pages in sku order, with a cursor, until `next_cursor` is null.
    let mut skus = Vec::new();
    let mut cursor = String::new();
    loop {
        let res = list(&format!("?limit=2&cursor={cursor}")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let page = body(res).await;
        assert!(page["items"].as_array().unwrap().len() <= 2);
        for item in page["items"].as_array().unwrap() {
            skus.push(item["sku"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(skus, ["APPLE-1KG", "BREAD", "MILK-1L", "PIZZA", "SOAP"]);

    // What a shopper sees of an item: no claim policy, no private attributes, a stock class.
    let page = body(list("?category=grocery").await.unwrap()).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(page["next_cursor"], Value::Null);
    let apple = &items[0];
    assert_eq!(apple["price"], "3.49");
    assert_eq!(apple["currency"], "EUR");
    assert_eq!(apple["order_type"], "grocery");
    assert_eq!(apple["attributes"], json!({"origin": "ES"}));
    assert!(apple.get("claim_policy").is_none());
    let classes: Vec<&str> = items
        .iter()
        .map(|i| i["availability"].as_str().unwrap())
        .collect();
    assert_eq!(classes, ["in_stock", "low_stock", "out_of_stock"]);

    // Search is case-insensitive over sku and title; LIKE wildcards are literal.
    let found = body(list("?q=milk").await.unwrap()).await;
    assert_eq!(found["items"][0]["sku"], "MILK-1L");
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let found = body(list("?q=OLIVE").await.unwrap()).await;
    assert_eq!(found["items"][0]["sku"], "SOAP");
    assert_eq!(found["items"][0]["availability"], "not_tracked");
    assert_eq!(found["items"][0]["order_type"], Value::Null);
    let found = body(list("?q=%25").await.unwrap()).await;
    assert_eq!(found["items"], json!([]));

    // One item; bad input is refused.
    let res = app
        .as_caller(&shopper, Method::GET, "/v1/catalog/items/PIZZA")
        .send()
        .await
        .unwrap();
    let pizza = body(res).await;
    assert_eq!(pizza["title"], "Margherita");
    assert_eq!(pizza["availability"], "not_tracked");
    let res = app
        .as_caller(&shopper, Method::GET, "/v1/catalog/items/NOPE")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "item_not_found").await;
    assert_problem(
        list("?cursor=zz").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    for limit in ["0", "101"] {
        assert_problem(
            list(&format!("?limit={limit}")).await.unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        )
        .await;
    }
    // Another tenant's storefront key sees its own (empty) catalog.
    let other = app.create_tenant("EUR").await;
    let res = app
        .as_caller(&app.guest(&other), Method::GET, "/v1/catalog/items")
        .send()
        .await
        .unwrap();
    assert_eq!(body(res).await["items"], json!([]));
}

/// Reads a live stream's events as they come.
struct Events {
    res: Response,
    buffer: String,
}

impl Events {
    async fn open(app: &TestApp, cart: &CartHandle, last_event_id: Option<i64>) -> Response {
        let mut req = app.cart_req(cart, Method::GET, "/stream");
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id.to_string());
        }
        req.send().await.unwrap()
    }

    fn new(res: Response) -> Self {
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(header(&res, "content-type"), Some("text/event-stream"));
        Self {
            res,
            buffer: String::new(),
        }
    }

    /// The next block (event or comment), or `None` when the stream ended or `within`
    /// passed.
    async fn next(&mut self, within: Duration) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block = self.buffer[..end].to_owned();
                self.buffer.drain(..end + 2);
                return Some(block);
            }
            match tokio::time::timeout(within, self.res.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buffer.push_str(std::str::from_utf8(&chunk).unwrap()),
                _ => return None,
            }
        }
    }

    /// The next `cart` event's (id, cart), skipping comments and `retry`.
    async fn next_cart(&mut self, within: Duration) -> Option<(i64, Value)> {
        while let Some(block) = self.next(within).await {
            if let Some(event) = parse_cart_event(&block) {
                return Some(event);
            }
        }
        None
    }
}

fn parse_cart_event(block: &str) -> Option<(i64, Value)> {
    let mut id = None;
    let mut data = None;
    let mut is_cart = false;
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("event: ") {
            is_cart = v == "cart";
        } else if let Some(v) = line.strip_prefix("id: ") {
            id = v.parse().ok();
        } else if let Some(v) = line.strip_prefix("data: ") {
            data = serde_json::from_str(v).ok();
        }
    }
    if is_cart { Some((id?, data?)) } else { None }
}

const WAIT: Duration = Duration::from_secs(5);

async fn a_stream_follows_the_cart_across_devices(app: TestApp) {
    let t = app.create_tenant("EUR").await;
    app.put_item(&t, "MILK", "1.99").await;
    let cart = app.guest_cart(&t).await;

    // First the cart as it is now; `id` is its version, `data` what GET shows.
    let mut stream = Events::new(Events::open(&app, &cart, None).await);
    let (id, first) = stream.next_cart(WAIT).await.expect("the cart now");
    assert_eq!(id, 1);
    assert_eq!(first, app.get_cart(&cart).await);

    // Every change from another "device" arrives, in order.
    app.add_line(&cart, "MILK", 1).await;
    let (id, seen) = stream.next_cart(WAIT).await.expect("the add");
    assert_eq!(id, 2);
    assert_eq!(seen["lines"][0]["quantity"], 1);
    let line = seen["lines"][0]["line_id"].as_str().unwrap().to_owned();
    app.cart_req(&cart, Method::PATCH, &format!("/lines/{line}"))
        .json(&json!({"quantity": 4}))
        .send()
        .await
        .unwrap();
    let (id, seen) = stream.next_cart(WAIT).await.expect("the patch");
    assert_eq!(id, 3);
    assert_eq!(seen["lines"][0]["quantity"], 4);
    assert_eq!(seen, app.get_cart(&cart).await);

    // Idle, it sends heartbeats (every second in tests).
    let beat = stream.next(WAIT).await.expect("a heartbeat");
    assert!(beat.starts_with(':'), "{beat}");

    // Resuming with the version the client has sends nothing until the next change;
    // resuming from an older one sends the cart now.
    let mut resumed = Events::new(Events::open(&app, &cart, Some(3)).await);
    let mut behind = Events::new(Events::open(&app, &cart, Some(1)).await);
    assert_eq!(behind.next_cart(WAIT).await.map(|(id, _)| id), Some(3));
    assert_eq!(app.metric("trolley_open_streams").await, 3.0);
    app.add_line(&cart, "MILK", 1).await;
    assert_eq!(resumed.next_cart(WAIT).await.map(|(id, _)| id), Some(4));
    assert_eq!(behind.next_cart(WAIT).await.map(|(id, _)| id), Some(4));
    assert_eq!(stream.next_cart(WAIT).await.map(|(id, _)| id), Some(4));

    // A tenant's open streams are bounded (4 per node in tests): three open, a fourth
    // fits, a fifth is refused; closing one frees its slot.
    let fourth = Events::open(&app, &cart, None).await;
    assert_eq!(fourth.status(), StatusCode::OK);
    let res = Events::open(&app, &cart, None).await;
    assert!(header(&res, "retry-after").is_some());
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "too_many_streams").await;
    drop(fourth);
    drop(resumed);
    drop(behind);
    // The server notices a closed stream when it next writes to it (a heartbeat).
    let mut reopened = None;
    for _ in 0..50 {
        let res = Events::open(&app, &cart, None).await;
        if res.status() == StatusCode::OK {
            reopened = Some(res);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reopened.is_some(), "a closed stream's slot was never freed");
    // Another tenant is not held back by this one's streams.
    let other = app.create_tenant("EUR").await;
    let other_cart = app.guest_cart(&other).await;
    assert_eq!(
        Events::open(&app, &other_cart, None).await.status(),
        StatusCode::OK
    );

    // Checkout: the frozen cart, then the converted one, and the stream ends.
    let res = app.checkout(&cart).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let checkout_id = body(res).await["checkout_id"].as_str().unwrap().to_owned();
    let (_, frozen) = stream.next_cart(WAIT).await.expect("the frozen cart");
    assert_eq!(frozen["status"], "checking_out");
    let res = app.complete(&cart, &checkout_id, "complete-1").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let (_, converted) = stream.next_cart(WAIT).await.expect("the converted cart");
    assert_eq!(converted["status"], "converted");
    assert_eq!(
        stream.next(WAIT).await,
        None,
        "the stream ends with the cart"
    );
}

async fn a_stream_needs_the_credentials_of_a_read(app: TestApp) {
    let t = app.create_tenant("EUR").await;
    let cart = app.guest_cart(&t).await;
    let path = format!("/v1/carts/{}/stream", cart.id);
    let res = app
        .request(Method::GET, &path)
        .header("X-Api-Key", &t.storefront_key)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert!(problem["detail"].as_str().unwrap().contains("X-Cart-Token"));
    let res = app
        .request(Method::GET, &path)
        .header("X-Api-Key", &t.storefront_key)
        .header("X-Cart-Token", "tct_not-this-one")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app
        .cart_req(&cart, Method::GET, "/stream")
        .header("Last-Event-ID", "seven")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_request").await;
    let res = app
        .as_caller(
            &cart.caller,
            Method::GET,
            "/v1/carts/0190b6f0-0000-7000-8000-000000000000/stream",
        )
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "cart_not_found").await;
}

async fn errors_say_which_credential_is_wrong(app: TestApp) {
    let t = app.create_tenant("EUR").await;
    app.put_item(&t, "MILK", "1.99").await;
    let detail = |v: Value| v["detail"].as_str().unwrap().to_owned();

    // The docs are where the README says, with or without the slash.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/docs"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header(&res, "location"), Some("/docs/"));
    assert_eq!(
        app.request(Method::GET, "/docs")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    // A known path with another method: 405 and what it takes.
    let res = app
        .request(
            Method::PUT,
            "/v1/carts/0190b6f0-0000-7000-8000-000000000000",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(header(&res, "allow"), Some("GET"));
    assert_problem(res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    let res = app
        .request(Method::PATCH, "/v1/carts")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&res, "allow"), Some("POST"));
    let res = app
        .request(Method::GET, "/v1/no-such-thing")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;

    // Keys: missing, unknown, and the admin key where the storefront key goes.
    let create = |key: Option<&str>| {
        let mut req = app.request(Method::POST, "/v1/carts");
        if let Some(key) = key {
            req = req.header("X-Api-Key", key);
        }
        req.send()
    };
    let missing = assert_problem(
        create(None).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert!(detail(missing).contains("X-Api-Key"));
    let bogus = assert_problem(
        create(Some("tsk_bogus")).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert!(detail(bogus).contains("not a live storefront key"));
    let admin = assert_problem(
        create(Some(&t.admin_key)).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert!(detail(admin).contains("admin key"), "names the mix-up");
    let res = app
        .request(Method::GET, "/v1/admin/config")
        .bearer_auth(&t.storefront_key)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert!(detail(problem).contains("storefront key"));

    // A guest cart read without its token says which header to send.
    let cart = app.guest_cart(&t).await;
    let res = app
        .request(Method::GET, &format!("/v1/carts/{}", cart.id))
        .header("X-Api-Key", &t.storefront_key)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert!(detail(problem).contains("X-Cart-Token"));

    // A customer token without `exp` names the missing claim.
    let no_exp = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": "ann"}),
        &jsonwebtoken::EncodingKey::from_secret(t.customer_token_secret.as_bytes()),
    )
    .unwrap();
    let res = app
        .request(Method::POST, "/v1/carts")
        .header("X-Api-Key", &t.storefront_key)
        .bearer_auth(no_exp)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert!(detail(problem).contains("`exp`"));

    // Another customer's order is called an order.
    let ann = app.customer(&t, "ann");
    let ann_cart = app.create_cart(&ann).await;
    app.add_line(&ann_cart, "MILK", 1).await;
    let res = app.checkout(&ann_cart).await;
    let checkout_id = body(res).await["checkout_id"].as_str().unwrap().to_owned();
    let res = app.complete(&ann_cart, &checkout_id, "k-ann").await;
    let order_id = body(res).await["order_id"].as_str().unwrap().to_owned();
    let bob = app.customer(&t, "bob");
    let res = app
        .as_caller(&bob, Method::GET, &format!("/v1/orders/{order_id}"))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(detail(problem), "this order belongs to another customer");
    let res = app
        .as_caller(&bob, Method::GET, &format!("/v1/checkouts/{checkout_id}"))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(detail(problem), "this checkout belongs to another customer");

    // A stale expected_line_version says where the line is.
    let cart = app.guest_cart(&t).await;
    let res = app.add_line(&cart, "MILK", 1).await;
    let line = body(res).await["lines"][0]["line_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .cart_req(&cart, Method::PATCH, &format!("/lines/{line}"))
        .json(&json!({"quantity": 2, "expected_line_version": 7}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, StatusCode::CONFLICT, "line_conflict").await;
    assert!(
        detail(problem.clone()).contains("is at version 1, not version 7"),
        "{problem}"
    );
    assert_eq!(problem["current_line"]["line_version"], 1);
}

on_both_backends!(
    a_cart_read_is_conditional,
    cors_opens_the_storefront_api_to_the_tenants_origins_only,
    a_storefront_browses_the_catalog_with_its_key_alone,
    a_stream_follows_the_cart_across_devices,
    a_stream_needs_the_credentials_of_a_read,
    errors_say_which_credential_is_wrong,
);
