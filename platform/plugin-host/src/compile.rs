//! Turning bytes into a checked module: compile (or load the precompiled artifact), check
//! the imports against the allow-list and the exports against the world.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::Engine;
use wasmtime::component::{Component, HasSelf, Linker};

use trolley_core::domain::PluginError;

use crate::artifacts::ArtifactStore;
use crate::engines::Tier;
use crate::runtime::{Counters, bump, short};
use crate::sandbox::HostState;
use crate::wit::{CURRENT_CONTRACT, v1_0, v1_1};

/// The exports every contract version's world has (1.0 also has three the host never calls).
const WORLD_EXPORTS: &[&str] = &["describe", "evaluate"];
/// Imports of the worlds themselves (types, and 1.1's `host`), linked for real.
const WORLD_IMPORTS: &[&str] = &[
    "trolley:order-type/types@1.0.0",
    "trolley:order-type/types@1.1.0",
    "trolley:order-type/host@1.1.0",
];

/// A checked module's pre-instantiated world, in the contract version it implements.
pub(crate) enum Contract {
    V1_0(v1_0::OrderTypePre<HostState>),
    V1_1(v1_1::OrderTypePre<HostState>),
}

impl Contract {
    /// `1.0.0`, `1.1.0`.
    pub fn version(&self) -> &'static str {
        match self {
            Self::V1_0(_) => "1.0.0",
            Self::V1_1(_) => "1.1.0",
        }
    }

    /// The world's name, e.g. `trolley:order-type/order-type@1.1.0`.
    pub fn world(&self) -> String {
        format!("trolley:order-type/order-type@{}", self.version())
    }
}

/// A serving-tier module that passed the world and import checks but was not described yet.
pub(crate) struct Compiled {
    pub pre: Contract,
    /// The precompiled artifact to persist once the module is accepted; `None` when it came
    /// from disk or there is no disk cache.
    pub artifact: Option<Vec<u8>>,
}

/// What the blocking compile step needs, cloned into it: one per tier (`engines.rs`).
#[derive(Clone)]
pub(crate) struct Compiler {
    pub engine: Engine,
    pub tier: Tier,
    /// Only the serving tier keeps artifacts: check-tier code is never kept.
    pub artifacts: Option<ArtifactStore>,
    pub tolerated_imports: Arc<[String]>,
    pub counters: Arc<Counters>,
}

