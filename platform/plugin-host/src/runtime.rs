//! [`WasmRuntime`]: the wasmtime implementation of core's `PluginRuntime` port.

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument as _;
use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use trolley_core::domain::{
    CallReport, Evaluation, PluginCall, PluginCart, PluginError, PluginInfo, PluginLimits,
};
use trolley_core::ports::{InspectedPlugin, PluginRuntime};

use crate::artifacts::ArtifactStore;
use crate::call;
use crate::compile::{Compiler, Contract};
use crate::epoch::EpochTicker;
use crate::policy::SandboxPolicy;
use crate::sandbox::Sandbox;
use crate::schema::ConfigChecker;

/// Core instances, memories and tables one plugin component may have. A Rust component built
/// for `wasm32-wasip2` has one memory and a handful of core instances (the module plus
/// wit-component's shims).
const CORE_INSTANCES_PER_COMPONENT: u32 = 16;
const MEMORIES_PER_COMPONENT: u32 = 2;
const TABLES_PER_COMPONENT: u32 = 4;
/// Memory kept mapped when a pool slot is freed (reset in place instead of `madvise`d away
/// and faulted in again by the next call). With `pagemap_scan` only the pages a call dirtied
/// are reset, so this can cover a Rust guest's whole working set (1 MiB stack + heap):
/// measured 19 µs per fresh-instance round instead of ~35 µs on demand, and ~60 µs with a
/// 1 MiB keep-resident prefix reset by `memset` without `pagemap_scan`.
const MEMORY_KEEP_RESIDENT: usize = 4 * 1024 * 1024;
const TABLE_KEEP_RESIDENT: usize = 64 * 1024;
/// Why a runtime could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot configure the wasmtime engine: {0}")]
    Engine(String),
    #[error("cannot use the plugin artifact cache at {path}: {source}")]
    CacheDir { path: PathBuf, source: io::Error },
    #[error("cannot start the epoch ticker: {0}")]
    Ticker(io::Error),
}

/// Counters, for tests and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    /// Modules compiled from wasm (the expensive path).
    pub compiled_from_scratch: u64,
    /// Modules loaded from a precompiled artifact on disk.
    pub loaded_from_artifact: u64,
    /// Artifacts on disk that were unusable (corrupt, foreign, incompatible) and replaced.
    pub artifacts_rejected: u64,
    /// Artifacts that could not be written (the module still works, it will be recompiled
    /// after a restart).
    pub artifact_write_failures: u64,
    /// `evaluate` calls that ran, and those of them that failed.
    pub evaluations: u64,
    pub failed_evaluations: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub compiled_from_scratch: AtomicU64,
    pub loaded_from_artifact: AtomicU64,
    pub artifacts_rejected: AtomicU64,
    pub artifact_write_failures: AtomicU64,
    pub evaluations: AtomicU64,
    pub failed_evaluations: AtomicU64,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A checked module ready to run.
pub(crate) struct Plugin {
    pub sha256: String,
    pub pre: Contract,
    pub info: PluginInfo,
}

/// What `trolley plugin check` reports about a module: [`WasmRuntime::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleCheck {
    /// Hex SHA-256 of the module.
    pub sha256: String,
    pub size_bytes: u64,
    /// The contract version it implements, e.g. `1.1.0`.
    pub contract_version: String,
    /// The world it implements, e.g. `trolley:order-type/order-type@1.1.0`.
    pub world: String,
    /// The component's exports and imports, by name, sorted.
    pub exports: Vec<String>,
    pub imports: Vec<String>,
    /// Compiling it from scratch (no artifact cache), in milliseconds.
    pub compile_ms: u64,
    /// What its `describe` answered (checked).
    pub info: PluginInfo,
}

/// Runs order-type plugins as WebAssembly components under wasmtime.
///
/// - One [`Engine`] with the pooling allocator (slots kept resident), epoch interruption for
///   the wall-clock deadline and, only if the policy sets `max_fuel`, fuel metering.
/// - Each module is compiled once per SHA-256 and kept as an `InstancePre` in memory, and as a
///   precompiled artifact on disk when the policy has a `cache_dir`.
/// - Every call gets a fresh instance in its own store (no state survives a call) and runs
///   on the caller's task, yielding at every epoch tick; at most `pool_size` at once.
pub struct WasmRuntime {
    policy: SandboxPolicy,
    sandbox: Sandbox,
    compiler: Compiler,
    plugins: Arc<Plugins>,
    slots: Arc<Semaphore>,
    compiles: Arc<Semaphore>,
    configs: ConfigChecker,
    counters: Arc<Counters>,
    // Last: dropped after everything that uses the engine.
    _ticker: EpochTicker,
}

