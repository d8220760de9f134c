//! Runs Trolley's order-type plugins (SPEC §5): WebAssembly components implementing the
//! `trolley:order-type` world from `plugin-sdk/wit`, each call in a fresh sandboxed instance
//! under hard limits (wall-clock deadline, memory, output size, optionally fuel).
//!
//! [`WasmRuntime`] implements core's [`PluginRuntime`](trolley_core::ports::PluginRuntime)
//! port; [`SandboxPolicy`] is the operator's side of the limits. The WIT-generated types stay
//! inside this crate.

mod artifacts;
mod output;
mod policy;
mod runtime;
mod sandbox;
mod schema;
mod wit;

pub use output::{ELEMENT_BYTES, MAX_CODE_BYTES, MAX_TEXT_BYTES};
pub use policy::SandboxPolicy;
pub use runtime::{RuntimeStats, StartError, WasmRuntime};
