//! Two compile tiers: an upload is checked with the check tier's code, which never serves;
//! the serving tier compiles it in the background, and a `load` waits for that compile
//! instead of compiling again.

use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest, Sha256};
use trolley_core::domain::{PluginError, PluginLimits};
use trolley_core::ports::PluginRuntime;
use trolley_plugin_host::{SandboxPolicy, WasmRuntime};

use crate::support::{TempDir, cart, guests};

fn fresh(dir: Option<&TempDir>) -> WasmRuntime {
    WasmRuntime::new(SandboxPolicy {
        cache_dir: dir.map(|d| d.0.clone()),
        ..SandboxPolicy::default()
    })
    .unwrap()
}

fn sha256(wasm: &[u8]) -> String {
    hex::encode(Sha256::digest(wasm))
}

/// Waits (without a time assertion) until the background serving compile made the module
/// ready.
async fn until_loaded(runtime: &WasmRuntime, sha: &str) {
    for _ in 0..6000 {
        if runtime.is_loaded(sha) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the serving compile of {sha} never finished");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_is_checked_by_the_check_tier_and_served_by_the_serving_tier() {
    let dir = TempDir::new("tiers");
    let runtime = fresh(Some(&dir));
    let wasm = &guests().grocery;
    let inspected = runtime.inspect(wasm).await.unwrap();
    assert_eq!(inspected.info.order_type, "grocery");
    assert_eq!(runtime.stats().check_compiles, 1);
    // Known (its description is) before it serves.
    assert_eq!(
        runtime.info(&inspected.sha256).unwrap().order_type,
        "grocery"
    );

    until_loaded(&runtime, &inspected.sha256).await;
    let stats = runtime.stats();
    assert_eq!(
        (stats.check_compiles, stats.compiled_from_scratch),
        (1, 1),
        "{stats:?}"
    );
    // The background compile wrote the serving artifact.
    let artifacts: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .flat_map(|engine_dir| std::fs::read_dir(engine_dir.unwrap().path()).unwrap())
        .map(|file| file.unwrap().path())
        .collect();
    assert_eq!(artifacts.len(), 1, "{artifacts:?}");

    // A later load (activation) uses the serving tier's code without compiling again.
    runtime.load(&inspected.sha256, wasm).await.unwrap();
    runtime
        .evaluate(
            &inspected.sha256,
            &cart(5),
            &json!({}),
            &PluginLimits::default(),
        )
        .await
        .unwrap();
    let stats = runtime.stats();
    assert_eq!(
        (
            stats.check_compiles,
            stats.compiled_from_scratch,
            stats.waited_for_compile,
            stats.loaded_from_artifact
        ),
        (1, 1, 0, 0),
        "{stats:?}"
    );

    // Uploading the same bytes again compiles nothing.
    runtime.inspect(wasm).await.unwrap();
    assert_eq!(runtime.stats().check_compiles, 1);
    assert_eq!(runtime.stats().compiled_from_scratch, 1);

    // After a restart, an upload of a module with a serving artifact loads it: no check
    // compile either.
    let restarted = fresh(Some(&dir));
    restarted.inspect(wasm).await.unwrap();
    assert!(restarted.is_loaded(&inspected.sha256));
    let stats = restarted.stats();
    assert_eq!(
        (
            stats.check_compiles,
            stats.compiled_from_scratch,
            stats.loaded_from_artifact
        ),
        (0, 0, 1),
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_load_right_after_an_upload_waits_for_its_serving_compile() {
    let runtime = fresh(None);
    let wasm = &guests().food;
    let sha = runtime.inspect(wasm).await.unwrap().sha256;
    // Activation on this node, a call, and another node's load of the same module: none
    // compiles it a second time.
    let (two_lines, config, limits) = (cart(2), json!({}), PluginLimits::default());
    let (load, again, call) = tokio::join!(
        runtime.load(&sha, wasm),
        runtime.load(&sha, wasm),
        runtime.evaluate(&sha, &two_lines, &config, &limits)
    );
    load.unwrap();
    again.unwrap();
    call.unwrap();
    assert!(runtime.is_loaded(&sha));
    let stats = runtime.stats();
    assert_eq!(
        (stats.check_compiles, stats.compiled_from_scratch),
        (1, 1),
        "{stats:?}"
    );
    println!(
        "waited for the serving compile: {} of 3",
        stats.waited_for_compile
    );
    // Still refused: other bytes under its name.
    let other = runtime.load(&sha, &guests().medicine).await;
    assert!(
        matches!(&other, Err(PluginError::Invalid(m)) if m.contains("SHA-256")),
        "{other:?}"
    );
}

#[test]
fn a_serving_compile_that_never_ran_is_done_by_the_next_load() {
    let runtime = fresh(None);
    let wasm = &guests().medicine;
    let sha = sha256(wasm);
    // The tokio runtime that was to run the background compile shuts down right after the
    // upload; whether or not the compile had started, the module ends up compiled once.
    let upload = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    upload.block_on(runtime.inspect(wasm)).unwrap();
    drop(upload);
    let serving = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    serving.block_on(runtime.load(&sha, wasm)).unwrap();
    assert!(runtime.is_loaded(&sha));
    assert_eq!(runtime.stats().compiled_from_scratch, 1);
    serving
        .block_on(runtime.evaluate(&sha, &cart(2), &json!({}), &PluginLimits::default()))
        .unwrap();
}

fn invalid(result: Result<impl std::fmt::Debug, PluginError>) -> String {
    match result {
        Err(PluginError::Invalid(message)) => message,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_uploads_fail_the_check_tier_for_the_same_reasons() {
    let dir = TempDir::new("tiers-hostile");
    let runtime = fresh(Some(&dir));
    let message = invalid(runtime.inspect(&guests().wrong_world).await);
    assert!(
        message.contains("does not implement the trolley:order-type world"),
        "{message}"
    );
    assert!(
        message.contains("lacks `describe`, `evaluate`"),
        "{message}"
    );
    assert!(message.contains("(it exports `hello`)"), "{message}");
    // Refused by the check tier: nothing was compiled for serving, nothing kept.
    let stats = runtime.stats();
    assert_eq!(
        (stats.check_compiles, stats.compiled_from_scratch),
        (1, 0),
        "{stats:?}"
    );
    assert!(!runtime.is_loaded(&sha256(&guests().wrong_world)));
    assert!(runtime.info(&sha256(&guests().wrong_world)).is_none());

    // The serving tier (a load) refuses it with the same words.
    let loaded = invalid(
        runtime
            .load(&sha256(&guests().wrong_world), &guests().wrong_world)
            .await,
    );
    assert_eq!(loaded, message);

    let grocery = &guests().grocery;
    for bytes in [&grocery[..grocery.len() / 2], b"\0asm\x01\0\0\0".as_slice()] {
        let message = invalid(runtime.inspect(bytes).await);
        assert!(
            message.contains("not a valid WebAssembly component"),
            "{message}"
        );
    }
    // The hostile fixture misbehaves only when it evaluates: its upload passes.
    let hostile = runtime.inspect(&guests().hostile).await.unwrap();
    assert_eq!(hostile.info.order_type, "hostile");
    runtime
        .load(&hostile.sha256, &guests().hostile)
        .await
        .unwrap();
    let looping = runtime
        .evaluate(
            &hostile.sha256,
            &cart(1),
            &json!({"mode": "loop"}),
            &PluginLimits {
                deadline_ms: 20,
                ..PluginLimits::default()
            },
        )
        .await;
    assert_eq!(looping, Err(PluginError::DeadlineExceeded));
}

/// `describe` of an upload runs under the same limits in the check tier as in the serving
/// tier: the same refusals, word for word.
#[tokio::test(flavor = "multi_thread")]
async fn the_check_tier_describes_under_the_same_limits() {
    let wasm = &guests().grocery;
    let sha = sha256(wasm);
    for policy in [
        // Less memory than the guest's stack and data.
        SandboxPolicy {
            describe_limits: PluginLimits {
                memory_bytes: 64 * 1024,
                ..PluginLimits::default()
            },
            ..SandboxPolicy::default()
        },
        // Fuel for a few instructions.
        SandboxPolicy {
            max_fuel: Some(1_000),
            ..SandboxPolicy::default()
        },
    ] {
        let checked = invalid(
            WasmRuntime::new(policy.clone())
                .unwrap()
                .inspect(wasm)
                .await,
        );
        let served = invalid(WasmRuntime::new(policy).unwrap().load(&sha, wasm).await);
        assert!(checked.starts_with("describe failed: "), "{checked}");
        assert_eq!(checked, served);
    }
}

/// What an upload waits for (the check tier) and what the serving compile takes after it,
/// per module: `cargo test --release -p trolley-plugin-host --test host tiers::upload_latency
/// -- --nocapture --test-threads 1`. Printed, not asserted.
#[tokio::test(flavor = "multi_thread")]
async fn upload_latency() {
    let g = guests();
    for (name, wasm) in [
        ("minimal", &g.minimal),
        ("grocery", &g.grocery),
        ("food", &g.food),
        ("medicine", &g.medicine),
        ("contract-v1_0", &g.contract_v1_0),
    ] {
        let runtime = fresh(None);
        let started = Instant::now();
        let sha = runtime.inspect(wasm).await.unwrap().sha256;
        let inspect = started.elapsed();
        runtime.load(&sha, wasm).await.unwrap();
        let ready = started.elapsed();
        println!(
            "{name}: upload check {:.1} ms, serving {:.1} ms after the upload started",
            inspect.as_secs_f64() * 1e3,
            ready.as_secs_f64() * 1e3,
        );
    }
}
