//! The `trolley` binary as a library: configuration, telemetry, wiring of adapters to use
//! cases, and the HTTP server. `main.rs` only parses the command line and calls in here, so
//! the integration tests start exactly what production starts.

pub mod cli;
pub mod demo;
pub mod plugin_cli;
pub mod relay;
pub mod remote;
pub mod settings;
pub mod startup;
pub mod telemetry;

pub use settings::Settings;
pub use startup::{Application, Services};
