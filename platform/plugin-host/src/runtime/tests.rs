use std::collections::BTreeMap;

use trolley_core::domain::PluginLine;

use super::*;

fn hostile() -> Vec<u8> {
    let built = trolley_wasm_build::build_guests(&["trolley-plugin-hostile"])
        .unwrap_or_else(|message| panic!("cannot build the hostile fixture: {message}"));
    std::fs::read(&built[0].path).unwrap()
}

fn one_line() -> PluginCart {
    PluginCart {
        cart_id: "0190b3f0-0000-7000-8000-ffffffffffff".into(),
        currency: "EUR".into(),
        subtotal: rust_decimal::Decimal::new(250, 2),
        lines: vec![PluginLine {
            line_id: "0190b3f0-0000-7000-8000-000000000000".into(),
            sku: "SKU-1".into(),
            quantity: 1,
            unit_price: rust_decimal::Decimal::new(250, 2),
            category: "grocery".into(),
            seller: None,
            fulfillment: None,
            item_attributes: BTreeMap::new(),
            line_attributes: BTreeMap::new(),
        }],
        context: BTreeMap::new(),
    }
}

/// The check tier's code is cut by the deadline (epoch interruption) and by fuel like
/// the serving tier's, so an upload's `describe` runs under the same limits. Run on
/// check-tier code directly: no fixture loops in `describe`.
#[test]
fn check_tier_code_is_cut_by_the_deadline_and_by_fuel() {
    let wasm = hostile();
    for max_fuel in [None, Some(50_000_000)] {
        let runtime = WasmRuntime::new(SandboxPolicy {
            max_fuel,
            ..SandboxPolicy::default()
        })
        .unwrap();
        let component = runtime.checker.compile("hostile", &wasm).unwrap();
        let pre = runtime.checker.check(&component).unwrap();
        let tokio = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let call = tokio.block_on(async {
            let info = runtime.describe_checked(&pre).await.unwrap();
            let plugin = Plugin {
                sha256: "0".repeat(64),
                pre,
                info,
            };
            let limits = runtime.policy.clamp(&PluginLimits {
                deadline_ms: 50,
                fuel: Some(1_000_000),
                ..PluginLimits::default()
            });
            call::evaluate(
                &call::evaluate_span(&plugin, 1),
                &runtime.check_sandbox,
                &runtime.counters,
                &plugin,
                &one_line(),
                r#"{"mode": "loop"}"#,
                &limits,
            )
            .await
        });
        assert_eq!(call.result, Err(PluginError::DeadlineExceeded));
        // With fuel on, fuel ran out (all of it used) well before the deadline.
        let expected_fuel = max_fuel.map(|_| 1_000_000);
        assert_eq!(call.report.fuel_used, expected_fuel);
    }
}
