//! `/metrics` and request ids (SPEC §7): after a scripted session every metric family is
//! exposed with values that match what happened, and every response carries its request id.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Tenant, TestApp, assert_problem, body};

const GROCERY: &str = env!("TROLLEY_PLUGIN_GROCERY_WASM");
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// One sample of the exposition: family sample name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

/// The samples of an OpenMetrics text exposition. Label values are unescaped; route
/// patterns hold `{` and `}`, so this reads quoted strings rather than splitting.
fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value = value.parse().unwrap();
        let Some((name, rest)) = series.split_once('{') else {
            samples.push(Sample {
                name: series.to_owned(),
                labels: Vec::new(),
                value,
            });
            continue;
        };
        let mut labels = Vec::new();
        let mut chars = rest.chars().peekable();
        loop {
            let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
            assert_eq!(chars.next(), Some('"'), "{line}");
            let mut val = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => match chars.next().unwrap() {
                        'n' => val.push('\n'),
                        other => val.push(other),
                    },
                    '"' => break,
                    c => val.push(c),
                }
            }
            labels.push((key, val));
            match chars.next() {
                Some(',') => continue,
                Some('}') => break,
                other => panic!("unexpected {other:?} in {line}"),
            }
        }
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    samples
}

/// The sum of the samples called `name` whose labels include every pair of `labels`.
fn total(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.iter().any(|(sk, sv)| sk == k && sv == v))
        })
        .map(|s| s.value)
        .sum()
}

impl TestApp {
    async fn scrape(&self) -> (String, Vec<Sample>) {
        let res = self.request(Method::GET, "/metrics").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let content_type = header(&res, "content-type").unwrap();
        assert!(
            content_type.starts_with("application/openmetrics-text"),
            "{content_type}"
        );
        let text = res.text().await.unwrap();
        assert!(text.ends_with("# EOF\n"), "{text}");
        let samples = parse(&text);
        (text, samples)
    }

    /// A tenant whose `grocery` category is served by the grocery plugin.
    async fn grocery_tenant(&self) -> Tenant {
        let t = self.create_tenant("USD").await;
        self.put_config(&t, json!({"category_order_types": {"grocery": "grocery"}}))
            .await;
        let res = self
            .admin(&t, Method::POST, "/v1/admin/plugins")
            .header("content-type", "application/wasm")
            .body(std::fs::read(GROCERY).unwrap())
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "upload: {}", res.status());
        let plugin = body(res).await;
        let res = self
            .admin(&t, Method::POST, "/v1/admin/order-types/grocery/activate")
            .json(&json!({"plugin_id": plugin["plugin_id"], "config": {}}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "activate");
        t
    }
}

