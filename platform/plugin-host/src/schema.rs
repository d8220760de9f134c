//! Tenant configurations checked against a plugin's JSON Schema.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use jsonschema::Validator;
use trolley_core::domain::PluginError;

/// Compiled validators kept; beyond this the cache starts over (schemas are few: one per
/// plugin version).
const MAX_CACHED: usize = 256;
/// Errors reported for one configuration.
const MAX_ERRORS: usize = 20;

/// Compiled validators keyed by the schema's JSON text.
#[derive(Default)]
pub(crate) struct ConfigChecker {
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

impl ConfigChecker {
    fn validator(&self, schema: &serde_json::Value) -> Result<Arc<Validator>, PluginError> {
        let key = schema.to_string();
        let mut cache = self
            .validators
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(validator) = cache.get(&key) {
            return Ok(Arc::clone(validator));
        }
        let validator = Arc::new(jsonschema::validator_for(schema).map_err(|e| {
            PluginError::Invalid(format!(
                "the plugin's config schema is not a valid JSON Schema: {e}"
            ))
        })?);
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&validator));
        Ok(validator)
    }

    /// `Ok` if `config` satisfies `schema`; else one message per failing value, each starting
    /// with its JSON Pointer (`/max_quantity: -1 is less than the minimum of 1`).
    pub fn check(
        &self,
        schema: &serde_json::Value,
        config: &serde_json::Value,
    ) -> Result<(), PluginError> {
        let validator = self.validator(schema)?;
        let errors: Vec<String> = validator
            .iter_errors(config)
            .take(MAX_ERRORS)
            .map(|e| {
                let path = e.instance_path().to_string();
                let path = if path.is_empty() { "/" } else { path.as_str() };
                format!("{path}: {e}")
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(PluginError::InvalidConfig(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_error_names_its_field() {
        let schema = json!({
            "type": "object",
            "properties": {
                "max_quantity": {"type": "integer", "minimum": 1},
                "bag_fee": {"type": "string"}
            },
            "required": ["bag_fee"],
            "additionalProperties": false
        });
        let checker = ConfigChecker::default();
        assert_eq!(checker.check(&schema, &json!({"bag_fee": "0.10"})), Ok(()));
        let Err(PluginError::InvalidConfig(errors)) =
            checker.check(&schema, &json!({"max_quantity": -1}))
        else {
            panic!("expected InvalidConfig");
        };
        assert!(
            errors.contains(&"/max_quantity: -1 is less than the minimum of 1".to_owned()),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("/: ") && e.contains("bag_fee")),
            "{errors:?}"
        );
        assert_eq!(checker.validators.lock().unwrap().len(), 1);
    }
}
