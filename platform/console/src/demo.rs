//! The demo storefront at `/demo` (SPEC §12): a shop for the `--demo` tenant, served only
//! when the server seeded one.
//!
//! The page is static (`assets/demo.{html,css}` and the ES modules of `assets/demo/`,
//! embedded at build time) and talks to the
//! real storefront API (`/v1/…`) like any storefront would, with the demo tenant's storefront
//! key from `/demo/config.json` (storefront keys identify a shop, not a person: they are
//! public by design). The one thing a browser cannot do on its own is sign a customer token,
//! which a real shop's back end does after its own login: `POST /demo/login` plays that back
//! end, for the demo tenant only.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};

use trolley_api::{ApiError, Code};

use crate::ConsoleState;

/// What the demo storefront and the one-click console sign-in need to know about the
/// `--demo` tenant. Filled by `trolley serve --demo` once the tenant exists.
#[derive(Debug, Clone)]
pub struct DemoTenant {
    pub tenant_id: uuid::Uuid,
    pub name: String,
    /// Storefront keys are meant for shop pages (they identify the tenant, not a person).
    pub storefront_key: String,
    /// Signs demo customers' tokens so the demo can show a login and a merge.
    pub customer_token_secret: String,
    /// The admin key, held in this process only: the one-click sign-in link of the banner
    /// uses it to open a console session.
    pub admin_key: String,
    /// The secret in the banner's one-click sign-in link (random per process).
    pub sign_in_token: String,
}

/// The demo tenant of this process, if `--demo` seeded one.
#[derive(Debug, Clone, Default)]
pub struct DemoSlot(Arc<RwLock<Option<DemoTenant>>>);

impl DemoSlot {
    pub fn set(&self, demo: DemoTenant) {
        if let Ok(mut slot) = self.0.write() {
            *slot = Some(demo);
        }
    }

    pub fn get(&self) -> Option<DemoTenant> {
        self.0.read().ok().and_then(|slot| slot.clone())
    }
}

const PAGE: &str = include_str!("../assets/demo.html");
const STYLE: &str = include_str!("../assets/demo.css");

/// The page's script: ES modules, one job each, served as `/demo/assets/{name}`. The page
/// loads `main.js`, which imports the others by relative path.
const MODULES: &[(&str, &str)] = &[
    ("main.js", include_str!("../assets/demo/main.js")),
    ("dom.js", include_str!("../assets/demo/dom.js")),
    ("session.js", include_str!("../assets/demo/session.js")),
    ("api.js", include_str!("../assets/demo/api.js")),
    ("cart.js", include_str!("../assets/demo/cart.js")),
    ("catalog.js", include_str!("../assets/demo/catalog.js")),
    ("checkout.js", include_str!("../assets/demo/checkout.js")),
    ("login.js", include_str!("../assets/demo/login.js")),
    ("device_b.js", include_str!("../assets/demo/device_b.js")),
];

/// The page runs only its own script and stylesheet, and calls only this origin's API.
const CSP: &str = "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// How long a demo customer token lasts: long enough for a demo, short enough that a token
/// copied out of the page is soon useless.
pub const LOGIN_TTL_SECS: i64 = 3600;

/// Demo customer ids: short and plain, so they read well in carts, orders and the console.
const MAX_CUSTOMER_ID: usize = 64;

/// Mounts `/demo`, `/demo/config.json`, `/demo/login` and `/demo/assets/…`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut scope = web::scope("/demo")
        .wrap(actix_web::middleware::Compress::default())
        .route("", web::get().to(page))
        .route("/", web::get().to(page))
        .route("/config.json", web::get().to(config))
        .route("/login", web::post().to(login))
        .route("/assets/demo.css", web::get().to(style));
    for &(name, body) in MODULES {
        scope = scope.route(
            &format!("/assets/{name}"),
            web::get().to(move || async move { script(body) }),
        );
    }
    cfg.service(scope);
}

fn no_demo() -> ApiError {
    ApiError::new(
        Code::NotFound,
        "this server has no demo tenant: start it with `trolley serve --demo`",
    )
}

/// `GET /demo`: the shop, or a page saying how to get one.
async fn page(state: web::Data<ConsoleState>) -> HttpResponse {
    let (status, body) = match state.demo.get() {
        Some(_) => (StatusCode::OK, PAGE.to_owned()),
        None => (StatusCode::NOT_FOUND, NOT_SEEDED.to_owned()),
    };
    HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header(("Content-Security-Policy", CSP))
        .body(body)
}

/// Said by `/demo` on a server started without `--demo`. Self-contained: no script, no
/// stylesheet, nothing the strict policy would refuse.
const NOT_SEEDED: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>No demo store here · Trolley</title></head>
<body>
<main>
<h1>No demo store on this server</h1>
<p>The demo storefront needs a demo tenant, which this server did not create.</p>
<p>Start the server with <code>trolley serve --demo</code> and open <code>/demo</code> again.</p>
<p><a href="/console">Open the console</a> · <a href="/docs">API docs</a></p>
</main>
</body>
</html>
"#;

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        // The assets change only with the binary; revalidating is cheap and never stale.
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .body(body)
}

fn script(body: &'static str) -> HttpResponse {
    asset("text/javascript; charset=utf-8", body)
}

async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE)
}