fn header(res: &Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

/// A request id this server made up: a UUID v7 in simple form.
fn is_generated(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && id.as_bytes()[12] == b'7'
}

async fn metrics_describe_a_session(app: TestApp) {
    let t = app.grocery_tenant().await;
    app.put_item_with(&t, "APPLE", json!({"price": "1.50", "category": "grocery"}))
        .await;
    app.put_item_with(&t, "PEAR", json!({"price": "2.00", "category": "grocery"}))
        .await;
    app.set_stock(&t, "APPLE", 100).await;

    // A guest fills a cart, then logs in as a customer who has one too: a merge.
    let guest = app.guest_cart(&t).await;
    let customer = app.create_cart(&app.customer(&t, "alice")).await;
    let mut adds = 0;
    for (cart, sku, qty) in [
        (&guest, "APPLE", 2),
        (&guest, "PEAR", 1),
        (&customer, "APPLE", 1),
    ] {
        let res = app.add_line(cart, sku, qty).await;
        assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
        adds += 1;
    }
    app.get_cart(&customer).await;
    let res = app
        .cart_req(&customer, Method::POST, "/merge")
        .json(&json!({
            "source_cart_id": guest.id,
            "source_cart_token": guest.caller.cart_token.clone().unwrap(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);

    // Checkout: reserve, then pay.
    let res = app.checkout(&customer).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let checkout = body(res).await;
    let id = checkout["checkout_id"].as_str().unwrap();
    let res = app.complete(&customer, id, "pay-1").await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", body(res).await);

    // A cart still shopping, and a miss.
    let shopping = app.guest_cart(&t).await;
    assert_eq!(
        app.add_line(&shopping, "PEAR", 1).await.status(),
        StatusCode::OK
    );
    adds += 1;
    let res = app
        .request(Method::GET, "/no/such/page")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;

    let (text, m) = app.scrape().await;
    let lines = [
        ("method", "POST"),
        ("route", "/v1/carts/{cart_id}/lines"),
        ("status", "200"),
    ];
    assert!(
        total(&m, "trolley_http_request_duration_seconds_count", &lines) >= f64::from(adds),
        "{text}"
    );
    // Every observation falls in the +Inf bucket and the histogram adds up.
    let inf = [lines.as_slice(), &[("le", "+Inf")]].concat();
    assert_eq!(
        total(&m, "trolley_http_request_duration_seconds_bucket", &inf),
        total(&m, "trolley_http_request_duration_seconds_count", &lines)
    );
    assert!(total(&m, "trolley_http_request_duration_seconds_sum", &lines) > 0.0);
    // Paths no route claims share one label value instead of minting series.
    assert!(
        total(
            &m,
            "trolley_http_request_duration_seconds_count",
            &[("route", "unmatched"), ("status", "404")]
        ) >= 1.0,
        "{text}"
    );
    assert!(!text.contains("/no/such/page"), "{text}");
    assert!(!text.contains(&customer.id), "raw paths leaked: {text}");
    assert!(
        total(
            &m,
            "trolley_http_request_duration_seconds_count",
            &[
                ("route", "/v1/checkouts/{checkout_id}/complete"),
                ("status", "201")
            ]
        ) >= 1.0,
        "{text}"
    );

    let cache = |result| total(&m, "trolley_cache_requests_total", &[("result", result)]);
    assert!(cache("hit") + cache("miss") > 0.0, "{text}");
    // Present even at zero (SQLite runs have no shared cache to fall back from).
    assert!(
        m.iter().any(|s| s.name == "trolley_cache_requests_total"
            && s.labels
                .contains(&("result".to_owned(), "fallback".to_owned()))),
        "{text}"
    );

    let plugin = [("tenant", t.id.as_str()), ("order_type", "grocery")];
    assert!(
        total(&m, "trolley_plugin_call_duration_seconds_count", &plugin) >= f64::from(adds),
        "{text}"
    );
    let ok = [plugin.as_slice(), &[("outcome", "ok")]].concat();
    assert!(
        total(&m, "trolley_plugin_calls_total", &ok) >= f64::from(adds),
        "{text}"
    );
    assert_eq!(
        total(
            &m,
            "trolley_plugin_calls_total",
            &[plugin.as_slice(), &[("outcome", "failed")]].concat()
        ),
        0.0
    );
    // Fuel metering is off by default: nothing is measured, so the family has no samples.
    assert!(
        !m.iter()
            .any(|s| s.name.starts_with("trolley_plugin_fuel_used")),
        "{text}"
    );

    assert!(
        total(&m, "trolley_merge_outcomes_total", &[]) > 0.0,
        "{text}"
    );
    let reservations = |event| total(&m, "trolley_reservations_total", &[("event", event)]);
    assert!(reservations("held") >= 1.0, "{text}");
    assert!(reservations("sold") >= 1.0, "{text}");
    assert_eq!(reservations("released"), 0.0);
    assert!(m.iter().any(|s| s.name == "trolley_rate_limited_total"));
    // The shopping cart is active; the merged guest cart and the converted one are not.
    assert_eq!(total(&m, "trolley_active_carts", &[]), 1.0, "{text}");

    // The count is reused for a few seconds, then read again.
    app.guest_cart(&t).await;
    let (_, m) = app.scrape().await;
    assert_eq!(total(&m, "trolley_active_carts", &[]), 1.0);
    app.advance(chrono::Duration::seconds(6));
    let (_, m) = app.scrape().await;
    assert_eq!(total(&m, "trolley_active_carts", &[]), 2.0);
}

async fn every_response_carries_its_request_id(app: TestApp) {
    // The caller's id comes back.
    let res = app
        .request(Method::GET, "/health")
        .header("X-Request-Id", "checkout-7f:retry_2.a")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        header(&res, "x-request-id").as_deref(),
        Some("checkout-7f:retry_2.a")
    );
    assert_eq!(header(&res, "traceparent"), None);

    // A traceparent's trace id becomes the request id, and the traceparent comes back.
    let traceparent = format!("00-{TRACE_ID}-00f067aa0ba902b7-01");
    let res = app
        .request(Method::GET, "/health")
        .header("traceparent", &traceparent)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&res, "x-request-id").as_deref(), Some(TRACE_ID));
    assert_eq!(header(&res, "traceparent"), Some(traceparent.clone()));

    // Both: the request id wins, the traceparent is still echoed.
    let res = app
        .request(Method::GET, "/health")
        .header("X-Request-Id", "mine")
        .header("traceparent", &traceparent)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&res, "x-request-id").as_deref(), Some("mine"));
    assert_eq!(header(&res, "traceparent"), Some(traceparent));

    // Neither: a fresh one each time.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..3 {
        let res = app.request(Method::GET, "/health").send().await.unwrap();
        let id = header(&res, "x-request-id").unwrap();
        assert!(is_generated(&id), "{id}");
        assert!(seen.insert(id));
    }

    // Errors carry it too: an unknown path, a refused credential, a bad body.
    let res = app
        .request(Method::GET, "/v1/carts/not-a-cart/nothing")
        .header("X-Request-Id", "lost-1")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&res, "x-request-id").as_deref(), Some("lost-1"));
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = app
        .request(Method::POST, "/v1/carts")
        .header("X-Request-Id", "nokey-1")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&res, "x-request-id").as_deref(), Some("nokey-1"));
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let res = app
        .operator(Method::POST, "/v1/platform/tenants")
        .header("X-Request-Id", "badbody-1")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&res, "x-request-id").as_deref(), Some("badbody-1"));
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // Hostile or malformed ids and traceparents are ignored, never echoed.
    let hostile = "A".repeat(1024);
    for (name, value) in [
        ("X-Request-Id", hostile.as_str()),
        ("X-Request-Id", "two words"),
        ("X-Request-Id", "<script>"),
        (
            "traceparent",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        ),
        (
            "traceparent",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        ),
        ("traceparent", "zz"),
    ] {
        let res = app
            .request(Method::GET, "/health")
            .header(name, value)
            .send()
            .await
            .unwrap();
        let id = header(&res, "x-request-id").unwrap();
        assert!(is_generated(&id), "{name}: {value} → {id}");
        assert_eq!(header(&res, "traceparent"), None, "{name}: {value}");
    }
}

