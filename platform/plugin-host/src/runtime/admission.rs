//! How a module becomes one this runtime serves: an upload is checked by the check tier
//! (Winch) and answered, its serving compile (Cranelift) runs in the background; a `load`
//! admits a module for serving, waiting for a compile in flight instead of starting another.

use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

use trolley_core::domain::{PluginError, PluginInfo};

use super::{
    CheckStep, Checked, Counters, Plugin, WasmRuntime, acquire, blocking, bump, elapsed_ms, short,
};
use crate::artifacts::ArtifactStore;
use crate::call;
use crate::compile::{Compiled, Compiler, Contract};
use crate::registry::{Entry, FlightGuard, Outcome};

impl WasmRuntime {
    /// An upload's check ([`PluginRuntime::inspect`]), timed and logged.
    pub(super) async fn check_upload(&self, wasm: &[u8]) -> Result<Checked, PluginError> {
        let started = Instant::now();
        let result = self.check_upload_inner(wasm).await;
        let elapsed_ms = elapsed_ms(started);
        match &result {
            Ok(checked) => tracing::info!(
                sha256 = short(&checked.sha256),
                order_type = %checked.info.order_type,
                version = %checked.info.version,
                elapsed_ms,
                "plugin module checked"
            ),
            Err(e) => tracing::info!(error = %e, elapsed_ms, "plugin module refused"),
        }
        result
    }

    /// A known module is answered as it is; one whose serving artifact is on disk is loaded
    /// from it; any other is compiled by the check tier, checked and described, and its
    /// serving compile started in the background.
    pub(super) async fn check_upload_inner(&self, wasm: &[u8]) -> Result<Checked, PluginError> {
        self.check_size(wasm)?;
        let _checking = acquire(&self.checks).await?;
        let bytes = wasm.to_vec();
        let plugins = Arc::clone(&self.plugins);
        let compiler = self.compiler.clone();
        let checker = self.checker.clone();
        let (sha256, step, bytes) = blocking(move || {
            let sha256 = hex::encode(Sha256::digest(&bytes));
            let step = if let Some(entry) = plugins.get(&sha256) {
                CheckStep::Known(entry)
            } else if let Some(serving) = compiler.prepare_from_artifact(&sha256) {
                CheckStep::Serving(Compiled {
                    pre: serving?,
                    artifact: None,
                })
            } else {
                match checker.compile(&sha256, &bytes) {
                    Ok(component) => CheckStep::Checked(checker.check(&component)?),
                    // Winch lacks a few proposals Cranelift has (see `engines.rs`): what it
                    // cannot compile is compiled for serving, which refuses what is really
                    // invalid with the serving tier's own words.
                    Err(e) => {
                        tracing::debug!(sha256 = short(&sha256), error = %e, "the check tier cannot compile the module");
                        CheckStep::Serving(compiler.prepare(&sha256, &bytes)?)
                    }
                }
            };
            Ok((sha256, step, bytes))
        })
        .await?;
        match step {
            CheckStep::Known(Entry::Ready(plugin)) => Ok(Checked {
                sha256,
                info: plugin.info.clone(),
                version: plugin.pre.version(),
            }),
            CheckStep::Known(Entry::InFlight(flight)) => Ok(Checked {
                sha256,
                info: flight.info.clone(),
                version: flight.version,
            }),
            CheckStep::Serving(compiled) => {
                let plugin = self.accept(sha256, compiled).await?;
                Ok(Checked {
                    sha256: plugin.sha256.clone(),
                    info: plugin.info.clone(),
                    version: plugin.pre.version(),
                })
            }
            CheckStep::Checked(pre) => {
                let info = self.describe_checked(&pre).await?;
                let version = pre.version();
                if let Some(flight) = self.plugins.start_flight(&sha256, info.clone(), version) {
                    self.compile_for_serving(flight, bytes);
                }
                Ok(Checked {
                    sha256,
                    info,
                    version,
                })
            }
        }
    }