impl std::fmt::Debug for WasmRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmRuntime")
            .field("policy", &self.policy)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl WasmRuntime {
    /// Builds the engine, starts the epoch ticker and opens the artifact cache.
    pub fn new(policy: SandboxPolicy) -> Result<Self, StartError> {
        let pool_size = policy.pool_size.max(1);
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(pool_size)
            .total_core_instances(pool_size.saturating_mul(CORE_INSTANCES_PER_COMPONENT))
            .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
            // One fiber stack per call that may run at once (calls run as async fibers).
            .total_stacks(pool_size)
            .total_memories(pool_size.saturating_mul(MEMORIES_PER_COMPONENT))
            .max_memories_per_component(MEMORIES_PER_COMPONENT)
            .total_tables(pool_size.saturating_mul(TABLES_PER_COMPONENT))
            .max_tables_per_component(TABLES_PER_COMPONENT)
            .max_memory_size(policy.max_memory_bytes)
            .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
            .table_keep_resident(TABLE_KEEP_RESIDENT)
            // Linux ≥ 6.7: reset only the pages a call dirtied instead of `memset`ting the
            // whole kept-resident prefix (which cost more than it saved).
            .pagemap_scan(wasmtime::Enabled::Auto);
        let mut config = wasmtime::Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .consume_fuel(policy.max_fuel.is_some())
            .parallel_compilation(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| StartError::Engine(format!("{e:#}")))?;

        let artifacts =
            match &policy.cache_dir {
                Some(dir) => Some(ArtifactStore::open(dir, &engine).map_err(|source| {
                    StartError::CacheDir {
                        path: dir.clone(),
                        source,
                    }
                })?),
                None => None,
            };
        let ticker = EpochTicker::start(&engine, policy.tick()).map_err(StartError::Ticker)?;
        let counters = Arc::new(Counters::default());
        Ok(Self {
            sandbox: Sandbox {
                engine: engine.clone(),
                fuel: policy.max_fuel.is_some(),
                ticks: ticker.ticks(),
            },
            compiler: Compiler {
                engine,
                artifacts,
                tolerated_imports: policy.tolerated_import_prefixes.clone().into(),
                counters: Arc::clone(&counters),
            },
            plugins: Arc::default(),
            slots: Arc::new(Semaphore::new(pool_size as usize)),
            compiles: Arc::new(Semaphore::new(policy.compile_concurrency.max(1))),
            configs: ConfigChecker::default(),
            counters,
            policy,
            _ticker: ticker,
        })
    }

    /// The policy this runtime enforces.
    pub fn policy(&self) -> &SandboxPolicy {
        &self.policy
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> RuntimeStats {
        let c = &self.counters;
        RuntimeStats {
            compiled_from_scratch: c.compiled_from_scratch.load(Ordering::Relaxed),
            loaded_from_artifact: c.loaded_from_artifact.load(Ordering::Relaxed),
            artifacts_rejected: c.artifacts_rejected.load(Ordering::Relaxed),
            artifact_write_failures: c.artifact_write_failures.load(Ordering::Relaxed),
            evaluations: c.evaluations.load(Ordering::Relaxed),
            failed_evaluations: c.failed_evaluations.load(Ordering::Relaxed),
        }
    }

    /// What a loaded module said about itself.
    pub fn info(&self, sha256: &str) -> Option<PluginInfo> {
        self.plugin(sha256).map(|p| p.info.clone())
    }

    /// The contract version a loaded module implements (`1.0.0`, `1.1.0`).
    pub fn contract_version(&self, sha256: &str) -> Option<&'static str> {
        self.plugin(sha256).map(|p| p.pre.version())
    }

    /// Forgets a module (its disk artifact stays).
    pub fn unload(&self, sha256: &str) -> bool {
        self.plugins
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(sha256)
            .is_some()
    }

    /// [`PluginRuntime::evaluate`] on the calling thread, for callers outside an async
    /// runtime (benchmarks, stress tests). Fails with `Unavailable` at once when every pool
    /// slot is busy.
    pub fn evaluate_blocking(
        &self,
        sha256: &str,
        cart: &PluginCart,
        config: &serde_json::Value,
        limits: &PluginLimits,
    ) -> Result<Evaluation, PluginError> {
        let plugin = self.loaded(sha256)?;
        let _slot = Arc::clone(&self.slots)
            .try_acquire_owned()
            .map_err(|_| self.saturated())?;
        let config = config_json(config)?;
        let span = call::evaluate_span(&plugin, cart.lines.len());
        futures_executor::block_on(call::evaluate(
            &span,
            &self.sandbox,
            &self.counters,
            &plugin,
            cart,
            &config,
            &self.policy.clamp(limits),
        ))
        .result
    }

    /// Everything `trolley plugin check FILE.wasm` reports: the module compiled from scratch
    /// (timed; the artifact cache is not used), checked against the world and described like
    /// an upload. The module is also kept loaded, as [`PluginRuntime::inspect`] would.
    ///
    /// # Errors
    /// What an upload of these bytes would answer (`Invalid` …).
    pub async fn check(&self, wasm: &[u8]) -> Result<ModuleCheck, PluginError> {
        if wasm.len() > self.policy.max_module_bytes {
            return Err(PluginError::Invalid(format!(
                "the module is {} bytes; at most {} are accepted",
                wasm.len(),
                self.policy.max_module_bytes
            )));
        }
        let bytes = wasm.to_vec();
        let compiler = self.compiler.clone();
        let (sha256, compiled, compile_ms, exports, imports) = blocking(move || {
            let sha256 = hex::encode(Sha256::digest(&bytes));
            let started = Instant::now();
            let (compiled, exports, imports) = compiler.compile_fresh(&bytes)?;
            let compile_ms = started.elapsed().as_millis() as u64;
            Ok((sha256, compiled, compile_ms, exports, imports))
        })
        .await?;
        let contract_version = compiled.version().to_owned();
        let world = compiled.world();
        let info = self.describe(&compiled).await?;
        {
            let mut plugins = self.plugins.write().unwrap_or_else(PoisonError::into_inner);
            plugins.entry(sha256.clone()).or_insert_with(|| {
                Arc::new(Plugin {
                    sha256: sha256.clone(),
                    pre: compiled,
                    info: info.clone(),
                })
            });
        }
        Ok(ModuleCheck {
            sha256,
            size_bytes: wasm.len() as u64,
            contract_version,
            world,
            exports,
            imports,
            compile_ms,
            info,
        })
    }

    fn plugin(&self, sha256: &str) -> Option<Arc<Plugin>> {
        read(&self.plugins).get(sha256).cloned()
    }

    fn loaded(&self, sha256: &str) -> Result<Arc<Plugin>, PluginError> {
        self.plugin(sha256).ok_or_else(|| {
            PluginError::Unavailable(format!("plugin {} is not loaded", short(sha256)))
        })
    }

    fn saturated(&self) -> PluginError {
        PluginError::Unavailable(format!(
            "all {} plugin slots are busy",
            self.policy.pool_size.max(1)
        ))
    }

    /// A pool slot, waiting at most the policy's queue timeout.
    async fn slot(&self) -> Result<OwnedSemaphorePermit, PluginError> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(permit);
        }
        let waiting = Arc::clone(&self.slots).acquire_owned();
        match tokio::time::timeout(self.policy.queue_timeout, waiting).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(PluginError::Unavailable(
                "the plugin runtime is closed".into(),
            )),
            Err(_) => Err(self.saturated()),
        }
    }

    /// Compiles (or loads from disk) and checks a module, describes it, persists its artifact
    /// and keeps it. `expected` is the hash the caller claims, for `load`.
    async fn admit(&self, wasm: &[u8], expected: Option<&str>) -> Result<Arc<Plugin>, PluginError> {
        let started = Instant::now();
        let result = self.admit_inner(wasm, expected).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(plugin) => tracing::info!(
                sha256 = short(&plugin.sha256),
                order_type = %plugin.info.order_type,
                version = %plugin.info.version,
                elapsed_ms,
                "plugin module ready"
            ),
            Err(e) => tracing::info!(error = %e, elapsed_ms, "plugin module refused"),
        }
        result
    }

    async fn admit_inner(
        &self,
        wasm: &[u8],
        expected: Option<&str>,
    ) -> Result<Arc<Plugin>, PluginError> {
        if wasm.len() > self.policy.max_module_bytes {
            return Err(PluginError::Invalid(format!(
                "the module is {} bytes; at most {} are accepted",
                wasm.len(),
                self.policy.max_module_bytes
            )));
        }
        if let Some(sha) = expected
            && !is_sha256(sha)
        {
            return Err(PluginError::Invalid(format!(
                "`{}` is not a lowercase hex SHA-256",
                sha.escape_debug()
            )));
        }
        let _compiling = Arc::clone(&self.compiles)
            .acquire_owned()
            .await
            .map_err(|_| PluginError::Unavailable("the plugin runtime is closed".into()))?;
        let wasm = wasm.to_vec();
        let expected = expected.map(str::to_owned);
        let compiler = self.compiler.clone();
        let plugins = Arc::clone(&self.plugins);
        let (sha256, compiled) = blocking(move || {
            let sha256 = hex::encode(Sha256::digest(&wasm));
            if let Some(expected) = expected
                && expected != sha256
            {
                return Err(PluginError::Invalid(format!(
                    "the module's SHA-256 is {sha256}, not {expected}"
                )));
            }
            if let Some(plugin) = read(&plugins).get(&sha256) {
                return Ok((sha256, Err(Arc::clone(plugin))));
            }
            let compiled = compiler.prepare(&sha256, &wasm)?;
            Ok((sha256, Ok(compiled)))
        })
        .await?;
        let compiled = match compiled {
            Ok(compiled) => compiled,
            Err(already_loaded) => return Ok(already_loaded),
        };

        let info = self.describe(&compiled.pre).await?;
        let plugin = Arc::new(Plugin {
            sha256: sha256.clone(),
            pre: compiled.pre,
            info,
        });
        if let (Some(artifact), Some(store)) = (compiled.artifact, self.compiler.artifacts.clone())
        {
            let counters = Arc::clone(&self.counters);
            let sha = sha256.clone();
            // Best effort: without the artifact the module is only recompiled after a restart.
            let _ = blocking(move || {
                if let Err(e) = store.write(&sha, &artifact) {
                    bump(&counters.artifact_write_failures);
                    tracing::warn!(sha256 = short(&sha), error = %e, "cannot write plugin artifact");
                }
                Ok(())
            })
            .await;
        }
        let mut plugins = self.plugins.write().unwrap_or_else(PoisonError::into_inner);
        let plugin = Arc::clone(plugins.entry(sha256).or_insert(plugin));
        Ok(plugin)
    }

    /// Calls `describe` in a sandbox and checks its answer. Every failure refuses the module.
    async fn describe(&self, pre: &Contract) -> Result<PluginInfo, PluginError> {
        let _slot = self.slot().await?;
        let limits = self.policy.clamp(&self.policy.describe_limits);
        call::describe(&self.sandbox, pre, &limits).await
    }
}