async fn metrics_need_no_credentials_and_list_in_the_spec(app: TestApp) {
    let (text, _) = app.scrape().await;
    // Families with series from the start.
    for family in [
        "trolley_cache_requests",
        "trolley_reservations",
        "trolley_rate_limited",
        "trolley_active_carts",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family}: {text}"
        );
    }
    let res = app
        .request(Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap();
    let spec: Value = body(res).await;
    assert!(spec["paths"]["/metrics"]["get"].is_object());
}

/// With the operator's fuel setting on, each plugin call's fuel lands in the histogram of
/// its tenant and order type.
async fn plugin_fuel_is_measured_when_metering_is_on(app: TestApp) {
    let t = app.grocery_tenant().await;
    app.put_item_with(&t, "APPLE", json!({"price": "1.50", "category": "grocery"}))
        .await;
    let cart = app.guest_cart(&t).await;
    for qty in [1, 2] {
        let res = app.add_line(&cart, "APPLE", qty).await;
        assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    }
    // A new question (the price changed), so the read calls the plugin too.
    app.put_item_with(&t, "APPLE", json!({"price": "1.60", "category": "grocery"}))
        .await;
    app.get_cart(&cart).await;

    let (text, m) = app.scrape().await;
    let plugin = [("tenant", t.id.as_str()), ("order_type", "grocery")];
    let calls = total(&m, "trolley_plugin_calls_total", &plugin);
    assert!(calls >= 3.0, "{text}");
    // Every successful call was metered, and metering counts real work.
    assert_eq!(
        total(&m, "trolley_plugin_fuel_used_count", &plugin),
        total(
            &m,
            "trolley_plugin_calls_total",
            &[plugin.as_slice(), &[("outcome", "ok")]].concat()
        ),
        "{text}"
    );
    assert!(
        total(&m, "trolley_plugin_fuel_used_sum", &plugin) >= calls,
        "{text}"
    );
    let inf = [plugin.as_slice(), &[("le", "+Inf")]].concat();
    assert_eq!(
        total(&m, "trolley_plugin_fuel_used_bucket", &inf),
        total(&m, "trolley_plugin_fuel_used_count", &plugin)
    );
}

