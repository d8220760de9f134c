//! `spawn_app()`: a real Trolley server on a random port over a fresh database (a new SQLite
//! file, or a new PostgreSQL database `trolley_test_<uuid>`), with typed helpers.

use jsonwebtoken::{EncodingKey, Header};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::OnceLock;
use trolley::{Application, Settings};
use trolley_core::ports::ManualClock;
use uuid::Uuid;

pub mod receiver;

/// PostgreSQL server used by the suite; `TROLLEY_TEST_PG_URL` overrides it. A test that
/// cannot reach it fails: the suite never silently falls back to SQLite.
fn pg_admin_url() -> String {
    std::env::var("TROLLEY_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Redis used by the PostgreSQL runs; `TROLLEY_TEST_REDIS_URL` overrides it.
fn redis_url() -> String {
    std::env::var("TROLLEY_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

fn scratch_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("trolley-tests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        dir
    })
    .clone()
}

async fn fresh_database(backend: Backend) -> String {
    let name = format!(
        "trolley_test_{}{}",
        std::env::var("TROLLEY_TEST_RUN").unwrap_or_default(),
        Uuid::new_v4().simple()
    );
    match backend {
        Backend::Sqlite => {
            let path = scratch_dir().join(format!("{name}.db"));
            format!("sqlite://{}?mode=rwc", path.display())
        }
        Backend::Postgres => {
            let admin_url = pg_admin_url();
            let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is required for these tests and is unreachable at {admin_url}: {e}. \
                     Start it (scripts/test.sh does) or set TROLLEY_TEST_PG_URL."
                )
            });
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let base = admin_url
                .rsplit_once('/')
                .map(|(base, _)| base.to_owned())
                .expect("database URL has a path");
            format!("{base}/{name}")
        }
    }
}

pub struct TestApp {
    /// The server's clock: tests move it instead of sleeping.
    pub clock: Arc<ManualClock>,
    pub address: String,
    pub operator_token: String,
    /// The server's database, for tests that stage what only a crash can leave behind.
    pub database_url: String,
    pub client: reqwest::Client,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting and let workers go; the runtime ends with the test anyway.
        let handle = self.handle.clone();
        drop(handle.stop(false));
    }
}

/// Credentials of a tenant created through the platform API.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    pub storefront_key: String,
    pub admin_key: String,
    pub customer_token_secret: String,
    /// What the audit log names the admin key by.
    pub admin_key_id: String,
}

/// Who a storefront request acts for.
#[derive(Debug, Clone)]
pub struct Caller {
    pub api_key: String,
    pub bearer: Option<String>,
    pub cart_token: Option<String>,
}

impl Caller {
    pub fn apply(&self, rb: RequestBuilder) -> RequestBuilder {
        let mut rb = rb.header("X-Api-Key", &self.api_key);
        if let Some(b) = &self.bearer {
            rb = rb.bearer_auth(b);
        }
        if let Some(t) = &self.cart_token {
            rb = rb.header("X-Cart-Token", t);
        }
        rb
    }
}

