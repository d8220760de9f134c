//! Fuel used per call is reported when the operator turns metering on, and only then.

use serde_json::json;
use trolley_core::domain::PluginLimits;
use trolley_core::ports::PluginRuntime;
use trolley_plugin_host::{SandboxPolicy, WasmRuntime};

use crate::support::{cached_policy, cart, guests, loaded};

#[tokio::test(flavor = "multi_thread")]
async fn fuel_used_is_reported_when_metering_is_on() {
    let runtime = WasmRuntime::new(SandboxPolicy {
        max_fuel: Some(500_000_000),
        ..cached_policy()
    })
    .unwrap();
    let sha = runtime.inspect(&guests().grocery).await.unwrap().sha256;
    let small = runtime
        .evaluate(&sha, &cart(1), &json!({}), &PluginLimits::default())
        .await
        .unwrap()
        .fuel_used
        .expect("metered calls report their fuel");
    assert!(small > 0);
    // More lines, more work: the figure measures the call, not a constant.
    let large = runtime
        .evaluate(&sha, &cart(200), &json!({}), &PluginLimits::default())
        .await
        .unwrap()
        .fuel_used
        .unwrap();
    assert!(large > small, "200 lines took {large}, 1 line {small}");
    // Deterministic: the same call costs the same fuel.
    let again = runtime
        .evaluate(&sha, &cart(1), &json!({}), &PluginLimits::default())
        .await
        .unwrap()
        .fuel_used;
    assert_eq!(again, Some(small));
}

#[tokio::test(flavor = "multi_thread")]
async fn no_fuel_figure_without_metering() {
    let loaded = loaded();
    assert_eq!(loaded.runtime.policy().max_fuel, None);
    let evaluation = loaded
        .runtime
        .evaluate(
            &loaded.grocery,
            &cart(5),
            &json!({}),
            &PluginLimits::default(),
        )
        .await
        .unwrap();
    assert_eq!(evaluation.fuel_used, None);
    // Even when the tenant asks for a fuel limit: without engine metering it is ignored.
    let evaluation = loaded
        .runtime
        .evaluate(
            &loaded.grocery,
            &cart(5),
            &json!({}),
            &PluginLimits {
                fuel: Some(1_000_000),
                ..PluginLimits::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(evaluation.fuel_used, None);
}