/// A read that would show the plugin exactly what it answered last time reuses the answer
/// kept beside the cached cart; any change to what it is shown (a price, an activation, a
/// rollback, a context) asks it again.
async fn the_same_question_is_not_asked_twice(app: TestApp) {
    let t = app.grocery_tenant().await;
    app.put_item_with(&t, "APPLE", json!({"price": "1.50", "category": "grocery"}))
        .await;
    let cart = app.guest_cart(&t).await;
    let res = app.add_line(&cart, "APPLE", 2).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    let plugin = [("tenant", t.id.as_str()), ("order_type", "grocery")];
    let calls = |m: &[Sample]| total(m, "trolley_plugin_calls_total", &plugin);
    let (_, m) = app.scrape().await;
    let after_add = calls(&m);
    assert!(after_add >= 1.0);

    let first = app.get_cart(&cart).await;
    for _ in 0..3 {
        assert_eq!(app.get_cart(&cart).await, first, "the same view every time");
    }
    let (text, m) = app.scrape().await;
    assert_eq!(calls(&m), after_add, "reads of an unchanged cart: {text}");

    app.put_item_with(&t, "APPLE", json!({"price": "1.75", "category": "grocery"}))
        .await;
    let repriced = app.get_cart(&cart).await;
    assert_eq!(repriced["lines"][0]["unit_price"], "1.75");
    let (text, m) = app.scrape().await;
    assert_eq!(
        calls(&m),
        after_add + 1.0,
        "a new price is a new question: {text}"
    );
    // The new answer is kept: reading again asks nothing.
    assert_eq!(app.get_cart(&cart).await, repriced);

    // A new activation (here a new config) is a new question, and so is the rollback.
    let types = body(
        app.admin(&t, Method::GET, "/v1/admin/order-types")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let res = app
        .admin(&t, Method::POST, "/v1/admin/order-types/grocery/activate")
        .json(&json!({"plugin_id": types[0]["plugin_id"], "config": {"small_basket_fee": "1.50"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "activate");
    let activated = app.get_cart(&cart).await;
    assert_ne!(activated["total"], repriced["total"], "{activated}");
    assert_eq!(app.get_cart(&cart).await, activated);
    let res = app
        .admin(&t, Method::POST, "/v1/admin/order-types/grocery/rollback")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "rollback");
    let rolled_back = app.get_cart(&cart).await;
    assert_eq!(rolled_back["total"], repriced["total"]);
    let (text, m) = app.scrape().await;
    assert_eq!(
        calls(&m),
        after_add + 3.0,
        "an activation and a rollback are new questions: {text}"
    );

    // A new context is a new question: the write that sets it asks, and the read after it
    // shows that answer without asking again.
    let res = app
        .cart_req(&cart, Method::PUT, "/context")
        .json(&json!({"delivery_slot": "2026-11-23T10:00/12:00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let with_slot = body(res).await;
    assert_eq!(app.get_cart(&cart).await, with_slot);
    let (text, m) = app.scrape().await;
    assert_eq!(calls(&m), after_add + 4.0, "{text}");
}

mod plugin_fuel_is_measured_when_metering_is_on {
    use crate::support::{Backend, spawn_app_with};

    async fn metered(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.plugin_max_fuel = Some(1_000_000_000)).await;
        super::plugin_fuel_is_measured_when_metering_is_on(app).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        metered(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        metered(Backend::Postgres).await;
    }
}

on_both_backends!(
    metrics_describe_a_session,
    every_response_carries_its_request_id,
    metrics_need_no_credentials_and_list_in_the_spec,
    the_same_question_is_not_asked_twice,
);
