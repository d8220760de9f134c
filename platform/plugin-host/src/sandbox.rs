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

use trolley_core::domain::{LogLevel, PluginError, PluginLog};

use crate::epoch::{Running, Ticks};
use crate::policy::CallLimits;

/// Longest trap message passed on.
const MAX_TRAP_MESSAGE: usize = 512;
/// Log lines kept per call; later ones are dropped (and counted).
pub const MAX_LOG_LINES: usize = 50;
/// Bytes of log messages kept per call, all lines together; each message is cut on a
/// character boundary to what is left.
pub const MAX_LOG_BYTES: usize = 4096;

/// A store's data: its limiter, and what the call logged (the plugin's one host function).
pub(crate) struct HostState {
    limits: StoreLimits,
    memory_cap: usize,
    /// Set when the limiter refused a memory grow, so the resulting trap is reported as
    /// `OutOfMemory` whatever error the guest turned it into.
    memory_refused: bool,
    /// The largest linear memory the call asked for, in bytes.
    peak_memory: usize,
    logs: Vec<PluginLog>,
    log_bytes: usize,
    logs_dropped: u32,
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
            peak_memory: 0,
            logs: Vec::new(),
            log_bytes: 0,
            logs_dropped: 0,
        }
    }

    /// Keeps a log line within the call's bounds ([`MAX_LOG_LINES`], [`MAX_LOG_BYTES`]): the
    /// plugin decides what it logs, never how much host memory that takes.
    pub(crate) fn log(&mut self, level: LogLevel, mut message: String) {
        let room = MAX_LOG_BYTES.saturating_sub(self.log_bytes);
        if self.logs.len() >= MAX_LOG_LINES || room == 0 {
            self.logs_dropped = self.logs_dropped.saturating_add(1);
            return;
        }
        if message.len() > room {
            let mut end = room;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        self.log_bytes += message.len();
        self.logs.push(PluginLog { level, message });
    }

    /// The panic line the SDK's panic hook logged (`panicked at src/lib.rs:10:5: boom`), if any.
    fn panic_line(&self) -> Option<&str> {
        self.logs
            .iter()
            .rev()
            .find(|l| l.level == LogLevel::Error && l.message.starts_with("panicked"))
            .map(|l| l.message.as_str())
    }
}

impl ResourceLimiter for HostState {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.peak_memory = self.peak_memory.max(desired);
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

/// How long a call runs before it first gives way to the worker's other tasks (and then at
/// every epoch tick).
const SLICE: std::time::Duration = std::time::Duration::from_millis(1);

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
            let elapsed = started.elapsed();
            Ok(if elapsed >= deadline {
                UpdateDeadline::Interrupt
            } else if elapsed < SLICE {
                // A tick can come right after the call started: a sound call (tens of
                // microseconds) finishes within its first slice without giving way, so it
                // never waits behind the worker's other tasks.
                UpdateDeadline::Continue(1)
            } else {
                // tokio's own yield, not wasmtime's `Yield`: that one wakes the task at
                // once, and a task that is always ready makes a worker look at its sockets
                // only every 61 polls (tokio's `event_interval`), so a looping plugin's
                // neighbours waited ~61 ticks for every read they were due. `yield_now`
                // defers the wake until the worker has polled its I/O.
                UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now()))
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
    pub fn store(&mut self) -> &mut Store<HostState> {
        &mut self.store
    }

    /// What went wrong instantiating the module, typed.
    pub fn instantiate_failed(&self, error: &wasmtime::Error) -> PluginError {
        classify(error, self.store.data(), true)
    }

    /// The largest linear memory the call asked for, in bytes.
    pub fn peak_memory_bytes(&self) -> u64 {
        self.store.data().peak_memory as u64
    }

    /// What the plugin logged (emptied) and how many lines were dropped.
    pub fn take_logs(&mut self) -> (Vec<PluginLog>, u32) {
        let state = self.store.data_mut();
        (std::mem::take(&mut state.logs), state.logs_dropped)
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
        // A Rust panic aborts with `unreachable` after the SDK's hook logged it: the panic
        // line says far more than the trap.
        Some(trap) => match state.panic_line() {
            Some(panic) => PluginError::Trapped(bounded(panic.to_owned())),
            None => PluginError::Trapped(bounded(trap.to_string())),
        },
        // Not a trap while instantiating: the pool is exhausted or the host is broken.
        None if instantiating => {
            PluginError::Unavailable(bounded(format!("cannot instantiate the plugin: {error:#}")))
        }
        // A call into a tolerated (trapping) `wasi:` import — a print, or the default panic
        // handler of a plugin built without the SDK's hook — or a lift/lower failure caused by
        // what the guest handed back (invalid UTF-8, out-of-bounds pointers). The root cause
        // says which (wasmtime names the import); the rest of the chain is the wasm
        // backtrace, logged for the plugin's author.
        None => {
            tracing::debug!(error = ?error, "plugin call failed");
            if let Some(panic) = state.panic_line() {
                return PluginError::Trapped(bounded(panic.to_owned()));
            }
            let cause = error.root_cause().to_string();
            let hint = if cause.contains("`wasi:") {
                " (plugins get no WASI: they cannot print or read the environment; use \
                 trolley_plugin_sdk::log (info!, warn! …) instead, which the host keeps with \
                 the call)"
            } else {
                ""
            };
            PluginError::Trapped(bounded(format!("{cause}{hint}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_bounded_in_lines_and_bytes() {
        let mut state = HostState::new(1 << 20);
        for i in 0..MAX_LOG_LINES + 7 {
            state.log(LogLevel::Info, format!("line {i}"));
        }
        assert_eq!(state.logs.len(), MAX_LOG_LINES);
        assert_eq!(state.logs_dropped, 7);

        let mut state = HostState::new(1 << 20);
        // Two-byte characters: the cut lands on a character boundary.
        state.log(LogLevel::Warn, "é".repeat(MAX_LOG_BYTES));
        assert_eq!(state.logs[0].message.len(), MAX_LOG_BYTES);
        state.log(LogLevel::Warn, "more".to_owned());
        assert_eq!((state.logs.len(), state.logs_dropped), (1, 1));
    }

    #[test]
    fn the_panic_line_is_the_last_logged_panic() {
        let mut state = HostState::new(1 << 20);
        assert_eq!(state.panic_line(), None);
        state.log(LogLevel::Info, "panicked at nothing".to_owned());
        assert_eq!(state.panic_line(), None);
        state.log(
            LogLevel::Error,
            "panicked at src/lib.rs:1:2: boom".to_owned(),
        );
        assert_eq!(state.panic_line(), Some("panicked at src/lib.rs:1:2: boom"));
    }
}
