//! The JSON Schemas of every event (`events/schemas/`), compiled into the binary and served
//! at `GET /v1/event-schemas`.

macro_rules! schemas {
    ($($name:literal),* $(,)?) => {
        const SCHEMAS: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../../../events/schemas/", $name, ".json"))),)*
        ];
    };
}

schemas!(
    "envelope",
    "cart.created",
    "cart.line_added",
    "cart.line_changed",
    "cart.line_removed",
    "cart.cleared",
    "cart.merged",
    "cart.expired",
    "checkout.started",
    "checkout.completed",
    "checkout.cancelled",
    "checkout.expired",
    "order.placed",
    "reservation.expired",
    "inventory.low_stock",
    "plugin.activated",
    "plugin.rolled_back",
);

/// One type's schema (or `envelope`).
pub fn get(name: &str) -> Option<&'static str> {
    SCHEMAS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Every schema as one JSON object keyed by type.
pub fn all_json() -> String {
    let parts: Vec<String> = SCHEMAS
        .iter()
        .map(|(name, schema)| format!("{:?}:{}", name, schema.trim()))
        .collect();
    format!("{{{}}}", parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use trolley_core::domain::EventType;

    /// A new type cannot ship without its schema.
    #[test]
    fn every_type_has_a_valid_schema() {
        for t in EventType::ALL {
            assert!(get(t.as_str()).is_some(), "no schema for {t}");
        }
        let all: serde_json::Value = serde_json::from_str(&all_json()).expect("valid JSON");
        assert_eq!(
            all.as_object().map(|o| o.len()),
            Some(EventType::ALL.len() + 1)
        );
    }
}