    /// Compiles a checked module for serving in the background: the task waits for a
    /// compile permit, then compiles on the blocking pool, writes the artifact and makes the
    /// module serve (or forgets it, should the compile fail: the next `load` compiles again
    /// and reports why).
    pub(super) fn compile_for_serving(&self, flight: FlightGuard, wasm: Vec<u8>) {
        let compiles = Arc::clone(&self.compiles);
        let compiler = self.compiler.clone();
        let counters = Arc::clone(&self.counters);
        // Dropped unspawned (no runtime), the guard forgets the module: a `load` compiles it.
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        handle.spawn(async move {
            let Ok(permit) = compiles.acquire_owned().await else {
                return;
            };
            // Not awaited: once started, the compile finishes and publishes its outcome
            // even if the runtime that spawned it shuts down.
            drop(tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let outcome = compile_checked(&compiler, &counters, &flight, &wasm);
                if let Err(e) = &outcome {
                    tracing::warn!(sha256 = short(flight.sha256()), error = %e, "plugin serving compile failed");
                }
                flight.finish(outcome);
            }));
        });
    }

    /// Compiles (or loads from disk) and checks a module for serving, describes it, persists
    /// its artifact and keeps it: `load`. `expected` is the hash the caller claims.
    pub(super) async fn admit(
        &self,
        wasm: &[u8],
        expected: &str,
    ) -> Result<Arc<Plugin>, PluginError> {
        let started = Instant::now();
        let result = self.admit_inner(wasm, expected).await;
        let elapsed_ms = elapsed_ms(started);
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

    pub(super) async fn admit_inner(
        &self,
        wasm: &[u8],
        expected: &str,
    ) -> Result<Arc<Plugin>, PluginError> {
        self.check_size(wasm)?;
        let _compiling = acquire(&self.compiles).await?;
        let wasm = wasm.to_vec();
        let expected = expected.to_owned();
        let compiler = self.compiler.clone();
        let plugins = Arc::clone(&self.plugins);
        let (sha256, compiled) = blocking(move || {
            let sha256 = hex::encode(Sha256::digest(&wasm));
            if expected != sha256 {
                return Err(PluginError::Invalid(format!(
                    "the module's SHA-256 is {sha256}, not {expected}"
                )));
            }
            if let Some(plugin) = plugins.ready(&sha256) {
                return Ok((sha256, Err(plugin)));
            }
            let compiled = compiler.prepare(&sha256, &wasm)?;
            Ok((sha256, Ok(compiled)))
        })
        .await?;
        match compiled {
            Ok(compiled) => self.accept(sha256, compiled).await,
            Err(already_loaded) => Ok(already_loaded),
        }
    }

    /// Describes a module compiled for serving, persists its artifact and keeps it.
    pub(super) async fn accept(
        &self,
        sha256: String,
        compiled: Compiled,
    ) -> Result<Arc<Plugin>, PluginError> {
        let info = self.describe(&compiled.pre).await?;
        let plugin = Arc::new(Plugin {
            sha256: sha256.clone(),
            pre: compiled.pre,
            info,
        });
        if let (Some(artifact), Some(store)) = (compiled.artifact, self.compiler.artifacts.clone())
        {
            let counters = Arc::clone(&self.counters);
            // Best effort: without the artifact the module is only recompiled after a restart.
            let _ = blocking(move || {
                persist(&store, &counters, &sha256, &artifact);
                Ok(())
            })
            .await;
        }
        Ok(self.plugins.insert_ready(plugin))
    }

    /// Calls `describe` of a serving-tier module in a sandbox and checks its answer. Every
    /// failure refuses the module.
    pub(super) async fn describe(&self, pre: &Contract) -> Result<PluginInfo, PluginError> {
        let _slot = self.slot().await?;
        let limits = self.policy.clamp(&self.policy.describe_limits);
        call::describe(&self.sandbox, pre, &limits).await
    }

    /// [`Self::describe`] of a check-tier module, under the same limits. The caller holds a
    /// check permit, and the check pool has a slot for each.
    pub(super) async fn describe_checked(&self, pre: &Contract) -> Result<PluginInfo, PluginError> {
        let limits = self.policy.clamp(&self.policy.describe_limits);
        call::describe(&self.check_sandbox, pre, &limits).await
    }

    /// Refuses bytes that are not the module the caller names.
    pub(super) async fn same_module(&self, sha256: &str, wasm: &[u8]) -> Result<(), PluginError> {
        let wasm = wasm.to_vec();
        let digest = blocking(move || Ok(hex::encode(Sha256::digest(&wasm)))).await?;
        if digest == sha256 {
            Ok(())
        } else {
            Err(PluginError::Invalid(format!(
                "the module's SHA-256 is {digest}, not {sha256}"
            )))
        }
    }
}

/// The serving compile of a module the check tier accepted, on the blocking pool: compiled
/// (or loaded from its artifact), checked against the world by the serving engine, its
/// artifact written. `describe` is not called again: the check's answer is kept.
pub(super) fn compile_checked(
    compiler: &Compiler,
    counters: &Counters,
    flight: &FlightGuard,
    wasm: &[u8],
) -> Outcome {
    let started = Instant::now();
    let sha256 = flight.sha256();
    let compiled = compiler.prepare(sha256, wasm)?;
    let checked = flight.flight();
    if compiled.pre.version() != checked.version {
        return Err(PluginError::Invalid(format!(
            "compiled for serving, the module implements contract {}, not {} as checked",
            compiled.pre.version(),
            checked.version
        )));
    }
    if let (Some(artifact), Some(store)) = (compiled.artifact, &compiler.artifacts) {
        persist(store, counters, sha256, &artifact);
    }
    tracing::info!(
        sha256 = short(sha256),
        elapsed_ms = elapsed_ms(started),
        "plugin module compiled for serving"
    );
    Ok(Arc::new(Plugin {
        sha256: sha256.to_owned(),
        pre: compiled.pre,
        info: checked.info.clone(),
    }))
}

/// Writes an artifact; a failure is counted and logged (the module still serves, it will
/// only be compiled again after a restart).
pub(super) fn persist(store: &ArtifactStore, counters: &Counters, sha256: &str, artifact: &[u8]) {
    if let Err(e) = store.write(sha256, artifact) {
        bump(&counters.artifact_write_failures);
        tracing::warn!(sha256 = short(sha256), error = %e, "cannot write plugin artifact");
    }
}