fn config_json(config: &serde_json::Value) -> Result<String, PluginError> {
    serde_json::to_string(config)
        .map_err(|e| PluginError::Unavailable(format!("cannot serialise the config: {e}")))
}

/// The first 12 hex digits, enough to tell modules apart in logs.
pub(crate) fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

type Plugins = RwLock<HashMap<String, Arc<Plugin>>>;

fn read(plugins: &Plugins) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Plugin>>> {
    plugins.read().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `f` on tokio's blocking pool.
async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, PluginError> + Send + 'static,
) -> Result<R, PluginError> {
    let handle = tokio::runtime::Handle::try_current()
        .map_err(|_| PluginError::Unavailable("plugin calls need a tokio runtime".to_owned()))?;
    handle
        .spawn_blocking(f)
        .await
        .map_err(|e| PluginError::Unavailable(format!("the plugin task failed: {e}")))?
}

#[async_trait]
impl PluginRuntime for WasmRuntime {
    async fn inspect(&self, wasm: &[u8]) -> Result<InspectedPlugin, PluginError> {
        let plugin = self.admit(wasm, None).await?;
        Ok(InspectedPlugin {
            sha256: plugin.sha256.clone(),
            info: plugin.info.clone(),
            contract_version: plugin.pre.version().to_owned(),
            exports: crate::wit::exports_of(plugin.pre.version())
                .iter()
                .map(|e| (*e).to_owned())
                .collect(),
        })
    }

