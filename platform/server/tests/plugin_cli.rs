//! `trolley plugin …` (SPEC §14) through the real binary: the local runner on every example
//! and hostile mode, `check`, and a tenant shipping and debugging a plugin over HTTP against
//! a real `trolley serve` on PostgreSQL — upload, a refused activation, a failure's run record
//! with its panic message and log line, a replay against a fixed build, rollback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use common::{free_port, fresh_postgres, scratch, wait_healthy};

const OPERATOR: &str = "plugin-cli-operator-token";

/// The guests these tests run, built (or found already built) from this repository.
fn guests() -> std::collections::HashMap<String, PathBuf> {
    trolley_wasm_build::build_guests(&[
        "trolley-plugin-grocery",
        "trolley-plugin-food",
        "trolley-plugin-medicine",
        "trolley-plugin-hostile",
        "trolley-plugin-hostile-fixed",
        "trolley-plugin-contract-v1-0",
    ])
    .unwrap()
    .into_iter()
    .map(|g| {
        (
            g.package.trim_start_matches("trolley-plugin-").to_owned(),
            g.path,
        )
    })
    .collect()
}

/// Runs `trolley <args>` in `dir` with `admin_key` in `TROLLEY_ADMIN_KEY`.
fn trolley(dir: &Path, admin_key: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trolley"));
    cmd.current_dir(dir)
        .args(args)
        .env_remove("TROLLEY_ADMIN_KEY")
        .env_remove("TROLLEY_URL")
        .env_remove("RUST_LOG");
    if let Some(key) = admin_key {
        cmd.env("TROLLEY_ADMIN_KEY", key);
    }
    cmd.output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        stdout(out),
        stderr(out)
    );
    stdout(out)
}

