//! [`WasmRuntime`]: the wasmtime implementation of core's `PluginRuntime` port.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument as _;

use trolley_core::domain::{
    CallReport, Evaluation, PluginCall, PluginCart, PluginError, PluginInfo, PluginLimits,
};
use trolley_core::ports::{InspectedPlugin, PluginRuntime};

use crate::artifacts::ArtifactStore;
use crate::call;
use crate::compile::{Compiled, Compiler, Contract};
use crate::engines::{self, Tier};
use crate::epoch::EpochTicker;
use crate::policy::SandboxPolicy;
use crate::registry::{Entry, Registry};
use crate::sandbox::Sandbox;
use crate::schema::ConfigChecker;

mod admission;

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
    /// Modules compiled from wasm for serving (Cranelift, optimised: the expensive path).
    pub compiled_from_scratch: u64,
    /// Modules compiled by the check tier to check an upload (that code never serves).
    pub check_compiles: u64,
    /// `load`s and calls that waited for a module's background serving compile instead of
    /// compiling it themselves.
    pub waited_for_compile: u64,
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
    pub check_compiles: AtomicU64,
    pub waited_for_compile: AtomicU64,
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
    /// Compiling it from scratch with the check tier (what an upload waits for; the serving
    /// tier's compiler for a module Winch cannot compile), in milliseconds.
    pub check_compile_ms: u64,
    /// Compiling it from scratch for serving (optimised; no artifact cache), in milliseconds.
    pub compile_ms: u64,
    /// What its `describe` answered (checked).
    pub info: PluginInfo,
}

/// Runs order-type plugins as WebAssembly components under wasmtime.
///
/// - Two engines (`engines.rs`): an upload is compiled by the check tier (Winch), checked,
///   described and answered; the serving tier (Cranelift, optimised) then compiles it in the
///   background, and only that code serves. Both have the pooling allocator, epoch
///   interruption for the wall-clock deadline and, only if the policy sets `max_fuel`, fuel
///   metering.
/// - Each module is compiled for serving once per SHA-256 and kept as an `InstancePre` in
///   memory, and as a precompiled artifact on disk when the policy has a `cache_dir`.
/// - Every call gets a fresh instance in its own store (no state survives a call) and runs
///   on the caller's task, yielding at every epoch tick; at most `pool_size` at once.
pub struct WasmRuntime {
    policy: SandboxPolicy,
    sandbox: Sandbox,
    /// `describe` of a module compiled by the check tier, under the same limits.
    check_sandbox: Sandbox,
    compiler: Compiler,
    checker: Compiler,
    plugins: Arc<Registry>,
    slots: Arc<Semaphore>,
    /// Serving compiles at once (`load`, and the background compile after a check).
    compiles: Arc<Semaphore>,
    /// Checks at once; a check's `describe` runs under its permit, in the check pool.
    checks: Arc<Semaphore>,
    configs: ConfigChecker,
    counters: Arc<Counters>,
    // Last: dropped after everything that uses the engines.
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

/// What an upload's check found.
struct Checked {
    sha256: String,
    info: PluginInfo,
    version: &'static str,
}

/// The first step of an upload's check, on the blocking pool.
enum CheckStep {
    /// The module is already known (ready, or compiling for serving).
    Known(Entry),
    /// Its serving artifact was on disk (loaded instead of compiled), or the check tier
    /// could not compile it and the serving tier did.
    Serving(Compiled),
    /// Compiled by the check tier and checked against the world.
    Checked(Contract),
}

impl WasmRuntime {
    /// Builds the engines, starts the epoch ticker and opens the artifact cache.
    pub fn new(policy: SandboxPolicy) -> Result<Self, StartError> {
        let engine = engines::engine(&policy, Tier::Serve)?;
        let check_engine = engines::engine(&policy, Tier::Check)?;
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
        let ticker = EpochTicker::start(&[&engine, &check_engine], policy.tick())
            .map_err(StartError::Ticker)?;
        let counters = Arc::new(Counters::default());
        let tolerated_imports: Arc<[String]> = policy.tolerated_import_prefixes.clone().into();
        let fuel = policy.max_fuel.is_some();
        let compile_concurrency = policy.compile_concurrency.max(1);
        Ok(Self {
            sandbox: Sandbox {
                engine: engine.clone(),
                fuel,
                ticks: ticker.ticks(),
            },
            check_sandbox: Sandbox {
                engine: check_engine.clone(),
                fuel,
                ticks: ticker.ticks(),
            },
            compiler: Compiler {
                engine,
                tier: Tier::Serve,
                artifacts,
                tolerated_imports: Arc::clone(&tolerated_imports),
                counters: Arc::clone(&counters),
            },
            checker: Compiler {
                engine: check_engine,
                tier: Tier::Check,
                artifacts: None,
                tolerated_imports,
                counters: Arc::clone(&counters),
            },
            plugins: Arc::default(),
            slots: Arc::new(Semaphore::new(policy.pool_size.max(1) as usize)),
            compiles: Arc::new(Semaphore::new(compile_concurrency)),
            checks: Arc::new(Semaphore::new(compile_concurrency)),
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
            check_compiles: c.check_compiles.load(Ordering::Relaxed),
            waited_for_compile: c.waited_for_compile.load(Ordering::Relaxed),
            loaded_from_artifact: c.loaded_from_artifact.load(Ordering::Relaxed),
            artifacts_rejected: c.artifacts_rejected.load(Ordering::Relaxed),
            artifact_write_failures: c.artifact_write_failures.load(Ordering::Relaxed),
            evaluations: c.evaluations.load(Ordering::Relaxed),
            failed_evaluations: c.failed_evaluations.load(Ordering::Relaxed),
        }
    }

    /// What a known module (loaded, or still compiling for serving) said about itself.
    pub fn info(&self, sha256: &str) -> Option<PluginInfo> {
        match self.plugins.get(sha256)? {
            Entry::Ready(plugin) => Some(plugin.info.clone()),
            Entry::InFlight(flight) => Some(flight.info.clone()),
        }
    }

    /// The contract version a known module implements (`1.0.0`, `1.1.0`).
    pub fn contract_version(&self, sha256: &str) -> Option<&'static str> {
        match self.plugins.get(sha256)? {
            Entry::Ready(plugin) => Some(plugin.pre.version()),
            Entry::InFlight(flight) => Some(flight.version),
        }
    }

