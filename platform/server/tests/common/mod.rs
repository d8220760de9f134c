//! What the tests that run real `trolley serve` processes share: ports, scratch
//! directories, fresh PostgreSQL databases and waiting for a node to answer.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod cluster;

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use uuid::Uuid;

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A new directory under the system temp dir, `trolley-<what>-<uuid>`.
pub fn scratch(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("trolley-{what}-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A new database on the suite's PostgreSQL (`TROLLEY_TEST_PG_URL`), named after this test
/// run (`TROLLEY_TEST_RUN`, so `scripts/test.sh` drops it afterwards); fails loudly when
/// PostgreSQL cannot be reached.
pub async fn fresh_postgres() -> String {
    let admin_url = std::env::var("TROLLEY_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is required for these tests and is unreachable at {admin_url}: {e}")
    });
    let name = format!(
        "trolley_test_{}{}",
        std::env::var("TROLLEY_TEST_RUN").unwrap_or_default(),
        Uuid::new_v4().simple()
    );
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    admin.close().await.ok();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

/// Waits (up to a minute) until the node at `base` answers `GET /health`.
pub async fn wait_healthy(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(res) = reqwest::get(format!("{base}/health")).await
            && res.status() == StatusCode::OK
        {
            return;
        }
        assert!(Instant::now() < deadline, "node at {base} did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
