//! Contract versions and what a call reports: 1.0.0 plugins keep working, 1.1 plugins log,
//! a failed call keeps its logs, `check` describes a module, released WIT never changes.

use serde_json::json;
use sha2::{Digest, Sha256};
use trolley_core::domain::{LogLevel, PluginError, PluginLimits};
use trolley_core::ports::PluginRuntime;
use trolley_plugin_host::WasmRuntime;

use crate::support::{cached_policy, cart, guests, line_id, loaded};

fn roomy() -> PluginLimits {
    PluginLimits {
        deadline_ms: 1000,
        ..PluginLimits::default()
    }
}

/// A released contract is frozen: its WIT must never change (add a `since_vX.Y.Z` instead).
#[test]
fn released_wit_files_never_change() {
    let wit = concat!(env!("CARGO_MANIFEST_DIR"), "/../../plugin-sdk/wit");
    for (version, sha256) in [
        (
            "1.0.0",
            "e1ee605ccbbebcb68d46083f5c19b7b89d1e44af1cdee0cd32349f38ad76caef",
        ),
        (
            "1.1.0",
            "7d291c9b3b76ea0c6642a062c7809b9e112a70177818115a2f4021b4d72cca05",
        ),
    ] {
        let path = format!("{wit}/since_v{version}/order-type.wit");
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            sha256,
            "{path} changed: released contracts are frozen"
        );
    }
    assert_eq!(trolley_plugin_host::CONTRACT_VERSIONS, ["1.1.0", "1.0.0"]);
}

#[tokio::test]
async fn a_contract_1_0_plugin_loads_and_evaluates() {
    let runtime = &loaded().runtime;
    let inspected = runtime.inspect(&guests().contract_v1_0).await.unwrap();
    assert_eq!(inspected.contract_version, "1.0.0");
    assert_eq!(inspected.info.order_type, "legacy");
    let call = runtime
        .run(&inspected.sha256, &cart(2), &json!({}), &roomy())
        .await;
    let evaluation = call.result.unwrap();
    assert_eq!(evaluation.fees[0].code, "legacy.flat");
    assert_eq!(evaluation.fees[0].amount.to_string(), "1.50");
    assert_eq!(evaluation.fulfillment.allowed_modes, ["delivery"]);
    assert!(call.report.logs.is_empty());
    assert!(call.report.peak_memory_bytes > 0);
    let empty = runtime
        .run(&inspected.sha256, &cart(0), &json!({}), &roomy())
        .await;
    let violation = &empty.result.unwrap().violations[0];
    assert_eq!(violation.code, "legacy.empty");
    assert_eq!(violation.field, None);
}

#[tokio::test]
async fn sdk_plugins_implement_contract_1_1_and_name_fields() {
    let loaded = loaded();
    let inspected = loaded.runtime.inspect(&guests().grocery).await.unwrap();
    assert_eq!(inspected.contract_version, "1.1.0");
    let mut cold = cart(1);
    cold.context.clear();
    let call = loaded
        .runtime
        .run(&loaded.grocery, &cold, &json!({}), &roomy())
        .await;
    let evaluation = call.result.unwrap();
    let violation = evaluation
        .violations
        .iter()
        .find(|v| v.code == "grocery.delivery_slot_required")
        .unwrap();
    assert_eq!(violation.field.as_deref(), Some("context.delivery_slot"));
    assert_eq!(violation.line_id.unwrap().to_string(), line_id(0));
    assert!(call.report.duration_us > 0);
    assert!(call.report.peak_memory_bytes >= 64 * 1024);
}

#[tokio::test]
async fn a_panic_keeps_its_log_and_names_the_panic() {
    let loaded = loaded();
    let call = loaded
        .runtime
        .run(
            &loaded.hostile,
            &cart(2),
            &json!({"mode": "panic"}),
            &roomy(),
        )
        .await;
    let Err(PluginError::Trapped(message)) = &call.result else {
        panic!("{:?}", call.result);
    };
    assert!(message.starts_with("panicked at "), "{message}");
    assert!(message.contains("hostile/src/lib.rs:"), "{message}");
    let logs = &call.report.logs;
    assert_eq!(logs[0].level, LogLevel::Info);
    assert_eq!(logs[0].message, "about to panic on purpose");
    assert_eq!(logs[1].level, LogLevel::Error);
    assert_eq!(&logs[1].message, message);
    assert_eq!(call.report.logs_dropped, 0);
    assert!(call.report.duration_us > 0);
}

#[tokio::test]
async fn check_reports_the_contract_exports_and_timing() {
    let runtime = WasmRuntime::new(cached_policy()).unwrap();
    let check = runtime.check(&guests().minimal).await.unwrap();
    assert_eq!(check.contract_version, "1.1.0");
    assert_eq!(check.world, "trolley:order-type/order-type@1.1.0");
    assert_eq!(check.exports, ["describe", "evaluate"]);
    assert!(
        check
            .imports
            .contains(&"trolley:order-type/host@1.1.0".to_owned()),
        "{:?}",
        check.imports
    );
    assert_eq!(check.info.order_type, "snacks");
    assert_eq!(check.size_bytes, guests().minimal.len() as u64);
    assert!(runtime.is_loaded(&check.sha256));
    let legacy = runtime.check(&guests().contract_v1_0).await.unwrap();
    assert_eq!(legacy.contract_version, "1.0.0");
    assert!(legacy.exports.contains(&"validate".to_owned()));
    let timed = |name: &str, check: &trolley_plugin_host::ModuleCheck| {
        println!(
            "compile from scratch: {name} {} ms to check, {} ms to serve",
            check.check_compile_ms, check.compile_ms
        );
    };
    timed("minimal", &check);
    timed("legacy", &legacy);
    for (name, wasm) in [
        ("grocery", &guests().grocery),
        ("food", &guests().food),
        ("medicine", &guests().medicine),
    ] {
        let check = runtime.check(wasm).await.unwrap();
        assert_eq!(check.contract_version, "1.1.0");
        timed(name, &check);
    }
}

#[tokio::test]
async fn a_component_without_exports_is_told_to_export_its_order_type() {
    // A component with no imports and no exports: what a crate without
    // `export_order_type!` amounts to.
    let empty: &[u8] = b"\0asm\x0d\0\x01\0";
    let runtime = &loaded().runtime;
    match runtime.inspect(empty).await {
        Err(PluginError::Invalid(message)) => {
            assert!(message.contains("it exports nothing"), "{message}");
            assert!(
                message.contains("did you forget `trolley_plugin_sdk::export_order_type!"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// Small modules upload, compile and instantiate faster: the example plugins stay within a
/// budget (sizes of the `wasm-guest` profile builds; see `plugin-sdk/README.md`).
#[test]
fn modules_stay_small() {
    let g = guests();
    for (name, wasm, budget) in [
        ("grocery", &g.grocery, EXAMPLE_BUDGET),
        ("food", &g.food, EXAMPLE_BUDGET),
        ("medicine", &g.medicine, EXAMPLE_BUDGET),
        ("minimal", &g.minimal, MINIMAL_BUDGET),
    ] {
        println!("{name}: {} bytes", wasm.len());
        assert!(
            wasm.len() <= budget,
            "{name} is {} bytes, over its {budget}-byte budget",
            wasm.len()
        );
    }
}

/// Bytes an example plugin may take (the size issue's target; food, the largest, is ~155 KB).
const EXAMPLE_BUDGET: usize = 200 * 1024;
/// Bytes the SDK's doc example may take (the size issue's target; it is ~92 KB).
const MINIMAL_BUDGET: usize = 100 * 1024;
