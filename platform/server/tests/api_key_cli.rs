//! `trolley api-key …` (SPEC §14): the real binary against a real `trolley serve` on
//! SQLite, as an admin would run it: `TROLLEY_ADMIN_KEY` and `--url`, text for people,
//! `--json` for scripts, refusals on stderr with a non-zero exit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

const OPERATOR: &str = "cli-operator-token";

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

async fn serve() -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data_dir = std::env::temp_dir().join(format!("trolley-cli-{}", Uuid::new_v4().simple()));
    let child = Command::new(env!("CARGO_BIN_EXE_trolley"))
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(&data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("TROLLEY_OPERATOR_TOKEN", OPERATOR)
        .env("TROLLEY_SWEEP_INTERVAL_SECS", "0")
        .env("TROLLEY_WORKERS", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        base: format!("http://127.0.0.1:{port}"),
        child,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(res) = reqwest::get(format!("{}/health", server.base)).await
            && res.status() == StatusCode::OK
        {
            return server;
        }
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `trolley <args>` with `admin_key` in `TROLLEY_ADMIN_KEY`.
fn trolley(admin_key: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trolley"));
    cmd.args(args)
        .env_remove("TROLLEY_ADMIN_KEY")
        .env_remove("TROLLEY_URL")
        .env("RUST_LOG", "warn");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_create_list_and_revoke_through_the_binary() {
    let server = serve().await;
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{}/v1/platform/tenants", server.base))
        .bearer_auth(OPERATOR)
        .json(&json!({"name": "Cli", "currency": "USD"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let tenant: Value = res.json().await.unwrap();
    let admin = tenant["admin_key"].as_str().unwrap();
    let url = server.base.as_str();

    // Create, human output: the key is on stdout, once.
    let out = trolley(
        Some(admin),
        &[
            "api-key",
            "create",
            "--kind",
            "storefront",
            "--name",
            "cli key",
            "--url",
            url,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    let key = field("key");
    let key_id = field("key_id");
    assert!(key.starts_with("tsk_"), "{text}");
    assert_eq!(field("name"), "cli key");

    // The key works.
    let res = http
        .post(format!("{url}/v1/carts"))
        .header("X-Api-Key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    // List, both ways: the names, never a secret.
    let out = trolley(Some(admin), &["api-key", "list", "--url", url]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("KEY_ID"), "{text}");
    assert!(
        text.contains("cli key") && text.contains("initial admin key"),
        "{text}"
    );
    assert!(!text.contains(&key) && !text.contains(admin), "{text}");
    let out = trolley(Some(admin), &["api-key", "list", "--json", "--url", url]);
    assert!(out.status.success(), "{}", stderr(&out));
    let keys: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let listed = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_id"] == key_id.as_str())
        .unwrap();
    assert_eq!(listed["name"], "cli key");
    assert!(listed["last_used_at"].is_string());
    assert!(listed.get("key").is_none());

    // Revoke; the key stops working.
    let out = trolley(Some(admin), &["api-key", "revoke", &key_id, "--url", url]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), format!("revoked {key_id}"));
    let res = http
        .post(format!("{url}/v1/carts"))
        .header("X-Api-Key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Refusals: the problem on stderr, nothing on stdout, a failing exit.
    let own = tenant["admin_key_id"].as_str().unwrap();
    let out = trolley(Some(admin), &["api-key", "revoke", own, "--url", url]);
    assert!(!out.status.success());
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("409 cannot_revoke_own_key"),
        "{}",
        stderr(&out)
    );
    let out = trolley(None, &["api-key", "list", "--url", url]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("TROLLEY_ADMIN_KEY"),
        "{}",
        stderr(&out)
    );
    let out = trolley(Some("tak_wrong"), &["api-key", "list", "--url", url]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("401 unauthorized"),
        "{}",
        stderr(&out)
    );
}
