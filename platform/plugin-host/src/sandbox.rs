//! One sandboxed call: a fresh store and instance under the call's limits, and the mapping
//! of what went wrong to a typed [`PluginError`].
//!
//! Two error layers (as in zed's extension host): the outer `wasmtime::Error` is a trap, a
//! limit or an incompatibility and becomes `Trapped` / `DeadlineExceeded` / `OutOfMemory`;
//! the inner `result<_, string>` is the plugin's own answer and is handled by the caller.

use wasmtime::{Engine, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, Trap};

use trolley_core::domain::PluginError;

use crate::epoch::Ticks;
use crate::policy::CallLimits;
use crate::wit::{OrderType, OrderTypePre};

/// Longest trap message passed on.
const MAX_TRAP_MESSAGE: usize = 512;

/// A store's data: only its limiter, since plugins get no host functions.
pub(crate) struct HostState {
    limits: StoreLimits,
    memory_cap: usize,
    /// Set when the limiter refused a memory grow, so the resulting trap is reported as
    /// `OutOfMemory` whatever error the guest turned it into.
    memory_refused: bool,
}

impl HostState {
    fn new(memory_cap: usize) -> Self {
        Self {
            limits: StoreLimitsBuilder::new()
                .memory_size(memory_cap)
                // A Rust guest turns a failed grow into a generic abort; trapping at the
                // grow itself reports out-of-memory distinctly.
                .trap_on_grow_failure(true)
                .instances(64)
                .tables(64)
                .memories(4)
                .build(),
            memory_cap,
            memory_refused: false,
        }
    }
}

impl ResourceLimiter for HostState {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_cap || maximum.is_some_and(|max| desired > max) {
            self.memory_refused = true;
        }
        self.limits.memory_growing(current, desired, maximum)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.memory_refused = true;
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// What every call needs from the engine.
#[derive(Clone)]
pub(crate) struct Sandbox {
    pub engine: Engine,
    /// Whether the engine meters fuel.
    pub fuel: bool,
    pub ticks: Ticks,
}

impl Sandbox {
    /// Runs `f` against a fresh instance of `pre` under `limits`. The store (and with it the
    /// instance and its memory) is dropped before this returns: nothing survives a call.
    pub fn call<R>(
        &self,
        pre: &OrderTypePre<HostState>,
        limits: &CallLimits,
        f: impl FnOnce(&mut Store<HostState>, &OrderType) -> wasmtime::Result<R>,
    ) -> Result<Metered<R>, PluginError> {
        let _running = self.ticks.running();
        let mut store = Store::new(&self.engine, HostState::new(limits.memory_bytes));
        store.limiter(|state| state);
        store.set_epoch_deadline(limits.deadline_ticks);
        store.epoch_deadline_trap();
        let fuel_given = if self.fuel {
            let fuel = limits.fuel.unwrap_or(u64::MAX);
            store
                .set_fuel(fuel)
                .map_err(|e| PluginError::Unavailable(format!("cannot set fuel: {e}")))?;
            Some(fuel)
        } else {
            None
        };
        let instance = match pre.instantiate(&mut store) {
            Ok(instance) => instance,
            Err(e) => return Err(classify(&e, store.data(), true)),
        };
        let value = f(&mut store, &instance).map_err(|e| classify(&e, store.data(), false))?;
        // Instantiation is counted too: it runs the component's start code, which is part
        // of what the call cost. `get_fuel` only fails when the engine does not meter.
        let fuel_used =
            fuel_given.and_then(|given| Some(given.saturating_sub(store.get_fuel().ok()?)));
        Ok(Metered { value, fuel_used })
    }
}

/// What a sandboxed call returned, and the instruction fuel it consumed (`None` when the
/// engine does not meter fuel).
#[derive(Debug)]
pub(crate) struct Metered<R> {
    pub value: R,
    pub fuel_used: Option<u64>,
}

pub(crate) fn bounded(mut message: String) -> String {
    if message.len() > MAX_TRAP_MESSAGE {
        let mut end = MAX_TRAP_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}

/// Maps the outer error layer to a typed error.
fn classify(error: &wasmtime::Error, state: &HostState, instantiating: bool) -> PluginError {
    if state.memory_refused {
        return PluginError::OutOfMemory;
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt | Trap::OutOfFuel) => PluginError::DeadlineExceeded,
        Some(trap) => PluginError::Trapped(bounded(trap.to_string())),
        // Not a trap while instantiating: the pool is exhausted or the host is broken.
        None if instantiating => {
            PluginError::Unavailable(bounded(format!("cannot instantiate the plugin: {error:#}")))
        }
        // A call into a tolerated (trapping) `wasi:` import — Rust's panic handler prints
        // through one — or a lift/lower failure caused by what the guest handed back
        // (invalid UTF-8, out-of-bounds pointers). The root cause says which; the rest of
        // the chain is the wasm backtrace, logged for the plugin's author.
        None => {
            tracing::debug!(error = ?error, "plugin call failed");
            let cause = error.root_cause().to_string();
            let hint = if cause.contains("`wasi:") {
                " (plugins get no WASI: a Rust panic or a print ends the call here)"
            } else {
                ""
            };
            PluginError::Trapped(bounded(format!("{cause}{hint}")))
        }
    }
}
