//! The two wasmtime engines: one compiles an upload fast enough to check it, the other
//! compiles the code that serves shoppers.
//!
//! - **Check tier**: Winch, wasmtime's single-pass baseline compiler. An upload is compiled
//!   with it, checked against the world and described, and answered; its code never serves a
//!   call. Measured (release host, `tests/host` `contract::check`): minimal, grocery, food,
//!   medicine compile in 29–33 ms (an upload's whole check 29–37 ms), against 106–153 ms
//!   optimised. Cranelift with `OptLevel::None` and the single-pass register allocator was
//!   only ~1.3× faster than optimised (Winch ~4×), so it was not taken. Winch lacks a few
//!   proposals and needs AVX for SIMD: a module it cannot compile is compiled by the serving
//!   tier instead (`WasmRuntime::inspect`), so it refuses nothing Cranelift accepts.
//! - **Serving tier**: Cranelift, optimised. After a check it compiles the module on the
//!   blocking pool in the background (`runtime/admission.rs`); a `load` meanwhile waits for
//!   it.
//!
//! Both engines share the per-call limits: epoch interruption (the same ticker advances
//! both), fuel metering when the policy asks for it, and the pooling allocator with the same
//! per-component and per-memory maxima, so a module `describe`d by the check tier also fits
//! a serving slot. The check engine's pool has one slot per check that may run at once.

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Strategy};

use crate::policy::SandboxPolicy;
use crate::runtime::StartError;

/// Core instances, memories and tables one plugin component may have. A Rust component built
/// for `wasm32-wasip2` has one memory and a handful of core instances (the module plus
/// wit-component's shims).
const CORE_INSTANCES_PER_COMPONENT: u32 = 16;
const MEMORIES_PER_COMPONENT: u32 = 2;
const TABLES_PER_COMPONENT: u32 = 4;
/// Memory kept mapped when a serving pool slot is freed (reset in place instead of
/// `madvise`d away and faulted in again by the next call). With `pagemap_scan` only the pages
/// a call dirtied are reset, so this can cover a Rust guest's whole working set (1 MiB stack +
/// heap): measured 19 µs per fresh-instance round instead of ~35 µs on demand, and ~60 µs
/// with a 1 MiB keep-resident prefix reset by `memset` without `pagemap_scan`.
const MEMORY_KEEP_RESIDENT: usize = 4 * 1024 * 1024;
const TABLE_KEEP_RESIDENT: usize = 64 * 1024;

/// Which code an engine compiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tier {
    /// Fast to compile, slower to run: for checking an upload.
    Check,
    /// Optimised: the only code that serves calls.
    Serve,
}

/// The engine for `tier` under `policy`.
pub(crate) fn engine(policy: &SandboxPolicy, tier: Tier) -> Result<Engine, StartError> {
    let slots = match tier {
        Tier::Serve => policy.pool_size.max(1),
        // Checks run one at a time per compile permit (see `WasmRuntime::inspect`).
        Tier::Check => u32::try_from(policy.compile_concurrency.max(1)).unwrap_or(u32::MAX),
    };
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(slots)
        .total_core_instances(slots.saturating_mul(CORE_INSTANCES_PER_COMPONENT))
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        // One fiber stack per call that may run at once (calls run as async fibers).
        .total_stacks(slots)
        .total_memories(slots.saturating_mul(MEMORIES_PER_COMPONENT))
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .total_tables(slots.saturating_mul(TABLES_PER_COMPONENT))
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .max_memory_size(policy.max_memory_bytes);
    if tier == Tier::Serve {
        pool.linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
            .table_keep_resident(TABLE_KEEP_RESIDENT)
            // Linux ≥ 6.7: reset only the pages a call dirtied instead of `memset`ting the
            // whole kept-resident prefix (which cost more than it saved).
            .pagemap_scan(wasmtime::Enabled::Auto);
    }
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .consume_fuel(policy.max_fuel.is_some())
        .parallel_compilation(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    if tier == Tier::Check {
        config.strategy(Strategy::Winch);
    }
    Engine::new(&config).map_err(|e| StartError::Engine(format!("{e:#}")))
}
