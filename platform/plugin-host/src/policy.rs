//! The sandbox policy as data: what an operator allows, and the per-call limits a tenant asks
//! for clamped into it.

use std::path::PathBuf;
use std::time::Duration;

use trolley_core::domain::PluginLimits;

/// The operator's sandbox policy for one [`WasmRuntime`](crate::WasmRuntime).
///
/// Tenants choose [`PluginLimits`] per call; every limit is clamped to the maximum here, so a
/// tenant can only lower them. Engine-wide choices (fuel metering, pool size, epoch tick) are
/// fixed when the runtime is built.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxPolicy {
    /// Ceiling for [`PluginLimits::deadline_ms`]. Default 1 s.
    pub max_deadline: Duration,
    /// Ceiling for [`PluginLimits::memory_bytes`]; also the pool's per-memory maximum.
    /// Default 64 MiB.
    pub max_memory_bytes: usize,
    /// Ceiling for [`PluginLimits::output_bytes`]. Default 1 MiB.
    pub max_output_bytes: usize,
    /// Instruction fuel ceiling. `None` (the default) turns fuel metering off for the whole
    /// engine, and [`PluginLimits::fuel`] is then ignored: metering costs ~12–16% per call and
    /// ~45% compile time, and the epoch deadline already bounds a call. `Some(max)` turns it
    /// on; a call then gets `limits.fuel` (or `max` when the tenant sets none), at most `max`.
    pub max_fuel: Option<u64>,
    /// Plugin calls that may run at once: the size of the instance pool. Default 16.
    pub pool_size: u32,
    /// How long a call waits for a free pool slot before failing with
    /// `PluginError::Unavailable`. Default 250 ms.
    pub queue_timeout: Duration,
    /// How often the engine's epoch advances, i.e. the granularity of the wall-clock deadline:
    /// a call is interrupted between `deadline` and `deadline + epoch_tick` after it starts.
    /// Default 1 ms.
    pub epoch_tick: Duration,
    /// Modules compiled at once (compilation is CPU-heavy and already parallel inside).
    /// Default 1.
    pub compile_concurrency: usize,
    /// Largest module accepted by `inspect`/`load`. Default 16 MiB.
    pub max_module_bytes: usize,
    /// Where precompiled artifacts are kept across restarts (a directory private to this
    /// service). `None` keeps them in memory only. Default `None`.
    pub cache_dir: Option<PathBuf>,
    /// Import name prefixes a module may have. They are linked to functions that trap, so a
    /// plugin gets no capability from them; any other import refuses the module. Default
    /// `["wasi:"]`, because Rust's std built for `wasm32-wasip2` imports a dozen WASI
    /// interfaces for printing and panics.
    pub tolerated_import_prefixes: Vec<String>,
    /// Limits for the `describe` call made when a module is inspected or loaded (clamped like
    /// any other call). Default [`PluginLimits::default`].
    pub describe_limits: PluginLimits,
}

impl Default for SandboxPolicy {
    fn default() -> Self {
        Self {
            max_deadline: Duration::from_secs(1),
            max_memory_bytes: 64 * 1024 * 1024,
            max_output_bytes: 1024 * 1024,
            max_fuel: None,
            pool_size: 16,
            queue_timeout: Duration::from_millis(250),
            epoch_tick: Duration::from_millis(1),
            compile_concurrency: 1,
            max_module_bytes: 16 * 1024 * 1024,
            cache_dir: None,
            tolerated_import_prefixes: vec!["wasi:".to_owned()],
            describe_limits: PluginLimits::default(),
        }
    }
}

/// The limits one call actually runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CallLimits {
    pub deadline: Duration,
    pub memory_bytes: usize,
    pub output_bytes: usize,
    /// `None` when the engine does not meter fuel.
    pub fuel: Option<u64>,
}

impl SandboxPolicy {
    /// `limits` clamped to this policy.
    pub(crate) fn clamp(&self, limits: &PluginLimits) -> CallLimits {
        let deadline = Duration::from_millis(limits.deadline_ms).min(self.max_deadline);
        CallLimits {
            deadline,
            memory_bytes: limits.memory_bytes.min(self.max_memory_bytes),
            output_bytes: limits.output_bytes.min(self.max_output_bytes),
            fuel: self
                .max_fuel
                .map(|max| limits.fuel.map_or(max, |asked| asked.min(max))),
        }
    }

    pub(crate) fn tick(&self) -> Duration {
        self.epoch_tick.max(Duration::from_micros(100))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_clamped_to_the_operator_maxima() {
        let policy = SandboxPolicy {
            max_deadline: Duration::from_millis(50),
            max_memory_bytes: 1 << 20,
            max_output_bytes: 1000,
            max_fuel: Some(10),
            ..SandboxPolicy::default()
        };
        let asked = PluginLimits {
            deadline_ms: 10_000,
            memory_bytes: 1 << 30,
            output_bytes: 1 << 30,
            fuel: Some(1_000_000),
        };
        let got = policy.clamp(&asked);
        assert_eq!(got.deadline, Duration::from_millis(50));
        assert_eq!(got.memory_bytes, 1 << 20);
        assert_eq!(got.output_bytes, 1000);
        assert_eq!(got.fuel, Some(10));

        let lower = PluginLimits {
            deadline_ms: 5,
            memory_bytes: 1024,
            output_bytes: 10,
            fuel: None,
        };
        let got = policy.clamp(&lower);
        assert_eq!(got.deadline, Duration::from_millis(5));
        assert_eq!((got.memory_bytes, got.output_bytes), (1024, 10));
        assert_eq!(got.fuel, Some(10), "no tenant fuel means the operator's");
    }

    #[test]
    fn fuel_is_ignored_when_metering_is_off() {
        let policy = SandboxPolicy::default();
        let limits = PluginLimits {
            fuel: Some(5),
            ..PluginLimits::default()
        };
        assert_eq!(policy.clamp(&limits).fuel, None);
    }
}
