//! Tenant configurations against a plugin's JSON Schema.

use serde_json::json;
use trolley_core::domain::PluginError;
use trolley_core::ports::PluginRuntime;

use crate::support::loaded;

fn config_errors(result: Result<(), PluginError>) -> Vec<String> {
    match result {
        Err(PluginError::InvalidConfig(errors)) => errors,
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

#[test]
fn config_errors_name_the_field() {
    let loaded = loaded();
    let info = loaded.runtime.info(&loaded.grocery).unwrap();
    let runtime = &loaded.runtime;
    runtime
        .check_config(
            &info,
            &json!({"max_total_quantity": 10, "items_per_bag": 6}),
        )
        .unwrap();

    let errors = config_errors(runtime.check_config(&info, &json!({"max_total_quantity": 0})));
    assert_eq!(
        errors,
        ["/max_total_quantity: 0 is less than the minimum of 1"],
        "{errors:?}"
    );

    let errors = config_errors(runtime.check_config(
        &info,
        &json!({"items_per_bag": "five", "allowed_modes": ["delivery", 7]}),
    ));
    assert!(
        errors.iter().any(|e| e.starts_with("/items_per_bag: ")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.starts_with("/allowed_modes/1: ")),
        "{errors:?}"
    );

    let errors = config_errors(runtime.check_config(&info, &json!({"surprise": true})));
    assert!(errors[0].contains("surprise"), "{errors:?}");
}

#[test]
fn the_hostile_fixture_schema_lists_its_modes() {
    let loaded = loaded();
    let info = loaded.runtime.info(&loaded.hostile).unwrap();
    loaded
        .runtime
        .check_config(&info, &json!({"mode": "loop"}))
        .unwrap();
    let errors = config_errors(
        loaded
            .runtime
            .check_config(&info, &json!({"mode": "sneaky"})),
    );
    assert!(errors[0].starts_with("/mode: "), "{errors:?}");
}