    /// Forgets a module (its disk artifact stays).
    pub fn unload(&self, sha256: &str) -> bool {
        self.plugins.remove(sha256)
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
        let plugin = futures_executor::block_on(self.serving(sha256))?;
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
    /// by the check tier (timed), checked against the world and described like an upload,
    /// then compiled from scratch for serving (timed; the artifact cache is not used). The
    /// module is kept loaded, as after [`PluginRuntime::inspect`] and its serving compile.
    ///
    /// # Errors
    /// What an upload of these bytes would answer (`Invalid` …).
    pub async fn check(&self, wasm: &[u8]) -> Result<ModuleCheck, PluginError> {
        self.check_size(wasm)?;
        let bytes = wasm.to_vec();
        let checker = self.checker.clone();
        let compiler = self.compiler.clone();
        let checking = acquire(&self.checks).await?;
        let (sha256, checked, check_compile_ms, exports, imports, bytes) = blocking(move || {
            let sha256 = hex::encode(Sha256::digest(&bytes));
            let started = Instant::now();
            // As for an upload: what Winch cannot compile is checked with serving code.
            let (tier, component) = match checker.compile(&sha256, &bytes) {
                Ok(component) => (&checker, component),
                Err(_) => (&compiler, compiler.compile(&sha256, &bytes)?),
            };
            let check_compile_ms = elapsed_ms(started);
            let (exports, imports) = tier.names(&component);
            let checked = (tier.tier, tier.check(&component)?);
            Ok((sha256, checked, check_compile_ms, exports, imports, bytes))
        })
        .await?;
        let (tier, checked) = checked;
        let info = match tier {
            Tier::Check => self.describe_checked(&checked).await?,
            Tier::Serve => self.describe(&checked).await?,
        };
        drop(checking);

        let _compiling = acquire(&self.compiles).await?;
        let compiler = self.compiler.clone();
        let sha = sha256.clone();
        let (serving, compile_ms) = blocking(move || {
            let started = Instant::now();
            let component = compiler.compile(&sha, &bytes)?;
            let compile_ms = elapsed_ms(started);
            Ok((compiler.check(&component)?, compile_ms))
        })
        .await?;
        self.plugins.insert_ready(Arc::new(Plugin {
            sha256: sha256.clone(),
            pre: serving,
            info: info.clone(),
        }));
        Ok(ModuleCheck {
            sha256,
            size_bytes: wasm.len() as u64,
            contract_version: checked.version().to_owned(),
            world: checked.world(),
            exports,
            imports,
            check_compile_ms,
            compile_ms,
            info,
        })
    }

    /// The module's serving code, waiting for its background serving compile if one runs.
    async fn serving(&self, sha256: &str) -> Result<Arc<Plugin>, PluginError> {
        match self.plugins.get(sha256) {
            Some(Entry::Ready(plugin)) => Ok(plugin),
            Some(Entry::InFlight(flight)) => {
                bump(&self.counters.waited_for_compile);
                match flight.wait().await {
                    Some(Ok(plugin)) => Ok(plugin),
                    Some(Err(e)) => Err(PluginError::Unavailable(format!(
                        "plugin {} could not be compiled: {e}",
                        short(sha256)
                    ))),
                    None => Err(not_loaded(sha256)),
                }
            }
            None => Err(not_loaded(sha256)),
        }
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
            Ok(Err(_)) => Err(closed()),
            Err(_) => Err(self.saturated()),
        }
    }