fn write(dir: &Path, name: &str, value: &Value) -> String {
    std::fs::write(dir.join(name), value.to_string()).unwrap();
    name.to_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn plugin_run_and_check_work_on_local_files() {
    let g = guests();
    let dir = scratch("plugin-run");
    let cart = write(
        &dir,
        "cart.json",
        &json!({
            "currency": "USD",
            "lines": [
                {"sku": "MILK", "quantity": 2, "unit_price": "1.20", "category": "dairy",
                 "item_attributes": {"cold_chain": "true"}},
            ],
        }),
    );
    // Grocery: the fee, the violation naming the field, the report; no log lines mixed in.
    let text = ok(&trolley(
        &dir,
        None,
        &["plugin", "run", path(&g["grocery"]), "--cart", &cart],
    ));
    assert!(
        text.starts_with("plugin  grocery 0.1.0 (contract 1.1.0"),
        "{text}"
    );
    assert!(text.contains("result  ok"), "{text}");
    assert!(text.contains("grocery.small_basket"), "{text}");
    assert!(
        text.contains("grocery.delivery_slot_required")
            && text.contains("field context.delivery_slot"),
        "{text}"
    );
    assert!(text.contains("peak memory"), "{text}");
    assert!(
        !text.contains("\"level\""),
        "no JSON log lines on stdout: {text}"
    );
    // The context file clears the violation; JSON for scripts.
    let ctx = write(&dir, "ctx.json", &json!({"delivery_slot": "18-20"}));
    let out = ok(&trolley(
        &dir,
        None,
        &[
            "plugin",
            "run",
            path(&g["grocery"]),
            "--cart",
            &cart,
            "--context",
            &ctx,
            "--json",
        ],
    ));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["plugin"]["contract_version"], "1.1.0");
    assert_eq!(v["evaluation"]["violations"], json!([]));
    assert!(v["report"]["duration_us"].as_u64().unwrap() > 0);
    assert!(v["report"]["peak_memory_bytes"].as_u64().unwrap() > 0);
    // Food and medicine answer too.
    for plugin in ["food", "medicine"] {
        let text = ok(&trolley(
            &dir,
            None,
            &["plugin", "run", path(&g[plugin]), "--cart", &cart],
        ));
        assert!(text.contains("result  ok"), "{plugin}: {text}");
    }
    // A config the schema refuses is refused as activation would, naming the field.
    let bad = write(&dir, "bad.json", &json!({"max_total_quantity": 0}));
    let out = trolley(
        &dir,
        None,
        &[
            "plugin",
            "run",
            path(&g["grocery"]),
            "--cart",
            &cart,
            "--config",
            &bad,
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("max_total_quantity"),
        "{}",
        stderr(&out)
    );
    // Every hostile mode: a non-zero exit and the reason.
    for (mode, reason) in [
        ("loop", "deadline"),
        ("alloc", "memory"),
        ("trap", "trapped"),
        ("panic", "panics on purpose"),
        ("bad_decimal", "12,5abc"),
        ("huge_output", "exceeded"),
        ("unknown_line", "no-such-line"),
    ] {
        let config = write(&dir, "mode.json", &json!({"mode": mode}));
        let out = trolley(
            &dir,
            None,
            &[
                "plugin",
                "run",
                path(&g["hostile"]),
                "--cart",
                &cart,
                "--config",
                &config,
            ],
        );
        assert!(!out.status.success(), "{mode}");
        assert!(
            stdout(&out).contains("result  FAILED"),
            "{mode}: {}",
            stdout(&out)
        );
        assert!(
            stderr(&out).contains("the plugin call failed") && stderr(&out).contains(reason),
            "{mode}: {}",
            stderr(&out)
        );
    }
    // The panic's log lines are shown.
    let config = write(&dir, "mode.json", &json!({"mode": "panic"}));
    let text = stdout(&trolley(
        &dir,
        None,
        &[
            "plugin",
            "run",
            path(&g["hostile"]),
            "--cart",
            &cart,
            "--config",
            &config,
        ],
    ));
    assert!(text.contains("info  about to panic on purpose"), "{text}");
    assert!(text.contains("error panicked at"), "{text}");

    // check: the contract, exports, size and compile time; a 1.0.0 module still loads.
    let text = ok(&trolley(
        &dir,
        None,
        &["plugin", "check", path(&g["grocery"])],
    ));
    assert!(text.contains("contract    1.1.0"), "{text}");
    assert!(text.contains("exports     describe, evaluate"), "{text}");
    assert!(text.contains("compile     "), "{text}");
    let text = ok(&trolley(
        &dir,
        None,
        &["plugin", "check", path(&g["contract-v1-0"])],
    ));
    assert!(text.contains("contract    1.0.0"), "{text}");
    let out = ok(&trolley(
        &dir,
        None,
        &["plugin", "run", path(&g["contract-v1-0"]), "--cart", &cart],
    ));
    assert!(out.contains("legacy.flat"), "{out}");
    // Not a plugin: said so, non-zero.
    std::fs::write(dir.join("core.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let out = trolley(&dir, None, &["plugin", "check", "core.wasm"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("wasm32-wasip2"), "{}", stderr(&out));
}

struct Server {
    base: String,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

async fn serve_on_postgres() -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_trolley"))
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(scratch("plugin-cli-data"))
        .env("DATABASE_URL", fresh_postgres().await)
        .env_remove("REDIS_URL")
        .env("TROLLEY_OPERATOR_TOKEN", OPERATOR)
        .env("TROLLEY_SWEEP_INTERVAL_SECS", "0")
        .env("TROLLEY_RELAY_INTERVAL_MS", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        base: format!("http://127.0.0.1:{port}"),
        child,
    };
    wait_healthy(&server.base).await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_ships_and_debugs_a_plugin_over_http() {
    let g = guests();
    let server = serve_on_postgres().await;
    let url = server.base.as_str();
    let dir = scratch("plugin-cli");
    let http = reqwest::Client::new();
    let tenant: Value = http
        .post(format!("{url}/v1/platform/tenants"))
        .bearer_auth(OPERATOR)
        .json(&json!({"name": "Plugins", "currency": "USD"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = tenant["admin_key"].as_str().unwrap();
    let storefront = tenant["storefront_key"].as_str().unwrap();
    let res = http
        .put(format!("{url}/v1/admin/config"))
        .bearer_auth(admin)
        .json(&json!({"category_order_types": {"hostile": "hostile"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = http
        .put(format!("{url}/v1/admin/catalog/items/X"))
        .bearer_auth(admin)
        .json(&json!({"price": "1.00", "category": "hostile"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());

    // Upload and activate in one command; human output.
    let ok_config = write(&dir, "ok.json", &json!({"mode": "ok"}));
    let text = ok(&trolley(
        &dir,
        Some(admin),
        &[
            "plugin",
            "upload",
            path(&g["hostile"]),
            "--activate",
            "--config",
            &ok_config,
            "--url",
            url,
        ],
    ));
    assert!(text.starts_with("uploaded hostile 0.1.0"), "{text}");
    assert!(
        text.contains("contract 1.1.0, exports describe, evaluate"),
        "{text}"
    );
    assert!(text.contains("activated"), "{text}");
    let list = ok(&trolley(
        &dir,
        Some(admin),
        &["plugin", "list", "--json", "--url", url],
    ));
    let list: Value = serde_json::from_str(&list).unwrap();
    let plugin_id = list["plugins"][0]["plugin_id"].as_str().unwrap().to_owned();

    // A shopper's cart.
    let cart: Value = http
        .post(format!("{url}/v1/carts"))
        .header("X-Api-Key", storefront)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (cart_id, token) = (
        cart["cart_id"].as_str().unwrap().to_owned(),
        cart["cart_token"].as_str().unwrap().to_owned(),
    );
    let res = http
        .post(format!("{url}/v1/carts/{cart_id}/lines"))
        .header("X-Api-Key", storefront)
        .header("X-Cart-Token", &token)
        .json(&json!({"sku": "X", "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // A config that breaks every cart is refused, naming the cart and the reason.
    let panic_config = write(&dir, "panic.json", &json!({"mode": "panic"}));
    let out = trolley(
        &dir,
        Some(admin),
        &[
            "plugin",
            "activate",
            "hostile",
            "--plugin-id",
            &plugin_id,
            "--config",
            &panic_config,
            "--url",
            url,
        ],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("409 activation_check_failed"), "{err}");
    assert!(err.contains(&format!("cart {cart_id}: trapped")), "{err}");
    assert!(err.contains("panics on purpose"), "{err}");
    // Forced, the shopper sees a 502 naming the run.
    ok(&trolley(
        &dir,
        Some(admin),
        &[
            "plugin",
            "activate",
            "hostile",
            "--plugin-id",
            &plugin_id,
            "--config",
            &panic_config,
            "--force",
            "--url",
            url,
        ],
    ));
    let res = http
        .get(format!("{url}/v1/carts/{cart_id}"))
        .header("X-Api-Key", storefront)
        .header("X-Cart-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    let problem: Value = res.json().await.unwrap();
    let run_id = problem["run_id"].as_str().unwrap().to_owned();

    // The tenant finds it among the failed runs and reads it whole.
    let text = ok(&trolley(
        &dir,
        Some(admin),
        &["plugin", "runs", "hostile", "--failed", "--url", url],
    ));
    assert!(text.contains(&run_id), "{text}");
    assert!(text.contains("FAILED trapped"), "{text}");
    let text = ok(&trolley(
        &dir,
        Some(admin),
        &["plugin", "runs", "hostile", &run_id, "--url", url],
    ));
    assert!(text.contains("panics on purpose"), "{text}");
    assert!(text.contains("info  about to panic on purpose"), "{text}");
    assert!(text.contains(&cart_id), "{text}");

    // Replayed against the fixed build: it answers now.
    let text = ok(&trolley(
        &dir,
        Some(admin),
        &[
            "plugin",
            "replay",
            &run_id,
            "--with",
            path(&g["hostile-fixed"]),
            "--url",
            url,
        ],
    ));
    assert!(text.contains("fixed: was trapped"), "{text}");
    assert!(text.contains("panic mode is fixed in this build"), "{text}");
    // Against the broken build it still fails, and says so.
    let out = trolley(
        &dir,
        Some(admin),
        &[
            "plugin",
            "replay",
            &run_id,
            "--with",
            path(&g["hostile"]),
            "--url",
            url,
        ],
    );
    assert!(!out.status.success());
    assert!(stdout(&out).contains("still fails"), "{}", stdout(&out));

    // Ship the fix, keeping the config; then roll back to it from the broken one.
    let text = ok(&trolley(
        &dir,
        Some(admin),
        &[
            "plugin",
            "upload",
            path(&g["hostile-fixed"]),
            "--activate",
            "--url",
            url,
        ],
    ));
    assert!(
        text.contains("activated") && text.contains("0.2.0"),
        "{text}"
    );
    assert!(
        text.contains(r#"{"mode":"panic"}"#),
        "the config was kept: {text}"
    );
    let res = http
        .get(format!("{url}/v1/carts/{cart_id}"))
        .header("X-Api-Key", storefront)
        .header("X-Cart-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = ok(&trolley(
        &dir,
        Some(admin),
        &["plugin", "rollback", "hostile", "--url", url],
    ));
    assert!(text.starts_with("rolled back to"), "{text}");
    assert!(text.contains("0.1.0"), "{text}");

    // Without a key: said what to set.
    let out = trolley(&dir, None, &["plugin", "list", "--url", url]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("TROLLEY_ADMIN_KEY"),
        "{}",
        stderr(&out)
    );
}

/// `trolley plugin new` makes a crate that tests, builds and runs as it is, outside this
/// workspace (against this checkout's SDK, with this workspace's lockfile so no new crate
/// versions are fetched).
#[test]
fn a_new_plugin_tests_builds_and_runs_as_it_is() {
    let dir = scratch("plugin-new");
    let out = ok(&trolley(&dir, None, &["plugin", "new", "snacks"]));
    assert!(
        out.contains("cargo build --release --target wasm32-wasip2"),
        "{out}"
    );
    let crate_dir = dir.join("snacks");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::copy(root.join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("plugin-new");
    let cargo = |args: &[&str]| {
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(&crate_dir)
            .args(args)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("RUSTC_WRAPPER")
            .env_remove("RUSTC_WORKSPACE_WRAPPER")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo {args:?}\n{}\n{}",
            stdout(&out),
            stderr(&out)
        );
    };
    cargo(&["test", "--quiet"]);
    assert!(
        crate_dir.join("config.schema.json").is_file(),
        "the test wrote the schema"
    );
    cargo(&["build", "--release", "--target", "wasm32-wasip2", "--quiet"]);
    let wasm = target.join("wasm32-wasip2/release/snacks.wasm");
    let text = ok(&trolley(
        &crate_dir,
        None,
        &[
            "plugin",
            "run",
            path(&wasm),
            "--cart",
            "cart.json",
            "--config",
            "config.json",
        ],
    ));
    assert!(
        text.starts_with("plugin  snacks 0.1.0 (contract 1.1.0"),
        "{text}"
    );
    assert!(
        text.contains("snacks.min_order") && text.contains("snacks.packaging"),
        "{text}"
    );
    assert!(
        text.contains("info  subtotal 5.00 is below 10.00"),
        "{text}"
    );
    // A name that cannot be an order type, and an existing folder, are refused.
    let out = trolley(&dir, None, &["plugin", "new", "Snacks"]);
    assert!(!out.status.success());
    let out = trolley(&dir, None, &["plugin", "new", "snacks"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
}
