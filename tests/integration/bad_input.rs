//! Every bad request gets a clear 4xx problem+json with the right code, and changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Caller, TestApp, assert_problem, customer_token};

/// One bad request: how it is sent, and what must come back.
struct Case {
    name: &'static str,
    method: Method,
    /// Appended to `/v1/carts/{cart_id}`.
    suffix: String,
    body: Body,
    caller: Caller,
    status: StatusCode,
    code: &'static str,
}

enum Body {
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

async fn bad_requests_change_nothing(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let other = app.create_tenant("USD").await;
    app.put_item(&t, "APPLE", "1.00").await;
    let cart = app.guest_cart(&t).await;
    app.add_line(&cart, "APPLE", 3).await;
    let before = app.get_cart(&cart).await;
    let line = before["lines"][0]["line_id"].as_str().unwrap().to_owned();
    let owner = cart.caller.clone();

    let add = |q: Value| Body::Json(json!({"sku": "APPLE", "quantity": q}));
    let with = |f: &dyn Fn(&mut Caller)| {
        let mut c = owner.clone();
        f(&mut c);
        c
    };
    let case = |name, method, suffix: &str, body, caller: &Caller, status, code| Case {
        name,
        method,
        suffix: suffix.to_owned(),
        body,
        caller: caller.clone(),
        status,
        code,
    };
    let lines = "/lines";
    let line_path = format!("/lines/{line}");
    let ten_mib = vec![b' '; 10 * 1024 * 1024];
    let cases = vec![
        case(
            "malformed json",
            Method::POST,
            lines,
            Body::Raw("application/json", b"{\"sku\": \"APPLE\", ".to_vec()),
            &owner,
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        case(
            "not json at all",
            Method::POST,
            lines,
            Body::Raw("application/json", b"quantity=1".to_vec()),
            &owner,
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        case(
            "wrong type",
            Method::POST,
            lines,
            add(json!("two")),
            &owner,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        case(
            "float quantity",
            Method::POST,
            lines,
            add(json!(1.5)),
            &owner,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        case(
            "missing sku",
            Method::POST,
            lines,
            Body::Json(json!({"quantity": 1})),
            &owner,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        case(
            "unknown field",
            Method::POST,
            lines,
            Body::Json(json!({"sku": "APPLE", "quantity": 1, "price": "0.01"})),
            &owner,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        case(
            "quantity 0",
            Method::POST,
            lines,
            add(json!(0)),
            &owner,
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity_out_of_range",
        ),
        case(
            "quantity -1",
            Method::POST,
            lines,
            add(json!(-1)),
            &owner,
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity_out_of_range",
        ),
        case(
            "quantity 1000",
            Method::POST,
            lines,
            add(json!(1000)),
            &owner,
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity_out_of_range",
        ),
        case(
            "quantity 10^12",
            Method::POST,
            lines,
            add(json!(1_000_000_000_000_i64)),
            &owner,
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity_out_of_range",
        ),
        case(
            "quantity 10^30",
            Method::POST,
            lines,
            Body::Raw(
                "application/json",
                br#"{"sku":"APPLE","quantity":1000000000000000000000000000000}"#.to_vec(),
            ),
            &owner,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        case(
            "patch quantity 0",
            Method::PATCH,
            &line_path,
            Body::Json(json!({"quantity": 0})),
            &owner,
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity_out_of_range",
        ),
        case(
            "patch quantity 1000",
            Method::PATCH,
            &line_path,
            Body::Json(json!({"quantity": 1000})),
            &owner,
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity_out_of_range",
        ),
        case(
            "unknown sku",
            Method::POST,
            lines,
            Body::Json(json!({"sku": "NOPE", "quantity": 1})),
            &owner,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_sku",
        ),
        case(
            "malformed sku",
            Method::POST,
            lines,
            Body::Json(json!({"sku": "no spaces allowed", "quantity": 1})),
            &owner,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        case(
            "oversized attribute",
            Method::POST,
            lines,
            Body::Json(
                json!({"sku": "APPLE", "quantity": 1, "attributes": {"note": "x".repeat(600)}}),
            ),
            &owner,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        case(
            "malformed line id",
            Method::PATCH,
            "/lines/not-a-uuid",
            Body::Json(json!({"quantity": 1})),
            &owner,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        case(
            "unknown line id",
            Method::PATCH,
            &format!("/lines/{}", uuid::Uuid::now_v7()),
            Body::Json(json!({"quantity": 1})),
            &owner,
            StatusCode::NOT_FOUND,
            "line_not_found",
        ),
        case(
            "10 MiB body",
            Method::POST,
            lines,
            Body::Raw("application/json", ten_mib),
            &owner,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        case(
            "form body",
            Method::POST,
            lines,
            Body::Raw(
                "application/x-www-form-urlencoded",
                b"sku=APPLE&quantity=1".to_vec(),
            ),
            &owner,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        case(
            "context with a number",
            Method::PUT,
            "/context",
            Body::Json(json!({"distance_km": 3})),
            &owner,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        case(
            "context key with spaces",
            Method::PUT,
            "/context",
            Body::Json(json!({"bad key": "x"})),
            &owner,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        case(
            "no api key",
            Method::POST,
            lines,
            add(json!(1)),
            &with(&|c| c.api_key = String::new()),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        case(
            "wrong api key",
            Method::POST,
            lines,
            add(json!(1)),
            &with(&|c| c.api_key = "tsk_wrong".into()),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        case(
            "no cart token",
            Method::POST,
            lines,
            add(json!(1)),
            &with(&|c| c.cart_token = None),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        case(
            "wrong cart token",
            Method::POST,
            lines,
            add(json!(1)),
            &with(&|c| c.cart_token = Some("tct_wrong".into())),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        case(
            "another tenant's customer token",
            Method::POST,
            lines,
            add(json!(1)),
            &with(&|c| c.bearer = Some(customer_token(&other.customer_token_secret, "eve", 3600))),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        ),
        case(
            "expired customer token",
            Method::POST,
            lines,
            add(json!(1)),
            &with(&|c| c.bearer = Some(customer_token(&t.customer_token_secret, "eve", -3600))),
            StatusCode::UNAUTHORIZED,
            "token_expired",
        ),
        case(
            "garbage customer token",
            Method::POST,
            lines,
            add(json!(1)),
            &with(&|c| c.bearer = Some("not.a.jwt".into())),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        ),
        case(
            "a customer on a guest cart",
            Method::POST,
            lines,
            add(json!(1)),
            &Caller {
                api_key: t.storefront_key.clone(),
                bearer: Some(customer_token(&t.customer_token_secret, "eve", 3600)),
                cart_token: None,
            },
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        case(
            "another tenant's storefront key",
            Method::POST,
            lines,
            add(json!(1)),
            &with(&|c| c.api_key = other.storefront_key.clone()),
            StatusCode::NOT_FOUND,
            "cart_not_found",
        ),
        case(
            "empty idempotency key",
            Method::POST,
            lines,
            add(json!(1)),
            &owner,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];

    for case in cases {
        let mut rb = app.request(
            case.method.clone(),
            &format!("/v1/carts/{}{}", cart.id, case.suffix),
        );
        if !case.caller.api_key.is_empty() {
            rb = case.caller.apply(rb);
        } else {
            let mut c = case.caller.clone();
            c.api_key = String::new();
            if let Some(token) = c.cart_token {
                rb = rb.header("X-Cart-Token", token);
            }
        }
        if case.name == "empty idempotency key" {
            rb = rb.header("Idempotency-Key", "");
        }
        rb = match case.body {
            Body::Json(v) => rb.json(&v),
            Body::Raw(ct, bytes) => rb.header("content-type", ct).body(bytes),
        };
        let res = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let got = res.status();
        let ct = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(got, case.status, "{}: {body}", case.name);
        assert_eq!(
            ct.as_deref(),
            Some("application/problem+json"),
            "{}",
            case.name
        );
        assert_eq!(body["code"], case.code, "{}: {body}", case.name);
        assert!(
            !body["detail"].as_str().unwrap_or_default().is_empty(),
            "{}",
            case.name
        );

        let after = app.get_cart(&cart).await;
        assert_eq!(after, before, "{} changed the cart", case.name);
    }
}

async fn malformed_ids_and_unknown_routes(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let guest = app.guest(&t);
    let res = app
        .as_caller(&guest, Method::GET, "/v1/carts/12345")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_request").await;
    let res = app
        .as_caller(
            &guest,
            Method::GET,
            &format!("/v1/carts/{}", uuid::Uuid::now_v7()),
        )
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "cart_not_found").await;
    let res = app
        .request(Method::GET, "/v1/nothing-here")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
}

on_both_backends!(
    bad_requests_change_nothing,
    malformed_ids_and_unknown_routes
);