    fn is_loaded(&self, sha256: &str) -> bool {
        read(&self.plugins).contains_key(sha256)
    }

    async fn load(&self, sha256: &str, wasm: &[u8]) -> Result<(), PluginError> {
        if self.is_loaded(sha256) {
            // Still refuse bytes that are not the module the caller names.
            let wasm = wasm.to_vec();
            let digest = blocking(move || Ok(hex::encode(Sha256::digest(&wasm)))).await?;
            return if digest == sha256 {
                Ok(())
            } else {
                Err(PluginError::Invalid(format!(
                    "the module's SHA-256 is {digest}, not {sha256}"
                )))
            };
        }
        self.admit(wasm, Some(sha256)).await.map(|_| ())
    }

    fn check_config(
        &self,
        info: &PluginInfo,
        config: &serde_json::Value,
    ) -> Result<(), PluginError> {
        self.configs.check(&info.config_schema, config)
    }

    async fn run(
        &self,
        sha256: &str,
        cart: &PluginCart,
        config: &serde_json::Value,
        limits: &PluginLimits,
    ) -> PluginCall {
        let failed = |e: PluginError| PluginCall {
            result: Err(e),
            report: CallReport::default(),
        };
        let plugin = match self.loaded(sha256) {
            Ok(plugin) => plugin,
            Err(e) => return failed(e),
        };
        let config = match config_json(config) {
            Ok(config) => config,
            Err(e) => return failed(e),
        };
        let limits = self.policy.clamp(limits);
        // The span covers the wait for a pool slot as well as the call.
        let span = call::evaluate_span(&plugin, cart.lines.len());
        let _slot = match self.slot().instrument(span.clone()).await {
            Ok(slot) => slot,
            Err(e) => return failed(e),
        };
        call::evaluate(
            &span,
            &self.sandbox,
            &self.counters,
            &plugin,
            cart,
            &config,
            &limits,
        )
        .await
    }
}
