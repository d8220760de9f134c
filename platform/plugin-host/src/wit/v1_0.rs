//! Bindings of contract 1.0.0 (`plugin-sdk/wit/since_v1.0.0`, frozen): plugins built for it
//! keep loading and evaluating. Their answers are converted to 1.1's shape (no `field`); they
//! cannot log.

wasmtime::component::bindgen!({
    path: "../../plugin-sdk/wit/since_v1.0.0",
    world: "order-type",
    ownership: Borrowing { duplicate_if_necessary: true },
    exports: { default: async },
});

use super::v1_1;
use trolley::order_type::types as wit;

super::lowering!();

impl wit::Host for crate::sandbox::HostState {}

fn severity(severity: wit::Severity) -> v1_1::Severity {
    match severity {
        wit::Severity::Reject => v1_1::Severity::Reject,
        wit::Severity::BlockCheckout => v1_1::Severity::BlockCheckout,
        wit::Severity::Warning => v1_1::Severity::Warning,
    }
}

/// A 1.0 answer in 1.1's shape (strings moved, not copied).
pub(crate) fn evaluation(e: Evaluation) -> v1_1::Evaluation {
    v1_1::Evaluation {
        violations: e
            .violations
            .into_iter()
            .map(|v| v1_1::Violation {
                code: v.code,
                message: v.message,
                line_id: v.line_id,
                severity: severity(v.severity),
                field: None,
            })
            .collect(),
        fees: e
            .fees
            .into_iter()
            .map(|f| v1_1::Fee {
                code: f.code,
                label: f.label,
                amount: f.amount,
            })
            .collect(),
        fulfillment: v1_1::FulfillmentRules {
            allowed_modes: e.fulfillment.allowed_modes,
            lead_time_minutes: e.fulfillment.lead_time_minutes,
            requirements: e.fulfillment.requirements,
            max_distance_km: e.fulfillment.max_distance_km,
            notes: e.fulfillment.notes,
        },
    }
}

/// A 1.0 `describe` answer in 1.1's shape.
pub(crate) fn plugin_info(info: PluginInfo) -> v1_1::PluginInfo {
    v1_1::PluginInfo {
        order_type: info.order_type,
        name: info.name,
        version: info.version,
        config_schema: info.config_schema,
    }
}
