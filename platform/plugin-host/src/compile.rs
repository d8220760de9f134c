//! Turning bytes into a checked module: compile (or load the precompiled artifact), check
//! the imports against the allow-list and the exports against the world.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::Engine;
use wasmtime::component::{Component, HasSelf, Linker};

use trolley_core::domain::PluginError;

use crate::artifacts::ArtifactStore;
use crate::runtime::{Counters, bump, short};
use crate::sandbox::HostState;
use crate::wit::{self, OrderType, OrderTypePre};

/// The world's exports.
const WORLD_EXPORTS: &[&str] = &[
    "describe",
    "evaluate",
    "validate",
    "calculate-fees",
    "fulfillment-rules",
];
/// Imports of the world itself (types only), linked for real.
const WORLD_IMPORTS: &[&str] = &["trolley:order-type/types@1.0.0"];

impl wit::trolley::order_type::types::Host for HostState {}

/// A compiled module that passed the world and import checks but was not described yet.
pub(crate) struct Compiled {
    pub pre: OrderTypePre<HostState>,
    /// The precompiled artifact to persist once the module is accepted; `None` when it came
    /// from disk or there is no disk cache.
    pub artifact: Option<Vec<u8>>,
}

/// What the blocking compile step needs, cloned into it.
#[derive(Clone)]
pub(crate) struct Compiler {
    pub engine: Engine,
    pub artifacts: Option<ArtifactStore>,
    pub tolerated_imports: Arc<[String]>,
    pub counters: Arc<Counters>,
}

impl Compiler {
    /// The component for `sha256`: from its artifact if one is on disk, else compiled from
    /// `wasm`; then checked against the world.
    pub fn prepare(&self, sha256: &str, wasm: &[u8]) -> Result<Compiled, PluginError> {
        let from_disk = match &self.artifacts {
            Some(store) => match store.read(&self.engine, sha256) {
                Ok(found) => found,
                Err(e) => {
                    bump(&self.counters.artifacts_rejected);
                    tracing::warn!(sha256 = short(sha256), error = %e, "discarding plugin artifact");
                    store.remove(sha256);
                    None
                }
            },
            None => None,
        };
        let (component, artifact) = match from_disk {
            Some(component) => {
                bump(&self.counters.loaded_from_artifact);
                (component, None)
            }
            None => {
                let started = Instant::now();
                let component = Component::new(&self.engine, wasm).map_err(|e| {
                    PluginError::Invalid(format!("not a valid WebAssembly component: {e:#}"))
                })?;
                bump(&self.counters.compiled_from_scratch);
                tracing::debug!(
                    sha256 = short(sha256),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "compiled plugin"
                );
                let artifact = match &self.artifacts {
                    Some(_) => match component.serialize() {
                        Ok(bytes) => Some(bytes),
                        Err(e) => {
                            bump(&self.counters.artifact_write_failures);
                            tracing::warn!(sha256 = short(sha256), error = %e, "cannot serialise plugin artifact");
                            None
                        }
                    },
                    None => None,
                };
                (component, artifact)
            }
        };
        let pre = self.check(&component)?;
        Ok(Compiled { pre, artifact })
    }

    /// Checks imports against the allow-list and exports against the world.
    fn check(&self, component: &Component) -> Result<OrderTypePre<HostState>, PluginError> {
        let component_type = component.component_type();
        let refused: Vec<&str> = component_type
            .imports(&self.engine)
            .map(|(name, _)| name)
            .filter(|name| {
                !WORLD_IMPORTS.contains(name)
                    && !self
                        .tolerated_imports
                        .iter()
                        .any(|prefix| name.starts_with(prefix.as_str()))
            })
            .collect();
        if !refused.is_empty() {
            return Err(PluginError::Invalid(format!(
                "the component imports {}; a plugin gets no host capabilities (only the \
                 order-type world's types and {} imports, which trap, are accepted)",
                refused
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.tolerated_imports
                    .iter()
                    .map(|p| format!("`{p}*`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let exports: Vec<&str> = component_type
            .exports(&self.engine)
            .map(|(name, _)| name)
            .collect();
        let missing: Vec<&str> = WORLD_EXPORTS
            .iter()
            .copied()
            .filter(|name| !exports.contains(name))
            .collect();
        if !missing.is_empty() {
            let list = |names: &[&str]| {
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(PluginError::Invalid(format!(
                "the component does not implement the trolley:order-type world: it lacks {} \
                 (it exports {}); a Rust plugin exports it with \
                 `trolley_plugin_sdk::export_order_type!(YourType);`",
                list(&missing),
                if exports.is_empty() {
                    "nothing".to_owned()
                } else {
                    list(&exports)
                }
            )));
        }
        let link = |e: wasmtime::Error| {
            PluginError::Invalid(format!(
                "the component does not implement the trolley:order-type world: {e:#}"
            ))
        };
        let mut linker = Linker::<HostState>::new(&self.engine);
        OrderType::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)
            .map_err(link)?;
        linker
            .define_unknown_imports_as_traps(component)
            .map_err(link)?;
        let pre = linker.instantiate_pre(component).map_err(link)?;
        OrderTypePre::new(pre).map_err(link)
    }
}