    fn check_size(&self, wasm: &[u8]) -> Result<(), PluginError> {
        if wasm.len() > self.policy.max_module_bytes {
            return Err(PluginError::Invalid(format!(
                "the module is {} bytes; at most {} are accepted",
                wasm.len(),
                self.policy.max_module_bytes
            )));
        }
        Ok(())
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

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn not_loaded(sha256: &str) -> PluginError {
    PluginError::Unavailable(format!("plugin {} is not loaded", short(sha256)))
}

fn closed() -> PluginError {
    PluginError::Unavailable("the plugin runtime is closed".into())
}

async fn acquire(semaphore: &Arc<Semaphore>) -> Result<OwnedSemaphorePermit, PluginError> {
    Arc::clone(semaphore)
        .acquire_owned()
        .await
        .map_err(|_| closed())
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
    /// Checks an upload with the check tier; the module serves once its background serving
    /// compile is done (a `load` or a call waits for it).
    async fn inspect(&self, wasm: &[u8]) -> Result<InspectedPlugin, PluginError> {
        let checked = self.check_upload(wasm).await?;
        Ok(InspectedPlugin {
            sha256: checked.sha256,
            info: checked.info,
            contract_version: checked.version.to_owned(),
            exports: crate::wit::exports_of(checked.version)
                .iter()
                .map(|e| (*e).to_owned())
                .collect(),
        })
    }

    /// Only modules ready to serve: one still compiling for serving is not (its `load`
    /// waits for that compile).
    fn is_loaded(&self, sha256: &str) -> bool {
        self.plugins.ready(sha256).is_some()
    }

    async fn load(&self, sha256: &str, wasm: &[u8]) -> Result<(), PluginError> {
        if !is_sha256(sha256) {
            return Err(PluginError::Invalid(format!(
                "`{}` is not a lowercase hex SHA-256",
                sha256.escape_debug()
            )));
        }
        match self.plugins.get(sha256) {
            Some(Entry::Ready(_)) => self.same_module(sha256, wasm).await,
            Some(Entry::InFlight(flight)) => {
                self.same_module(sha256, wasm).await?;
                bump(&self.counters.waited_for_compile);
                if let Some(Ok(_)) = flight.wait().await {
                    return Ok(());
                }
                // The background compile failed or never ran: compile here, and say why
                // it fails if it does.
                self.admit(wasm, sha256).await.map(|_| ())
            }
            None => self.admit(wasm, sha256).await.map(|_| ()),
        }
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
        let plugin = match self.serving(sha256).await {
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

#[cfg(test)]
mod tests;
