//! Runs Trolley's order-type plugins (SPEC §5): WebAssembly components implementing the
//! `trolley:order-type` world from `plugin-sdk/wit`, each call in a fresh sandboxed instance
//! under hard limits.
//!
//! [`WasmRuntime`] implements core's [`PluginRuntime`](trolley_core::ports::PluginRuntime)
//! port; [`SandboxPolicy`] is the operator's side of the limits. The WIT-generated types stay
//! inside this crate.
//!
//! # Decisions
//! - **Deadline**: epoch interruption, advanced by a `plugin-epoch` thread every
//!   [`SandboxPolicy::epoch_tick`] (1 ms) while a call runs; it parks while none does. At
//!   every tick a call yields to its executor, and once its deadline has passed it is
//!   interrupted (`DeadlineExceeded`).
//! - **Fuel**: off unless the operator sets [`SandboxPolicy::max_fuel`], because metering is
//!   engine-wide and costs ~12–16% per call and ~45% compile time. When off,
//!   `PluginLimits::fuel` is ignored; when on, running out is reported as `DeadlineExceeded`.
//! - **Memory**: `StoreLimits` with `trap_on_grow_failure(true)` caps each call's linear
//!   memory; a refused grow is reported as `OutOfMemory` (not as the guest's abort trap). The
//!   pool's per-memory maximum is the operator's cap.
//! - **Where calls run**: on the request's own task, as a wasmtime async fiber (no hop to a
//!   blocking thread: under load that hop queued for milliseconds for ~20–100 µs of work,
//!   BENCHMARKS.md). A call yields to the executor at every epoch tick, so a plugin that
//!   loops until its deadline delays the requests sharing its worker by at most a tick at a
//!   time. At most `pool_size` calls run at once (a semaphore sized like the instance pool);
//!   a call that cannot get a slot within [`SandboxPolicy::queue_timeout`] fails with
//!   `Unavailable`. [`WasmRuntime::evaluate_blocking`] runs a call on the caller's thread.
//!   Compiling a module still runs on the blocking pool: it takes tens to hundreds of
//!   milliseconds.
//! - **Output**: counted after the call as the sum of all string lengths plus
//!   [`ELEMENT_BYTES`] per list element, against `PluginLimits::output_bytes`
//!   (`OutputTooLarge`); the memory cap bounds what a guest can hand back before it is
//!   counted. Decimals must be plain decimal strings (`-?[0-9]+(\.[0-9]+)?`), fee amounts and
//!   distances must not be negative (a discount is not a fee), violation line ids must be the
//!   cart's, codes/messages/labels non-empty and bounded ([`MAX_CODE_BYTES`],
//!   [`MAX_TEXT_BYTES`]); anything else is `BadOutput`.
//! - **Imports**: a plugin gets one host capability, contract 1.1's `host.log` (bounded per
//!   call: `MAX_LOG_LINES`, `MAX_LOG_BYTES`). Apart from the world's own imports, only those
//!   starting with a tolerated prefix (`wasi:`, which Rust's std pulls in) are accepted; they
//!   are linked to functions that trap (`Linker::define_unknown_imports_as_traps`).
//! - **Compiled modules**: once per SHA-256, kept in memory as an `InstancePre` and on disk
//!   as a precompiled artifact (see `artifacts.rs` for why loading one is sound).
//! - **Two compile tiers** (`engines.rs`): an upload is checked with code from Winch, the
//!   baseline compiler (~4× faster to compile than optimised Cranelift, slower to run), and
//!   answered; optimised Cranelift then compiles it in the background, and only that code
//!   serves. A `load` or a call of a module whose serving compile is running waits for it
//!   (`registry.rs`).

mod artifacts;
mod call;
mod compile;
mod engines;
mod epoch;
mod output;
mod policy;
mod registry;
mod runtime;
mod sandbox;
mod schema;
mod wit;

pub use output::{ELEMENT_BYTES, MAX_CODE_BYTES, MAX_FIELD_BYTES, MAX_TEXT_BYTES};
pub use policy::SandboxPolicy;
pub use runtime::{ModuleCheck, RuntimeStats, StartError, WasmRuntime};
pub use sandbox::{MAX_LOG_BYTES, MAX_LOG_LINES};
pub use wit::CONTRACT_VERSIONS;