/// A guest or customer cart and the caller that owns it.
#[derive(Debug, Clone)]
pub struct CartHandle {
    pub id: String,
    pub caller: Caller,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// [`spawn_app`] with operator settings changed by `configure` before the server starts.
pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let database_url = fresh_database(backend).await;
    let operator_token = format!("op-{}", Uuid::new_v4());
    // One data dir for every server of the run: each test has its own database, and the
    // plugin artifact cache (content addressed, written atomically) is then shared, so a
    // module compiles once per run rather than once per test.
    let mut settings =
        Settings::for_tests(database_url.clone(), operator_token.clone(), scratch_dir());
    if backend == Backend::Postgres {
        // The production pairing: PostgreSQL with the shared Redis cache, rate limits and
        // notices, under a key prefix of this test's own (never a FLUSHDB).
        settings.redis_url = Some(redis_url());
        settings.redis_prefix = format!("trolley-test-{}", Uuid::new_v4().simple());
    }
    configure(&mut settings);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = Application::build_with_clock(settings, clock.clone())
        .await
        .expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let app = TestApp {
        clock,
        address,
        operator_token,
        database_url,
        // Idle connections are dropped well before the server's keep-alive closes them.
        client: reqwest::Client::builder()
            .pool_idle_timeout(std::time::Duration::from_secs(20))
            .build()
            .expect("http client"),
        handle,
    };
    if backend == Backend::Postgres {
        // A suite that silently ran without Redis would prove nothing about it.
        let ready = body(app.client.get(app.url("/ready")).send().await.unwrap()).await;
        assert_eq!(
            ready["checks"]["redis"],
            "ok",
            "Redis is required for the PostgreSQL runs and is unreachable at {} (scripts/test.sh starts it, or set TROLLEY_TEST_REDIS_URL): {ready}",
            redis_url()
        );
    }
    app
}

/// Body of a response as JSON (`Null` when it is not JSON).
pub async fn body(res: Response) -> Value {
    res.json().await.unwrap_or(Value::Null)
}

