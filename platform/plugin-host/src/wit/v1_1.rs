//! Bindings of contract 1.1.0 (`plugin-sdk/wit/since_v1.1.0`), the current one: violations may
//! name a `field`, and the plugin may `log` through the `host` interface.

wasmtime::component::bindgen!({
    path: "../../plugin-sdk/wit/since_v1.1.0",
    world: "order-type",
    ownership: Borrowing { duplicate_if_necessary: true },
    // Calls run on the request's own task and yield to it at every epoch tick
    // (`sandbox.rs`), instead of hopping to a blocking thread.
    exports: { default: async },
});

pub(crate) use trolley::order_type::host::Level;
pub(crate) use trolley::order_type::types::{Fee, FulfillmentRules, Severity, Violation};

super::lowering!();

impl trolley::order_type::types::Host for crate::sandbox::HostState {}

impl trolley::order_type::host::Host for crate::sandbox::HostState {
    fn log(&mut self, level: Level, message: String) {
        let level = match level {
            Level::Trace => trolley_core::domain::LogLevel::Trace,
            Level::Debug => trolley_core::domain::LogLevel::Debug,
            Level::Info => trolley_core::domain::LogLevel::Info,
            Level::Warn => trolley_core::domain::LogLevel::Warn,
            Level::Error => trolley_core::domain::LogLevel::Error,
        };
        self.log(level, message);
    }
}

impl From<Severity> for trolley_core::domain::Severity {
    fn from(severity: Severity) -> Self {
        match severity {
            Severity::Reject => Self::Reject,
            Severity::BlockCheckout => Self::BlockCheckout,
            Severity::Warning => Self::Warning,
        }
    }
}