/// What the page needs to call the storefront API as this shop.
#[derive(Debug, Serialize)]
struct DemoConfig {
    tenant_id: uuid::Uuid,
    tenant_name: String,
    storefront_key: String,
    /// Customer ids the sign-in offers.
    demo_customers: [&'static str; 2],
}

/// `GET /demo/config.json`.
async fn config(state: web::Data<ConsoleState>) -> Result<HttpResponse, ApiError> {
    let demo = state.demo.get().ok_or_else(no_demo)?;
    Ok(HttpResponse::Ok().json(DemoConfig {
        tenant_id: demo.tenant_id,
        tenant_name: demo.name,
        storefront_key: demo.storefront_key,
        demo_customers: ["demo-customer", "demo-customer-2"],
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    customer_id: String,
}

#[derive(Debug, Serialize)]
struct LoginResponse {
    customer_id: String,
    /// An HS256 JWT for `Authorization: Bearer …` on the storefront API.
    token: String,
    token_type: &'static str,
    expires_at: DateTime<Utc>,
}

/// The claims the storefront API requires (`sub`, `exp`), and when it was issued.
#[derive(Debug, Serialize)]
struct CustomerClaims<'a> {
    sub: &'a str,
    iat: i64,
    exp: i64,
}

/// `POST /demo/login {customer_id}`: a short-lived customer token of the demo tenant, as a
/// shop's back end would sign after its own login. There is no password: anyone who can
/// reach a `--demo` server can shop as any demo customer, which is the point of a demo.
async fn login(state: web::Data<ConsoleState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let demo = state.demo.get().ok_or_else(no_demo)?;
    let request: LoginRequest = serde_json::from_slice(&body).map_err(|e| {
        let code = if e.is_syntax() || e.is_eof() {
            Code::MalformedJson
        } else {
            Code::InvalidRequest
        };
        ApiError::new(
            code,
            format!("the body must be {{\"customer_id\": \"…\"}}: {e}"),
        )
    })?;
    let customer_id = parse_customer_id(&request.customer_id)?;
    let now = Utc::now();
    let expires_at = now + chrono::Duration::seconds(LOGIN_TTL_SECS);
    let token = sign(
        &demo.customer_token_secret,
        customer_id,
        now.timestamp(),
        expires_at.timestamp(),
    )?;
    Ok(HttpResponse::Ok().json(LoginResponse {
        customer_id: customer_id.to_owned(),
        token,
        token_type: "Bearer",
        expires_at,
    }))
}

fn parse_customer_id(raw: &str) -> Result<&str, ApiError> {
    let id = raw.trim();
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@');
    if id.is_empty() || id.len() > MAX_CUSTOMER_ID || !id.chars().all(plain) {
        return Err(ApiError::new(
            Code::InvalidInput,
            format!(
                "customer_id must be 1-{MAX_CUSTOMER_ID} letters, digits, `-`, `_`, `.` or `@`"
            ),
        ));
    }
    Ok(id)
}

/// A customer token as `trolley_api::auth` verifies them: HS256 with the tenant's
/// customer-token secret, `sub` and `exp` required.
fn sign(secret: &str, customer_id: &str, iat: i64, exp: i64) -> Result<String, ApiError> {
    let claims = CustomerClaims {
        sub: customer_id,
        iat,
        exp,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| {
        tracing::error!(error = %e, "signing a demo customer token failed");
        ApiError::new(Code::Internal, "the demo could not sign a customer token")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_ids_are_plain() {
        assert_eq!(
            parse_customer_id(" demo-customer ").ok(),
            Some("demo-customer")
        );
        assert!(parse_customer_id("").is_err());
        assert!(parse_customer_id("a b").is_err());
        assert!(parse_customer_id("<script>").is_err());
        assert!(parse_customer_id(&"x".repeat(65)).is_err());
    }

    #[test]
    fn tokens_carry_the_claims_the_api_requires() {
        let token = sign("s3cret", "demo-customer", 1_000, 4_000_000_000).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<serde_json::Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_secret(b"s3cret"),
            &validation,
        )
        .unwrap();
        assert_eq!(data.claims["sub"], "demo-customer");
        assert_eq!(data.claims["exp"], 4_000_000_000_i64);
    }

    /// An `on…=` attribute inside a tag.
    fn has_event_handler(html: &str) -> bool {
        html.split('<').skip(1).any(|tag| {
            let tag = tag.split('>').next().unwrap_or("");
            tag.split_whitespace().skip(1).any(|attr| {
                attr.starts_with("on")
                    && attr.contains('=')
                    && attr[2..]
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_lowercase())
            })
        })
    }

    /// The page's policy forbids inline code, so the page must not need any.
    #[test]
    fn the_page_has_no_inline_script_or_style() {
        for html in [PAGE, NOT_SEEDED] {
            assert!(!html.contains("style=\""), "inline style attribute");
            assert!(!html.contains("<style"), "inline stylesheet");
            assert!(!has_event_handler(html), "inline event handler");
            for (i, _) in html.match_indices("<script") {
                let tag = &html[i..html[i..].find('>').map_or(html.len(), |end| i + end)];
                assert!(tag.contains("src="), "inline script: {tag}");
            }
        }
        for (name, module) in MODULES {
            assert!(
                !module.contains("innerHTML"),
                "{name}: the script builds DOM nodes"
            );
        }
    }

    /// The page loads the entry module, and every module another one imports is served.
    #[test]
    fn every_imported_module_is_served() {
        assert!(
            PAGE.contains(r#"<script type="module" src="/demo/assets/main.js"></script>"#),
            "the page loads main.js as a module"
        );
        let served = |name: &str| MODULES.iter().any(|(served, _)| *served == name);
        for (name, module) in MODULES {
            for line in module.lines().filter(|l| l.starts_with("import ")) {
                let from = line
                    .split(" from \"./")
                    .nth(1)
                    .and_then(|rest| rest.strip_suffix("\";"))
                    .unwrap_or_else(|| {
                        panic!("{name}: an import not of the form `from \"./x.js\";`: {line}")
                    });
                assert!(served(from), "{name} imports {from}, which is not served");
            }
        }
    }
}
