//! One sandboxed call: a fresh store and instance under the call's limits, and the mapping
//! of what went wrong to a typed [`PluginError`].
//!
//! Two error layers (as in zed's extension host): the outer `wasmtime::Error` is a trap, a
//! limit or an incompatibility and becomes `Trapped` / `DeadlineExceeded` / `OutOfMemory`;
//! the inner `result<_, string>` is the plugin's own answer and is handled by the caller.

use std::time::Instant;

use wasmtime::{
    Engine, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, Trap, UpdateDeadline,
};

use trolley_core::domain::PluginError;

use crate::epoch::{Running, Ticks};
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
    /// A fresh store under `limits`, for one call. The store (and with it the instance and
    /// its memory) is dropped with the [`Call`]: nothing survives a call.
    ///
    /// The call runs on the caller's task, not on a blocking thread: at every epoch tick
    /// (1 ms) the guest yields to the executor, so a plugin that loops shares its worker
    /// with the requests around it, and once `limits.deadline` has passed the next tick
    /// interrupts it (between `deadline` and `deadline + tick` after it started, as long
    /// as the executor resumes it).
    pub fn prepare(&self, limits: &CallLimits) -> Result<Call, PluginError> {
        let running = self.ticks.running();
        let mut store = Store::new(&self.engine, HostState::new(limits.memory_bytes));
        store.limiter(|state| state);
        let started = Instant::now();
        let deadline = limits.deadline;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            Ok(if started.elapsed() >= deadline {
                UpdateDeadline::Interrupt
            } else {
                UpdateDeadline::Yield(1)
            })
        });
        let fuel_given = if self.fuel {
            let fuel = limits.fuel.unwrap_or(u64::MAX);
            store
                .set_fuel(fuel)
                .map_err(|e| PluginError::Unavailable(format!("cannot set fuel: {e}")))?;
            Some(fuel)
        } else {
            None
        };
        Ok(Call {
            store,
            fuel_given,
            _running: running,
        })
    }
}

/// One call's store, from [`Sandbox::prepare`].
pub(crate) struct Call {
    store: Store<HostState>,
    fuel_given: Option<u64>,
    _running: Running,
}

impl Call {
    /// A fresh instance of `pre` in this call's store.
    pub async fn instantiate(
        &mut self,
        pre: &OrderTypePre<HostState>,
    ) -> Result<OrderType, PluginError> {
        match pre.instantiate_async(&mut self.store).await {
            Ok(instance) => Ok(instance),
            Err(e) => Err(classify(&e, self.store.data(), true)),
        }
    }

    pub fn store(&mut self) -> &mut Store<HostState> {
        &mut self.store
    }

    /// What went wrong in a call into the instance, typed.
    pub fn failed(&self, error: &wasmtime::Error) -> PluginError {
        classify(error, self.store.data(), false)
    }

    /// The instruction fuel consumed so far (`None` when the engine does not meter fuel).
    /// Instantiation is counted too: it runs the component's start code, which is part of
    /// what the call cost. `get_fuel` only fails when the engine does not meter.
    pub fn fuel_used(&self) -> Option<u64> {
        let given = self.fuel_given?;
        Some(given.saturating_sub(self.store.get_fuel().ok()?))
    }
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
