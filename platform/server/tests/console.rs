//! The console and the demo storefront in a real headless Chromium (SPEC §12, issue 18): a
//! real `trolley serve --demo` on PostgreSQL, driven by `platform/console/e2e` (Node's test
//! runner and `playwright-core` pointed at Debian's Chromium) with what the server's banner
//! printed: the demo tenant's keys and the one-click console link.
//!
//! The browser tests need Node.js, the package's npm dependencies and Chromium;
//! `scripts/test.sh` installs them. Missing, the test fails and says what to install.
//! Screenshots of the main pages land in `target/console-screenshots/` (git-ignored).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{free_port, fresh_postgres, scratch, wait_healthy};

const OPERATOR: &str = "console-e2e-operator-token";

fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../console/e2e")
}

fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots")
}

/// A `trolley serve --demo` process, killed when dropped (a failed assertion included).
struct Server {
    child: Child,
    base: String,
    /// Everything the process printed on stdout so far (the banner).
    stdout: Arc<Mutex<String>>,
    /// Its JSON log lines, shown when the test fails.
    log: PathBuf,
    dir: PathBuf,
}

impl Server {
    async fn start() -> Self {
        let database_url = fresh_postgres().await;
        let dir = scratch("console-e2e");
        let log = dir.join("server.log");
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_trolley"))
            .arg("serve")
            .arg("--demo")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(["--database-url", &database_url])
            .args(["--operator-token", OPERATOR])
            .env_remove("REDIS_URL")
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let stdout = Arc::new(Mutex::new(String::new()));
        let pipe = child.stdout.take().unwrap();
        let sink = stdout.clone();
        // Drained to the end, so the process never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stdout,
            log,
            dir,
        };
        wait_healthy(&server.base).await;
        server
    }

    fn printed(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// The banner, once the demo tenant's keys and the listening line are printed (or a
    /// minute passed: what is missing is then named by the caller).
    async fn banner(&mut self) -> Banner {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = self.printed();
            let banner = Banner::parse(&text);
            let complete = banner.admin_key.is_some()
                && banner.storefront_key.is_some()
                && (banner.demo_link.is_some() || text.contains("listening"));
            if complete || Instant::now() > deadline {
                return banner;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "trolley serve --demo exited ({status}) before printing its banner:\n{text}\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The server's last log lines, access lines aside (the browser's requests are many).
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| !l.contains("\"target\":\"trolley::access\""))
            .collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// What the banner says, read tolerantly (its layout is for people).
#[derive(Debug, Default, PartialEq)]
struct Banner {
    admin_key: Option<String>,
    storefront_key: Option<String>,
    demo_link: Option<String>,
}

impl Banner {
    fn parse(text: &str) -> Self {
        Banner {
            admin_key: hex_token(text, "tak_"),
            storefront_key: hex_token(text, "tsk_"),
            demo_link: demo_link(text),
        }
    }
}

/// The first `prefix` followed by lowercase hex digits (`tak_[0-9a-f]+`).
fn hex_token(text: &str, prefix: &str) -> Option<String> {
    text.match_indices(prefix).find_map(|(at, _)| {
        let digits: String = text[at + prefix.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || ('a'..='f').contains(c))
            .collect();
        (!digits.is_empty()).then(|| format!("{prefix}{digits}"))
    })
}

/// The one-click console link (`http://…/console/sign-in/demo?token=…`), up to whitespace.
fn demo_link(text: &str) -> Option<String> {
    let at = text.find("/console/sign-in/demo?token=")?;
    let start = text[..at]
        .rfind(|c: char| c.is_whitespace() || c == '(' || c == '<')
        .map_or(0, |i| i + 1);
    let end = text[at..]
        .find(|c: char| c.is_whitespace() || c == ')' || c == '>')
        .map_or(text.len(), |i| at + i);
    let link = &text[start..end];
    link.starts_with("http").then(|| link.to_owned())
}

#[test]
fn the_banner_is_read_tolerantly() {
    let text = "Demo tenant \"Demo Store\" is ready.\n  Admin key        tak_0a1b\n  storefront key:  tsk_ff00 \n  Console  http://127.0.0.1:8080/console/sign-in/demo?token=abc_12 (one click)\n";
    assert_eq!(
        Banner::parse(text),
        Banner {
            admin_key: Some("tak_0a1b".into()),
            storefront_key: Some("tsk_ff00".into()),
            demo_link: Some("http://127.0.0.1:8080/console/sign-in/demo?token=abc_12".into()),
        }
    );
    assert_eq!(Banner::parse("no keys here tak_"), Banner::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_and_the_demo_storefront_work_in_a_real_browser() {
    assert!(
        e2e_dir().join("node_modules/playwright-core").is_dir(),
        "platform/console/e2e has no node_modules: run `npm ci --prefix platform/console/e2e` (scripts/test.sh does)"
    );
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "Chromium is required for the console's browser tests and is missing at {chromium} (scripts/test.sh installs Debian's chromium; CHROMIUM_PATH overrides)"
    );
    let grocery = env!("TROLLEY_PLUGIN_GROCERY_WASM");
    assert!(
        Path::new(grocery).is_file(),
        "the grocery plugin is not built at {grocery}"
    );
    let screenshots = screenshot_dir();
    std::fs::create_dir_all(&screenshots).unwrap();

    let mut server = Server::start().await;
    let banner = server.banner().await;
    let printed = server.printed();
    println!("--- trolley serve --demo printed:\n{printed}---");
    let admin_key = banner
        .admin_key
        .clone()
        .unwrap_or_else(|| panic!("the --demo banner printed no admin key (tak_…):\n{printed}"));
    let storefront_key = banner.storefront_key.clone().unwrap_or_else(|| {
        panic!("the --demo banner printed no storefront key (tsk_…):\n{printed}")
    });
    // Missing, the browser flow that follows the link fails and says so; the rest still run.
    let demo_link = banner.demo_link.clone().unwrap_or_default();
    if demo_link.is_empty() {
        println!(
            "the --demo banner printed no one-click console link (/console/sign-in/demo?token=…)"
        );
    }

    let out = Command::new("npm")
        .args(["test", "--prefix"])
        .arg(e2e_dir())
        .env("TROLLEY_URL", &server.base)
        .env("TROLLEY_ADMIN_KEY", &admin_key)
        .env("TROLLEY_STOREFRONT_KEY", &storefront_key)
        .env("TROLLEY_DEMO_LINK", &demo_link)
        .env("TROLLEY_OPERATOR_TOKEN", OPERATOR)
        .env("CHROMIUM_PATH", &chromium)
        .env("GROCERY_WASM", grocery)
        .env("SCREENSHOT_DIR", &screenshots)
        .output()
        .unwrap_or_else(|e| {
            panic!("npm is required for the console's browser tests (scripts/test.sh installs Node.js): {e}")
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprint!("{stderr}");
    println!("screenshots: {}", screenshots.display());
    assert!(
        out.status.success(),
        "the console's browser tests failed (output above; screenshots in {}); the server's last log lines:\n{}",
        screenshots.display(),
        server.log_tail()
    );
}
