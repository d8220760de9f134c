//! Shared by the integration tests and the benchmark: guests built from this repository's
//! sources, carts, and a runtime with every plugin loaded.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use trolley_core::domain::{PluginCart, PluginLine};
use trolley_core::ports::PluginRuntime;
use trolley_plugin_host::{SandboxPolicy, WasmRuntime};

/// The guest components, each built once per test process by a nested `cargo build
/// --target wasm32-wasip2` (`trolley-wasm-build`), so the wasm under test always matches
/// the sources.
pub struct Guests {
    pub grocery: Vec<u8>,
    pub food: Vec<u8>,
    pub medicine: Vec<u8>,
    pub hostile: Vec<u8>,
    pub wrong_world: Vec<u8>,
    /// A contract-1.0.0 plugin built from the frozen WIT without the SDK (order type `legacy`).
    pub contract_v1_0: Vec<u8>,
    /// The SDK's doc example as a crate (`snacks`): the smallest useful plugin.
    pub minimal: Vec<u8>,
}

pub fn guests() -> &'static Guests {
    static GUESTS: OnceLock<Guests> = OnceLock::new();
    GUESTS.get_or_init(|| {
        let built = trolley_wasm_build::build_guests(&[
            "trolley-plugin-grocery",
            "trolley-plugin-food",
            "trolley-plugin-medicine",
            "trolley-plugin-hostile",
            "trolley-plugin-wrong-world",
            "trolley-plugin-contract-v1-0",
            "trolley-plugin-minimal",
        ])
        .unwrap_or_else(|message| panic!("cannot build the guest plugins: {message}"));
        let read = |package: &str| {
            let guest = built
                .iter()
                .find(|g| g.package == package)
                .unwrap_or_else(|| panic!("{package} was not built"));
            std::fs::read(&guest.path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", guest.path.display()))
        };
        Guests {
            grocery: read("trolley-plugin-grocery"),
            food: read("trolley-plugin-food"),
            medicine: read("trolley-plugin-medicine"),
            hostile: read("trolley-plugin-hostile"),
            wrong_world: read("trolley-plugin-wrong-world"),
            contract_v1_0: read("trolley-plugin-contract-v1-0"),
            minimal: read("trolley-plugin-minimal"),
        }
    })
}

/// The default policy with an artifact cache that outlives the test process, so only the
/// first run compiles each guest (a debug build of cranelift takes seconds per component).
pub fn cached_policy() -> SandboxPolicy {
    SandboxPolicy {
        cache_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plugin-artifacts")),
        ..SandboxPolicy::default()
    }
}

/// A runtime with the three real plugins and the hostile fixture loaded, shared by the tests.
pub struct Loaded {
    pub runtime: WasmRuntime,
    pub grocery: String,
    pub food: String,
    pub medicine: String,
    pub hostile: String,
}

pub fn loaded() -> &'static Loaded {
    static LOADED: OnceLock<Loaded> = OnceLock::new();
    LOADED.get_or_init(|| {
        // Not on the caller's runtime: a test may call this from inside `block_on`.
        std::thread::spawn(|| {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let runtime = WasmRuntime::new(cached_policy()).unwrap();
                let g = guests();
                // Inspected as an upload is, then loaded: the load waits for the background
                // serving compile, which would not outlive this tokio runtime.
                let sha = async |wasm: &[u8]| {
                    let sha = runtime.inspect(wasm).await.unwrap().sha256;
                    runtime.load(&sha, wasm).await.unwrap();
                    sha
                };
                let grocery = sha(&g.grocery).await;
                let food = sha(&g.food).await;
                let medicine = sha(&g.medicine).await;
                let hostile = sha(&g.hostile).await;
                Loaded {
                    grocery,
                    food,
                    medicine,
                    hostile,
                    runtime,
                }
            })
        })
        .join()
        .unwrap()
    })
}

pub fn line_id(i: usize) -> String {
    format!("0190b3f0-0000-7000-8000-{i:012}")
}

/// A grocery-like cart of `lines` lines: every line has an id, sku, price, category and
/// fulfillment mode; every fourth item is `cold_chain=true`; no seller or line attributes.
pub fn cart(lines: usize) -> PluginCart {
    PluginCart {
        cart_id: "0190b3f0-0000-7000-8000-ffffffffffff".into(),
        currency: "EUR".into(),
        subtotal: rust_decimal::Decimal::new(250 * lines as i64, 2),
        lines: (0..lines)
            .map(|i| PluginLine {
                line_id: line_id(i),
                sku: format!("SKU-{i:05}"),
                quantity: 1,
                unit_price: rust_decimal::Decimal::new(250, 2),
                category: "grocery".into(),
                seller: None,
                fulfillment: Some("delivery".into()),
                item_attributes: if i % 4 == 0 {
                    BTreeMap::from([("cold_chain".to_owned(), "true".to_owned())])
                } else {
                    BTreeMap::new()
                },
                line_attributes: BTreeMap::new(),
            })
            .collect(),
        context: BTreeMap::from([("delivery_slot".to_owned(), "2026-11-22T18:00".to_owned())]),
    }
}

/// A fresh, private directory under the system temp dir.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "trolley-plugin-host-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
