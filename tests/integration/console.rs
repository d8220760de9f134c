//! The tenant console's sessions over HTTP (SPEC §12, issue 18): signing in with the admin
//! key, CSRF and origin checks on every form, sessions that end on the server (sign-out, a
//! revoked key), and a session of one tenant never showing another's data.
//!
//! A browser is played by hand: cookies are taken from `Set-Cookie` and sent back in
//! `Cookie:`, redirects are not followed, so every status and `Location` is seen as sent.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::on_both_backends;
use crate::plugins::{GROCERY, wasm};
use crate::support::{Tenant, TestApp, body};

const SESSION: &str = "trolley_console";
/// Form fields or headers, as name/value pairs.
type Pairs<'a> = Vec<(&'a str, &'a str)>;
const SIGN_IN: &str = "trolley_console_sign_in";

/// A console session: its cookie (`trolley_console=…`) and the CSRF token its pages carry.
#[derive(Debug, Clone)]
struct Session {
    cookie: String,
    csrf: String,
}

/// A client that shows redirects instead of following them, and keeps no cookies.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `name=value` of the cookie `name` the response sets (empty value: the cookie is removed).
fn set_cookie(res: &Response, name: &str) -> Option<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let pair = v.split(';').next()?.trim();
            let (n, value) = pair.split_once('=')?;
            (n == name).then(|| format!("{name}={value}"))
        })
}

/// The `value` of the first `<input … name="{name}" … value="…">` in `html`.
fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let value = tag.split("value=\"").nth(1)?;
    Some(value.split('"').next()?.to_owned())
}

