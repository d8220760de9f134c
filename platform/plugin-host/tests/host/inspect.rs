//! Uploading: compile, check against the world and the import allow-list, describe.

use serde_json::json;
use trolley_core::domain::{PluginError, PluginLimits, Severity};
use trolley_core::ports::PluginRuntime;
use trolley_plugin_host::{SandboxPolicy, WasmRuntime};

use crate::support::{cart, guests, line_id, loaded};

#[tokio::test]
async fn the_real_plugins_describe_themselves() {
    let loaded = loaded();
    let runtime = &loaded.runtime;
    for (sha, order_type) in [
        (&loaded.grocery, "grocery"),
        (&loaded.food, "food"),
        (&loaded.medicine, "medicine"),
        (&loaded.hostile, "hostile"),
    ] {
        assert!(runtime.is_loaded(sha));
        let info = runtime.info(sha).unwrap();
        assert_eq!(info.order_type, order_type);
        assert!(!info.name.is_empty());
        assert_eq!(info.version.split('.').count(), 3, "{}", info.version);
        assert!(info.config_schema.is_object());
        // An empty configuration takes the defaults.
        runtime.check_config(&info, &json!({})).unwrap();
    }
    // Inspecting the same bytes again answers the same thing without compiling again.
    let before = runtime.stats().compiled_from_scratch;
    let again = runtime.inspect(&guests().grocery).await.unwrap();
    assert_eq!(again.sha256, loaded.grocery);
    assert_eq!(again.info.order_type, "grocery");
    assert_eq!(runtime.stats().compiled_from_scratch, before);
}

#[tokio::test]
async fn grocery_evaluates_a_cart() {
    let loaded = loaded();
    let mut small = cart(3);
    small.context.clear();
    let evaluation = loaded
        .runtime
        .evaluate(
            &loaded.grocery,
            &small,
            &json!({}),
            &PluginLimits::default(),
        )
        .await
        .unwrap();
    let fees: Vec<(&str, String)> = evaluation
        .fees
        .iter()
        .map(|f| (f.code.as_str(), f.amount.to_string()))
        .collect();
    assert!(
        fees.contains(&("grocery.small_basket", "2.99".to_owned())),
        "{fees:?}"
    );
    assert!(
        fees.contains(&("grocery.bags", "0.10".to_owned())),
        "{fees:?}"
    );
    // Line 0 is cold-chain and there is no delivery slot.
    let slot = evaluation
        .violations
        .iter()
        .find(|v| v.code == "grocery.delivery_slot_required")
        .unwrap();
    assert_eq!(slot.severity, Severity::BlockCheckout);
    assert_eq!(slot.line_id.unwrap().to_string(), line_id(0));
    assert!(
        evaluation
            .fulfillment
            .requirements
            .contains(&"cold_chain".to_owned())
    );
}

#[tokio::test]
async fn food_and_medicine_evaluate_a_cart() {
    let loaded = loaded();
    for sha in [&loaded.food, &loaded.medicine] {
        loaded
            .runtime
            .evaluate(sha, &cart(2), &json!({}), &PluginLimits::default())
            .await
            .unwrap();
    }
}

fn invalid(result: Result<impl std::fmt::Debug, PluginError>) -> String {
    match result {
        Err(PluginError::Invalid(message)) => message,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn a_component_of_another_world_is_refused() {
    let runtime = &loaded().runtime;
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
}

#[tokio::test]
async fn bytes_that_are_not_a_component_are_refused() {
    let runtime = &loaded().runtime;
    let grocery = &guests().grocery;
    // Not wasm at all, a truncated component, and an empty core module.
    let cases: [&[u8]; 4] = [
        b"PK\x03\x04 definitely a zip file",
        &grocery[..grocery.len() / 2],
        b"\0asm\x01\0\0\0",
        b"",
    ];
    for bytes in cases {
        let message = invalid(runtime.inspect(bytes).await);
        assert!(
            message.contains("not a valid WebAssembly component"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_component_with_a_host_import_is_refused() {
    // A hand-assembled component whose only item is `(import "steal-secrets" (func))`.
    let component: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, // component preamble
        0x07, 0x05, 0x01, 0x40, 0x00, 0x01, 0x00, // type section: func() -> ()
        0x0a, 0x12, 0x01, 0x00, 0x0d, b's', b't', b'e', b'a', b'l', b'-', b's', b'e', b'c', b'r',
        b'e', b't', b's', 0x01, 0x00, // import section: "steal-secrets" as func type 0
    ];
    let message = invalid(loaded().runtime.inspect(component).await);
    assert!(message.contains("`steal-secrets`"), "{message}");
    assert!(message.contains("no host capabilities"), "{message}");
}

#[tokio::test]
async fn modules_over_the_size_cap_are_refused() {
    let runtime = WasmRuntime::new(SandboxPolicy {
        max_module_bytes: 1000,
        ..SandboxPolicy::default()
    })
    .unwrap();
    let message = invalid(runtime.inspect(&guests().grocery).await);
    assert!(message.contains("at most 1000"), "{message}");
}

#[tokio::test]
async fn load_checks_the_hash_it_is_given() {
    let loaded = loaded();
    let grocery = &guests().grocery;
    // Known module, right bytes: nothing to do.
    loaded.runtime.load(&loaded.grocery, grocery).await.unwrap();
    // Known module, wrong bytes.
    let message = invalid(loaded.runtime.load(&loaded.grocery, &guests().food).await);
    assert!(message.contains("SHA-256"), "{message}");
    // Not a hash at all.
    let message = invalid(loaded.runtime.load("../../etc/passwd", grocery).await);
    assert!(message.contains("not a lowercase hex SHA-256"), "{message}");
}

#[tokio::test]
async fn evaluating_an_unknown_module_is_unavailable() {
    let result = loaded()
        .runtime
        .evaluate(
            &"0".repeat(64),
            &cart(1),
            &json!({}),
            &PluginLimits::default(),
        )
        .await;
    assert!(
        matches!(result, Err(PluginError::Unavailable(_))),
        "{result:?}"
    );
}