impl Compiler {
    /// The component for `sha256`: from its artifact if one is on disk, else compiled from
    /// `wasm`; then checked against the world.
    pub fn prepare(&self, sha256: &str, wasm: &[u8]) -> Result<Compiled, PluginError> {
        let (component, artifact) = match self.read_artifact(sha256) {
            Some(component) => (component, None),
            None => {
                let component = self.compile(sha256, wasm)?;
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

    /// The component for `sha256` from its artifact on disk, checked against the world, if
    /// there is a usable one (loading it takes well under a millisecond).
    pub fn prepare_from_artifact(&self, sha256: &str) -> Option<Result<Contract, PluginError>> {
        self.read_artifact(sha256)
            .map(|component| self.check(&component))
    }

    fn read_artifact(&self, sha256: &str) -> Option<Component> {
        let store = self.artifacts.as_ref()?;
        match store.read(&self.engine, sha256) {
            Ok(Some(component)) => {
                bump(&self.counters.loaded_from_artifact);
                Some(component)
            }
            Ok(None) => None,
            Err(e) => {
                bump(&self.counters.artifacts_rejected);
                tracing::warn!(sha256 = short(sha256), error = %e, "discarding plugin artifact");
                store.remove(sha256);
                None
            }
        }
    }

    /// Compiles `wasm` from scratch with this tier's compiler (never from the artifact
    /// cache), counted per tier.
    pub fn compile(&self, sha256: &str, wasm: &[u8]) -> Result<Component, PluginError> {
        let started = Instant::now();
        let component =
            Component::new(&self.engine, wasm).map_err(|e| not_a_component(wasm, &e))?;
        bump(match self.tier {
            Tier::Check => &self.counters.check_compiles,
            Tier::Serve => &self.counters.compiled_from_scratch,
        });
        tracing::debug!(
            sha256 = short(sha256),
            tier = ?self.tier,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "compiled plugin"
        );
        Ok(component)
    }

    /// The component's export and import names, sorted, for `trolley plugin check`.
    pub fn names(&self, component: &Component) -> (Vec<String>, Vec<String>) {
        let component_type = component.component_type();
        let mut exports: Vec<String> = component_type
            .exports(&self.engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        let mut imports: Vec<String> = component_type
            .imports(&self.engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        exports.sort();
        imports.sort();
        (exports, imports)
    }

    /// Checks imports against the allow-list and exports against the world, and decides
    /// which contract version the component implements: 1.1 first (its pre-instantiation
    /// type-checks every export and import), then 1.0.
    pub fn check(&self, component: &Component) -> Result<Contract, PluginError> {
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
                 order-type world's own imports and {} imports, which trap, are accepted)",
                list(&refused),
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
            return Err(PluginError::Invalid(format!(
                "the component does not implement the trolley:order-type world \
                 ({CURRENT_CONTRACT}): it lacks {} (it exports {}); did you forget \
                 `trolley_plugin_sdk::export_order_type!(YourType);` at the root of the plugin \
                 crate?",
                list(&missing),
                if exports.is_empty() {
                    "nothing".to_owned()
                } else {
                    list(&exports)
                }
            )));
        }
        let current = match self.link_v1_1(component) {
            Ok(pre) => return Ok(Contract::V1_1(pre)),
            Err(e) => e,
        };
        if let Ok(pre) = self.link_v1_0(component) {
            return Ok(Contract::V1_0(pre));
        }
        Err(PluginError::Invalid(format!(
            "the component does not implement the trolley:order-type world \
             ({CURRENT_CONTRACT}, nor the older 1.0.0): {current:#}"
        )))
    }

    fn link_v1_1(&self, component: &Component) -> wasmtime::Result<v1_1::OrderTypePre<HostState>> {
        let mut linker = Linker::<HostState>::new(&self.engine);
        v1_1::OrderType::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| {
            state
        })?;
        linker.define_unknown_imports_as_traps(component)?;
        v1_1::OrderTypePre::new(linker.instantiate_pre(component)?)
    }

    fn link_v1_0(&self, component: &Component) -> wasmtime::Result<v1_0::OrderTypePre<HostState>> {
        let mut linker = Linker::<HostState>::new(&self.engine);
        v1_0::OrderType::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| {
            state
        })?;
        linker.define_unknown_imports_as_traps(component)?;
        v1_0::OrderTypePre::new(linker.instantiate_pre(component)?)
    }
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why `wasm` is not a component, with a hint for the usual mistakes.
fn not_a_component(wasm: &[u8], error: &wasmtime::Error) -> PluginError {
    // A core module's preamble: magic, then version 1 and layer 0.
    let hint = if wasm.starts_with(b"\0asm\x01\0\0\0") {
        " (this is a core WebAssembly module, not a component: build with \
         `cargo build --target wasm32-wasip2 --release`, which makes components; \
         `wasm32-unknown-unknown` and `wasm32-wasip1` make core modules)"
    } else if !wasm.starts_with(b"\0asm") {
        " (these bytes are not WebAssembly at all)"
    } else {
        ""
    };
    PluginError::Invalid(format!(
        "not a valid WebAssembly component: {error:#}{hint}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_core_module_is_told_to_build_for_wasip2() {
        let engine = Engine::default();
        let core = b"\0asm\x01\0\0\0";
        let error = Component::new(&engine, core).err().unwrap();
        let PluginError::Invalid(message) = not_a_component(core, &error) else {
            panic!("not Invalid");
        };
        assert!(
            message.starts_with("not a valid WebAssembly component"),
            "{message}"
        );
        assert!(
            message.contains("core WebAssembly module, not a component"),
            "{message}"
        );
        assert!(
            message.contains("cargo build --target wasm32-wasip2 --release"),
            "{message}"
        );
    }

    #[test]
    fn bytes_that_are_not_wasm_say_so() {
        let engine = Engine::default();
        let zip = b"PK\x03\x04";
        let error = Component::new(&engine, zip).err().unwrap();
        let PluginError::Invalid(message) = not_a_component(zip, &error) else {
            panic!("not Invalid");
        };
        assert!(message.contains("not WebAssembly at all"), "{message}");
    }
}