/// Asserts a problem+json error with `status` and `code`; returns the body.
pub async fn assert_problem(res: Response, status: StatusCode, code: &str) -> Value {
    let got = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = body(res).await;
    assert_eq!(got, status, "unexpected status; body: {body}");
    assert_eq!(content_type, "application/problem+json", "body: {body}");
    assert_eq!(body["code"], code, "body: {body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(body["title"].is_string() && body["detail"].is_string() && body["type"].is_string());
    body
}

impl TestApp {
    /// The server's clock now.
    pub fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use trolley_core::ports::Clock as _;
        self.clock.now()
    }

    /// Moves the server's clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
    }

    /// Runs one expiry sweep now; returns its report.
    pub async fn sweep(&self) -> Value {
        let res = self
            .operator(Method::POST, "/v1/platform/sweep")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        body(res).await
    }

    pub async fn set_stock(&self, tenant: &Tenant, sku: &str, on_hand: i64) -> Value {
        let res = self
            .admin(tenant, Method::PUT, &format!("/v1/admin/inventory/{sku}"))
            .json(&json!({ "on_hand": on_hand }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        body(res).await
    }

    pub async fn stock(&self, tenant: &Tenant, sku: &str) -> Value {
        let res = self
            .admin(tenant, Method::GET, &format!("/v1/admin/inventory/{sku}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        body(res).await
    }

    pub async fn checkout(&self, cart: &CartHandle) -> Response {
        self.cart_req(cart, Method::POST, "/checkout")
            .send()
            .await
            .unwrap()
    }

    pub async fn complete(&self, cart: &CartHandle, checkout_id: &str, key: &str) -> Response {
        self.as_caller(
            &cart.caller,
            Method::POST,
            &format!("/v1/checkouts/{checkout_id}/complete"),
        )
        .header("Idempotency-Key", key)
        .send()
        .await
        .unwrap()
    }

    pub async fn cancel(&self, cart: &CartHandle, checkout_id: &str) -> Response {
        self.as_caller(
            &cart.caller,
            Method::POST,
            &format!("/v1/checkouts/{checkout_id}/cancel"),
        )
        .send()
        .await
        .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub fn operator(&self, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(&self.operator_token)
    }

    pub fn admin(&self, tenant: &Tenant, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(&tenant.admin_key)
    }

    pub fn as_caller(&self, caller: &Caller, method: Method, path: &str) -> RequestBuilder {
        caller.apply(self.request(method, path))
    }

    pub async fn create_tenant(&self, currency: &str) -> Tenant {
        let res = self
            .operator(Method::POST, "/v1/platform/tenants")
            .json(&json!({"name": "Test tenant", "currency": currency}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let b = body(res).await;
        Tenant {
            id: b["tenant_id"].as_str().unwrap().to_owned(),
            storefront_key: b["storefront_key"].as_str().unwrap().to_owned(),
            admin_key: b["admin_key"].as_str().unwrap().to_owned(),
            customer_token_secret: b["customer_token_secret"].as_str().unwrap().to_owned(),
            admin_key_id: b["admin_key_id"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn put_item(&self, tenant: &Tenant, sku: &str, price: &str) -> Value {
        self.put_item_with(tenant, sku, json!({"price": price, "category": "general"}))
            .await
    }

    pub async fn put_item_with(&self, tenant: &Tenant, sku: &str, item: Value) -> Value {
        let res = self
            .admin(
                tenant,
                Method::PUT,
                &format!("/v1/admin/catalog/items/{sku}"),
            )
            .json(&item)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        body(res).await
    }

    pub async fn delete_catalog_item(&self, tenant: &Tenant, sku: &str) {
        let res = self
            .admin(
                tenant,
                Method::DELETE,
                &format!("/v1/admin/catalog/items/{sku}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }

    pub async fn put_config(&self, tenant: &Tenant, config: Value) {
        let res = self
            .admin(tenant, Method::PUT, "/v1/admin/config")
            .json(&config)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    }

    pub fn guest(&self, tenant: &Tenant) -> Caller {
        Caller {
            api_key: tenant.storefront_key.clone(),
            bearer: None,
            cart_token: None,
        }
    }

    pub fn customer(&self, tenant: &Tenant, customer_id: &str) -> Caller {
        Caller {
            api_key: tenant.storefront_key.clone(),
            bearer: Some(customer_token(
                &tenant.customer_token_secret,
                customer_id,
                3600,
            )),
            cart_token: None,
        }
    }

    /// Creates a cart for `caller` (a guest gets its cart token filled in).
    pub async fn create_cart(&self, caller: &Caller) -> CartHandle {
        let res = self
            .as_caller(caller, Method::POST, "/v1/carts")
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "create cart: {}", res.status());
        let b = body(res).await;
        let mut caller = caller.clone();
        if let Some(token) = b["cart_token"].as_str() {
            caller.cart_token = Some(token.to_owned());
        }
        CartHandle {
            id: b["cart_id"].as_str().unwrap().to_owned(),
            caller,
        }
    }

    pub async fn guest_cart(&self, tenant: &Tenant) -> CartHandle {
        self.create_cart(&self.guest(tenant)).await
    }

    pub fn cart_req(&self, cart: &CartHandle, method: Method, suffix: &str) -> RequestBuilder {
        self.as_caller(
            &cart.caller,
            method,
            &format!("/v1/carts/{}{suffix}", cart.id),
        )
    }

    pub async fn add_line(&self, cart: &CartHandle, sku: &str, quantity: i64) -> Response {
        self.cart_req(cart, Method::POST, "/lines")
            .json(&json!({"sku": sku, "quantity": quantity}))
            .send()
            .await
            .unwrap()
    }

    /// The value of one sample line of `/metrics`.
    pub async fn metric(&self, series: &str) -> f64 {
        let text = self
            .request(Method::GET, "/metrics")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{series} not in\n{text}"))
    }

    pub async fn get_cart(&self, cart: &CartHandle) -> Value {
        let res = self.cart_req(cart, Method::GET, "").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        body(res).await
    }
}

/// An HS256 customer token for `sub`, valid for `ttl_seconds` (negative: already expired).
pub fn customer_token(secret: &str, sub: &str, ttl_seconds: i64) -> String {
    let exp = chrono::Utc::now().timestamp() + ttl_seconds;
    jsonwebtoken::encode(
        &Header::default(),
        &json!({"sub": sub, "exp": exp}),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// Runs an async scenario against both backends, as two tests.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::support::spawn_app($crate::support::Backend::Sqlite).await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::support::spawn_app($crate::support::Backend::Postgres).await).await;
                }
            }
        )*
    };
}