fn location(res: &Response) -> String {
    res.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The text of the element with `id="{id}"` (tags stripped).
fn element_text(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let open_end = at + html[at..].find('>')? + 1;
    let close = open_end + html[open_end..].find("</")?;
    Some(html[open_end..close].trim().to_owned())
}

impl TestApp {
    /// `GET` a console page as `session` (or signed out).
    async fn page(&self, session: Option<&Session>, path: &str) -> Response {
        let mut req = browser().get(self.url(path));
        if let Some(s) = session {
            req = req.header(COOKIE, &s.cookie);
        }
        req.send().await.unwrap()
    }

    /// `POST` a console form as `session`, with `headers` (e.g. `Origin`).
    async fn post_form(
        &self,
        session: &Session,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Response {
        let mut req = browser()
            .post(self.url(path))
            .header(COOKIE, &session.cookie)
            .form(form);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }

    /// The sign-in form's CSRF cookie and token (double submit).
    async fn sign_in_form(&self) -> (String, String) {
        let res = self.page(None, "/console/sign-in").await;
        assert_eq!(res.status(), StatusCode::OK);
        let cookie = set_cookie(&res, SIGN_IN).expect("the sign-in page sets its CSRF cookie");
        let html = res.text().await.unwrap();
        let csrf = input_value(&html, "csrf").expect("the sign-in form carries a csrf input");
        (cookie, csrf)
    }

    async fn submit_sign_in(&self, admin_key: &str) -> Response {
        let (cookie, csrf) = self.sign_in_form().await;
        browser()
            .post(self.url("/console/sign-in"))
            .header(COOKIE, cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("admin_key", admin_key),
                ("next", "/console"),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Signs in with `admin_key`: a session cookie, and the CSRF token of its pages.
    async fn console_sign_in(&self, admin_key: &str) -> Session {
        let res = self.submit_sign_in(admin_key).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "sign-in");
        assert_eq!(location(&res), "/console");
        let cookie = set_cookie(&res, SESSION).expect("signing in sets the session cookie");
        let mut session = Session {
            cookie,
            csrf: String::new(),
        };
        let res = self.page(Some(&session), "/console").await;
        assert_eq!(res.status(), StatusCode::OK, "the overview, signed in");
        let html = res.text().await.unwrap();
        session.csrf = input_value(&html, "csrf").expect("the sign-out form carries the token");
        session
    }

    /// Whether `session` still opens the overview (else it is sent to sign in).
    async fn signed_in(&self, session: &Session) -> bool {
        let res = self.page(Some(session), "/console").await;
        match res.status() {
            StatusCode::OK => true,
            StatusCode::SEE_OTHER => {
                assert!(
                    location(&res).starts_with("/console/sign-in"),
                    "{}",
                    location(&res)
                );
                false
            }
            other => panic!("GET /console answered {other}"),
        }
    }

    async fn grocery_config(&self, t: &Tenant) -> Value {
        let res = self
            .admin(t, Method::GET, "/v1/admin/order-types")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let all = body(res).await;
        all.as_array()
            .unwrap()
            .iter()
            .find(|a| a["order_type"] == "grocery")
            .map(|a| a["config"].clone())
            .unwrap_or(Value::Null)
    }
}

async fn signed_out_console_pages_send_to_sign_in(app: TestApp) {
    let mut problems = Vec::new();
    for (path, next) in [
        ("/console", "%2Fconsole"),
        ("/console/order-types", "%2Fconsole%2Forder-types"),
        ("/console/catalog", "%2Fconsole%2Fcatalog"),
        ("/console/carts", "%2Fconsole%2Fcarts"),
        ("/console/orders", "%2Fconsole%2Forders"),
    ] {
        let res = app.page(None, path).await;
        let expected = format!("/console/sign-in?next={next}");
        match res.status() {
            StatusCode::SEE_OTHER if location(&res) == expected => {}
            StatusCode::NOT_FOUND => problems.push(format!("{path}: 404, the page is missing")),
            status => problems.push(format!(
                "{path}: {status} to {:?}, expected 303 to {expected}",
                location(&res)
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

async fn a_wrong_admin_key_is_named_beside_the_field(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let res = app
        .submit_sign_in("tak_00000000000000000000000000000000")
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        set_cookie(&res, SESSION),
        None,
        "no session for a wrong key"
    );
    let html = res.text().await.unwrap();
    let error = element_text(&html, "admin_key-error").expect("an error beside the field");
    assert!(
        error.contains("admin key"),
        "the error names the problem: {error}"
    );
    assert!(
        html.contains(r#"aria-describedby="admin_key-error""#),
        "the field points at its error"
    );

    // Without the sign-in form's own token, even the right key is refused.
    let res = browser()
        .post(app.url("/console/sign-in"))
        .form(&[("admin_key", t.admin_key.as_str()), ("next", "/console")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(set_cookie(&res, SESSION), None);
    // The right key, with the form's token: signed in.
    let session = app.console_sign_in(&t.admin_key).await;
    assert!(app.signed_in(&session).await);
}

async fn forms_without_the_token_or_from_another_site_are_refused(app: TestApp) {
    let (t, p) = app
        .tenant_with("grocery", GROCERY, json!({"small_basket_fee": "4.00"}))
        .await;
    app.activate_ok(
        &t,
        "grocery",
        &p["plugin_id"],
        json!({"small_basket_fee": "5.00"}),
    )
    .await;
    let session = app.console_sign_in(&t.admin_key).await;
    let rollback = "/console/order-types/grocery/rollback";
    let own_origin = app.address.clone();
    let other_token = "x".repeat(session.csrf.len().max(1));

    let refused: [(&str, Pairs, Pairs); 5] = [
        ("no csrf token", vec![], vec![]),
        (
            "a wrong csrf token",
            vec![("csrf", "0123456789abcdef")],
            vec![],
        ),
        (
            "a token of the right length that is not this session's",
            vec![("csrf", other_token.as_str())],
            vec![],
        ),
        (
            "the right token from another origin",
            vec![("csrf", session.csrf.as_str())],
            vec![("Origin", "http://evil.example")],
        ),
        (
            "the right token in a post the browser marks cross-site",
            vec![("csrf", session.csrf.as_str())],
            vec![("Sec-Fetch-Site", "cross-site")],
        ),
    ];
    for (what, form, headers) in refused {
        let res = app.post_form(&session, rollback, &form, &headers).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{what}");
        assert_eq!(
            app.grocery_config(&t).await["small_basket_fee"],
            "5.00",
            "{what}: nothing changed"
        );
    }
    assert!(
        app.signed_in(&session).await,
        "a refused form keeps the session"
    );

    // The same form with the token, from this site: rolled back.
    let res = app
        .post_form(
            &session,
            rollback,
            &[("csrf", session.csrf.as_str())],
            &[("Origin", own_origin.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&res).starts_with("/console/order-types?done=rolled_back"),
        "{}",
        location(&res)
    );
    assert_eq!(app.grocery_config(&t).await["small_basket_fee"], "4.00");
}

async fn signing_out_ends_the_session_on_the_server(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let session = app.console_sign_in(&t.admin_key).await;
    assert!(app.signed_in(&session).await);

    // Signing out is a form too: without the token it changes nothing.
    let res = app.post_form(&session, "/console/sign-out", &[], &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(app.signed_in(&session).await);

    let res = app
        .post_form(
            &session,
            "/console/sign-out",
            &[("csrf", session.csrf.as_str())],
            &[],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/console/sign-in");
    assert_eq!(
        set_cookie(&res, SESSION).as_deref(),
        Some("trolley_console="),
        "the browser is told to forget the cookie"
    );
    // A browser that kept the old cookie is signed out all the same.
    assert!(!app.signed_in(&session).await);
    let res = app.page(Some(&session), "/console/order-types").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        "/console/sign-in?next=%2Fconsole%2Forder-types"
    );
}

async fn revoking_the_signed_in_key_ends_the_session(app: TestApp) {
    let t = app.create_tenant("USD").await;
    let res = app
        .admin(&t, Method::POST, "/v1/admin/api-keys")
        .json(&json!({"kind": "admin", "name": "second admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let second = body(res).await["key"].as_str().unwrap().to_owned();

    let first_session = app.console_sign_in(&t.admin_key).await;
    let second_session = app.console_sign_in(&second).await;
    assert!(app.signed_in(&first_session).await);

    let res = app
        .request(
            Method::DELETE,
            &format!("/v1/admin/api-keys/{}", t.admin_key_id),
        )
        .bearer_auth(&second)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(
        !app.signed_in(&first_session).await,
        "a session of a revoked key ends"
    );
    assert!(
        app.signed_in(&second_session).await,
        "a session of another key goes on"
    );
    // Nor can the revoked key sign in again.
    let res = app.submit_sign_in(&t.admin_key).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// What tenant A has that B must never see.
struct Secrets {
    sku: String,
    cart_id: String,
    ordered_cart_id: String,
    order_id: String,
    plugin_id: String,
}

async fn tenant_with_data(app: &TestApp, tag: &str) -> (Tenant, Secrets) {
    let t = app.create_tenant("USD").await;
    let sku = format!(
        "{tag}-ONLY-{}",
        &Uuid::new_v4().simple().to_string()[..8].to_uppercase()
    );
    app.put_item(&t, &sku, "3.00").await;
    app.set_stock(&t, &sku, 10).await;
    let plugin = app.upload_ok(&t, wasm(GROCERY)).await;

    // An order, and a cart still open.
    let ordered = app.guest_cart(&t).await;
    assert!(app.add_line(&ordered, &sku, 1).await.status().is_success());
    let res = app.checkout(&ordered).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let checkout_id = body(res).await["checkout_id"].as_str().unwrap().to_owned();
    let res = app.complete(&ordered, &checkout_id, "pay-1").await;
    assert!(res.status().is_success(), "complete: {}", res.status());
    let order_id = body(res).await["order_id"].as_str().unwrap().to_owned();
    let open = app.guest_cart(&t).await;
    assert!(app.add_line(&open, &sku, 2).await.status().is_success());
    (
        t,
        Secrets {
            sku,
            cart_id: open.id,
            ordered_cart_id: ordered.id,
            order_id,
            plugin_id: plugin["plugin_id"].as_str().unwrap().to_owned(),
        },
    )
}

async fn a_console_session_never_shows_another_tenants_data(app: TestApp) {
    let (a, secret) = tenant_with_data(&app, "A").await;
    let (b, _) = tenant_with_data(&app, "B").await;
    let a_session = app.console_sign_in(&a.admin_key).await;
    let b_session = app.console_sign_in(&b.admin_key).await;
    let leaked = |html: &str| -> Vec<&str> {
        [
            secret.sku.as_str(),
            secret.cart_id.as_str(),
            secret.ordered_cart_id.as_str(),
            secret.order_id.as_str(),
            secret.plugin_id.as_str(),
        ]
        .into_iter()
        .filter(|s| html.contains(s))
        .collect()
    };
    let mut problems = Vec::new();

    // B's own pages, lists and searches for A's ids included (the search box and the
    // pager's links say back what was searched for: that is not a leak).
    for (path, searched) in [
        ("/console".to_owned(), None),
        ("/console/order-types".to_owned(), None),
        ("/console/catalog".to_owned(), None),
        (
            format!("/console/catalog?q={}", secret.sku),
            Some(&secret.sku),
        ),
        ("/console/carts".to_owned(), None),
        (
            format!("/console/carts?id={}", secret.cart_id),
            Some(&secret.cart_id),
        ),
        (
            format!("/console/carts?customer_id={}", secret.cart_id),
            Some(&secret.cart_id),
        ),
        ("/console/orders".to_owned(), None),
        (
            format!("/console/orders?q={}", secret.order_id),
            Some(&secret.order_id),
        ),
    ] {
        let mut res = app.page(Some(&b_session), &path).await;
        // A search by id goes to that id's page: which must then find nothing.
        if res.status() == StatusCode::SEE_OTHER {
            let to = location(&res);
            assert!(!to.starts_with("/console/sign-in"), "{path}: sent to {to}");
            res = app.page(Some(&b_session), &to).await;
            if res.status() == StatusCode::NOT_FOUND {
                continue;
            }
        }
        let status = res.status();
        let mut html = res.text().await.unwrap();
        if let Some(q) = searched {
            html = html
                .replace(&format!("value=\"{q}\""), "")
                .replace(&format!("q={q}"), "");
        }
        match status {
            StatusCode::OK => {
                let seen = leaked(&html);
                if !seen.is_empty() {
                    problems.push(format!("B's {path} shows A's {seen:?}"));
                }
            }
            StatusCode::NOT_FOUND => problems.push(format!("{path}: 404, the page is missing")),
            other => problems.push(format!("B's {path}: {other}, expected 200")),
        }
    }
    // A's things by id, in B's session: not found, and nothing of them shown.
    for path in [
        format!("/console/plugins/{}", secret.plugin_id),
        format!("/console/carts/{}", secret.cart_id),
        format!("/console/carts/{}", secret.ordered_cart_id),
    ] {
        let res = app.page(Some(&b_session), &path).await;
        let status = res.status();
        let html = res.text().await.unwrap();
        if status != StatusCode::NOT_FOUND {
            problems.push(format!("B's {path}: {status}, expected 404"));
        }
        let seen: Vec<_> = leaked(&html)
            .into_iter()
            .filter(|s| !path.contains(s))
            .collect();
        if !seen.is_empty() {
            problems.push(format!("B's {path} shows A's {seen:?}"));
        }
    }
    // A's own session does show them: the checks above are not vacuous.
    for (path, expected) in [
        ("/console/catalog".to_owned(), secret.sku.clone()),
        ("/console/carts".to_owned(), secret.cart_id.clone()),
        ("/console/orders".to_owned(), secret.order_id.clone()),
        (
            format!("/console/carts/{}", secret.cart_id),
            secret.sku.clone(),
        ),
        (
            format!("/console/plugins/{}", secret.plugin_id),
            "grocery".to_owned(),
        ),
    ] {
        let res = app.page(Some(&a_session), &path).await;
        let status = res.status();
        let html = res.text().await.unwrap();
        if status == StatusCode::NOT_FOUND {
            problems.push(format!(
                "A's {path}: 404, the page is missing (or does not find A's own data)"
            ));
        } else if status != StatusCode::OK || !html.contains(&expected) {
            problems.push(format!(
                "A's {path}: {status}, expected 200 showing {expected}"
            ));
        }
    }
    // The admin list APIs behind those pages, with B's key.
    for path in [
        "/v1/admin/carts",
        "/v1/admin/orders",
        "/v1/admin/checkouts",
        "/v1/admin/inventory",
        "/v1/admin/plugins",
    ] {
        let res = app.admin(&b, Method::GET, path).send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        if status != StatusCode::OK {
            problems.push(format!("B's {path}: {status}"));
        } else if !leaked(&text).is_empty() {
            problems.push(format!("B's {path} lists A's {:?}", leaked(&text)));
        }
    }
    let res = app
        .admin(
            &b,
            Method::GET,
            &format!("/v1/admin/carts/{}", secret.cart_id),
        )
        .send()
        .await
        .unwrap();
    if res.status() != StatusCode::NOT_FOUND {
        problems.push(format!(
            "B's /v1/admin/carts/<A's cart>: {}, expected 404",
            res.status()
        ));
    }
    assert!(
        problems.is_empty(),
        "cross-tenant console checks:\n{}",
        problems.join("\n")
    );
}

on_both_backends!(
    signed_out_console_pages_send_to_sign_in,
    a_wrong_admin_key_is_named_beside_the_field,
    forms_without_the_token_or_from_another_site_are_refused,
    signing_out_ends_the_session_on_the_server,
    revoking_the_signed_in_key_ends_the_session,
    a_console_session_never_shows_another_tenants_data,
);
