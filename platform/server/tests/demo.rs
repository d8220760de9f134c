//! `trolley serve --demo` as a person runs it: the banner on stdout, the demo storefront at
//! `/demo` on the real storefront API, the demo login, and a second run on the same data
//! dir that reuses the tenant instead of creating another.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{free_port, scratch, wait_healthy};

struct Server {
    base: String,
    child: Child,
    /// Every stdout line the process printed before the banner's last line.
    banner: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Server {
    /// The value of the banner line that starts with `label` (after the indent).
    fn line(&self, label: &str) -> String {
        self.banner
            .iter()
            .find_map(|l| l.trim_start().strip_prefix(label))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no `{label}` in the banner:\n{}", self.banner.join("\n")))
    }

    fn has_line(&self, label: &str) -> bool {
        self.banner
            .iter()
            .any(|l| l.trim_start().starts_with(label))
    }

    fn stop(mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Starts `trolley serve [--demo]` on SQLite in `data_dir`; with `--demo`, waits for the
/// banner (its last line is the curl to try).
async fn serve(data_dir: &Path, demo: bool, operator_token: Option<&str>) -> Server {
    let port = free_port();
    let log = data_dir.with_extension(format!("{port}.log"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trolley"));
    cmd.arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("TROLLEY_DATA_DIR")
        .env_remove("TROLLEY_OPERATOR_TOKEN")
        .env("TROLLEY_SWEEP_INTERVAL_SECS", "0")
        .env("TROLLEY_WORKERS", "1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    if demo {
        cmd.arg("--demo");
    }
    if let Some(token) = operator_token {
        cmd.env("TROLLEY_OPERATOR_TOKEN", token);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut server = Server {
        base: format!("http://127.0.0.1:{port}"),
        child,
        banner: Vec::new(),
    };
    if demo {
        loop {
            match rx.recv_timeout(Duration::from_secs(180)) {
                Ok(line) => {
                    let last = line.trim_start().starts_with("Try:");
                    server.banner.push(line);
                    if last {
                        break;
                    }
                }
                Err(_) => panic!(
                    "no banner; stdout so far:\n{}\nstderr:\n{}",
                    server.banner.join("\n"),
                    std::fs::read_to_string(&log).unwrap_or_default()
                ),
            }
        }
    }
    wait_healthy(&server.base).await;
    server
}

fn saved_credentials(data_dir: &Path) -> Value {
    let path: PathBuf = data_dir.join("demo-tenant.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn content_type(res: &reqwest::Response) -> String {
    res.headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_a_shop_and_a_second_run_reuses_its_tenant() {
    let data_dir = scratch("demo");
    let http = reqwest::Client::new();

    // First run: no operator token configured, so the banner shows the generated one.
    let server = serve(&data_dir, true, None).await;
    let base = server.base.clone();
    assert_eq!(
        server.banner[0], "Trolley is running — demo tenant \"Demo Store\"",
        "{:?}",
        server.banner
    );
    // Stdout is the banner alone: the logs are on stderr.
    assert!(
        server
            .banner
            .iter()
            .all(|l| !l.trim_start().starts_with('{')),
        "{:?}",
        server.banner
    );
    let console = server.line("Console");
    assert!(
        console.starts_with(&format!("{base}/console/sign-in/demo?token=")),
        "{console}"
    );
    assert!(console.contains("(one click signs you in)"), "{console}");
    assert_eq!(server.line("Storefront  "), format!("{base}/demo"));
    assert_eq!(server.line("API docs"), format!("{base}/docs"));
    let admin_key = server.line("Admin key");
    let storefront_key = server.line("Storefront key");
    assert!(admin_key.starts_with("tak_"), "{admin_key}");
    assert!(storefront_key.starts_with("tsk_"), "{storefront_key}");
    let operator = server.line("Operator token");
    let operator = operator.split_whitespace().next().unwrap().to_owned();
    assert!(operator.starts_with("top_"), "{operator}");
    let try_line = server.line("Try:");
    assert_eq!(
        try_line,
        format!("curl -s {base}/v1/catalog/items -H 'X-Api-Key: {storefront_key}'")
    );
    // Each secret once.
    let all = server.banner.join("\n");
    assert_eq!(all.matches(&admin_key).count(), 1, "{all}");
    assert_eq!(all.matches(&operator).count(), 1, "{all}");

    // The credentials are kept for the next run, readable by this user only.
    let saved = saved_credentials(&data_dir);
    assert_eq!(saved["admin_key"], admin_key.as_str());
    assert_eq!(saved["storefront_key"], storefront_key.as_str());
    let tenant_id = saved["tenant_id"].as_str().unwrap().to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(data_dir.join("demo-tenant.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The page and its assets, under a policy that allows no inline code.
    let res = http.get(format!("{base}/demo")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(content_type(&res).starts_with("text/html"), "{res:?}");
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = res.text().await.unwrap();
    for needle in [
        "/demo/assets/main.js",
        "/demo/assets/demo.css",
        "data-testid=\"catalog\"",
        "data-testid=\"cart\"",
        "data-testid=\"cart-total\"",
        "data-testid=\"checkout\"",
        "data-testid=\"device-b\"",
    ] {
        assert!(html.contains(needle), "{needle} missing from the page");
    }
    for (path, kind) in [
        ("/demo/assets/main.js", "text/javascript"),
        ("/demo/assets/dom.js", "text/javascript"),
        ("/demo/assets/session.js", "text/javascript"),
        ("/demo/assets/api.js", "text/javascript"),
        ("/demo/assets/cart.js", "text/javascript"),
        ("/demo/assets/catalog.js", "text/javascript"),
        ("/demo/assets/checkout.js", "text/javascript"),
        ("/demo/assets/login.js", "text/javascript"),
        ("/demo/assets/device_b.js", "text/javascript"),
        ("/demo/assets/demo.css", "text/css"),
    ] {
        let res = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(content_type(&res).starts_with(kind), "{path}: {res:?}");
        assert!(!res.text().await.unwrap().is_empty());
    }

    // What the page calls the API with.
    let config: Value = http
        .get(format!("{base}/demo/config.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["storefront_key"], storefront_key.as_str());
    assert_eq!(config["tenant_name"], "Demo Store");
    let items: Value = http
        .get(format!("{base}/v1/catalog/items?limit=100"))
        .header("X-Api-Key", &storefront_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = items["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    for category in ["grocery", "food", "medicine"] {
        assert!(
            items.iter().any(|i| i["category"] == category),
            "{category}"
        );
    }

    // A guest adding milk pays the grocery plugin's small-basket fee.
    let guest: Value = http
        .post(format!("{base}/v1/carts"))
        .header("X-Api-Key", &storefront_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cart: Value = http
        .post(format!(
            "{base}/v1/carts/{}/lines",
            guest["cart_id"].as_str().unwrap()
        ))
        .header("X-Api-Key", &storefront_key)
        .header("X-Cart-Token", guest["cart_token"].as_str().unwrap())
        .json(&json!({"sku": "MILK-1L", "quantity": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        cart["fees"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "grocery.small_basket"),
        "{cart}"
    );

    // The demo login signs a customer token the storefront API accepts.
    let login = |customer: &str| {
        http.post(format!("{base}/demo/login"))
            .json(&json!({"customer_id": customer}))
            .send()
    };
    let res = login("demo-customer").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let token: Value = res.json().await.unwrap();
    assert_eq!(token["customer_id"], "demo-customer");
    assert_eq!(token["token_type"], "Bearer");
    let token = token["token"].as_str().unwrap().to_owned();
    let res = http
        .post(format!("{base}/v1/carts"))
        .header("X-Api-Key", &storefront_key)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let customer_cart: Value = res.json().await.unwrap();
    assert_eq!(customer_cart["customer_id"], "demo-customer");
    let res = http
        .post(format!(
            "{base}/v1/carts/{}/merge",
            customer_cart["cart_id"].as_str().unwrap()
        ))
        .header("X-Api-Key", &storefront_key)
        .bearer_auth(&token)
        .json(&json!({
            "source_cart_id": guest["cart_id"],
            "source_cart_token": guest["cart_token"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let merged: Value = res.json().await.unwrap();
    assert_eq!(merged["outcomes"][0]["outcome"], "added", "{merged}");
    // A customer id that is not plain is refused, as a problem.
    let res = login("not plain <b>").await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(content_type(&res).starts_with("application/problem+json"));
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "invalid_input");
    server.stop();

    // Second run on the same data dir, with a configured operator token: the same tenant
    // and keys, no operator token in the banner, still one tenant.
    let server = serve(&data_dir, true, Some("demo-operator")).await;
    let base = server.base.clone();
    assert_eq!(server.line("Admin key"), admin_key);
    assert_eq!(server.line("Storefront key"), storefront_key);
    assert!(!server.has_line("Operator token"), "{:?}", server.banner);
    assert!(
        server.line("Tenant").contains("reused from"),
        "{:?}",
        server.banner
    );
    let tenants: Value = http
        .get(format!("{base}/v1/platform/tenants"))
        .bearer_auth("demo-operator")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tenants = tenants.as_array().unwrap();
    assert_eq!(tenants.len(), 1, "{tenants:?}");
    assert_eq!(tenants[0]["tenant_id"], tenant_id.as_str());
    // Nothing seeded twice.
    for (path, expected) in [
        ("/v1/admin/plugins", 3),
        ("/v1/admin/order-types", 3),
        ("/v1/admin/catalog/items?limit=100", 10),
    ] {
        let body: Value = http
            .get(format!("{base}{path}"))
            .bearer_auth(&admin_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let list = body
            .as_array()
            .or_else(|| body["items"].as_array())
            .unwrap_or_else(|| panic!("{path}: {body}"));
        assert_eq!(list.len(), expected, "{path}: {body}");
    }
    // The customer finds the cart of the first run.
    let token: Value = http
        .post(format!("{base}/demo/login"))
        .json(&json!({"customer_id": "demo-customer"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = http
        .get(format!("{base}/v1/customers/me/cart"))
        .header("X-Api-Key", &storefront_key)
        .bearer_auth(token["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cart: Value = res.json().await.unwrap();
    assert_eq!(cart["cart_id"], customer_cart["cart_id"]);
    assert_eq!(cart["lines"][0]["sku"], "MILK-1L");
    server.stop();
    std::fs::remove_dir_all(&data_dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_demo_there_is_no_shop() {
    let data_dir = scratch("no-demo");
    let server = serve(&data_dir, false, Some("op")).await;
    let http = reqwest::Client::new();
    let res = http
        .get(format!("{}/demo", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(content_type(&res).starts_with("text/html"), "{res:?}");
    let html = res.text().await.unwrap();
    assert!(html.contains("trolley serve --demo"), "{html}");
    let res = http
        .post(format!("{}/demo/login", server.base))
        .json(&json!({"customer_id": "demo-customer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(content_type(&res).starts_with("application/problem+json"));
    let problem: Value = res.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("trolley serve --demo"),
        "{problem}"
    );
    assert!(!data_dir.join("demo-tenant.json").exists());
    server.stop();
    std::fs::remove_dir_all(&data_dir).ok();
}
