//! `trolley plugin check` and `run`, and the local half of `replay`: a module file in the
//! server's own sandbox (the same runtime, limits, output checks and config schema check),
//! with no server or database.

use anyhow::{Context, bail};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

use trolley_core::domain::{PluginCall, PluginCart, PluginError, PluginLimits, PluginLine};
use trolley_core::ports::{InspectedPlugin, PluginRuntime};
use trolley_plugin_host::{ModuleCheck, SandboxPolicy, WasmRuntime};

use super::render;

/// A cart file: a run record's `input` as it is, or a shorter hand-written cart (ids and the
/// subtotal are filled in).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CartFile {
    cart_id: Option<String>,
    currency: String,
    /// Computed from the lines when absent.
    subtotal: Option<Decimal>,
    lines: Vec<LineFile>,
    #[serde(default)]
    context: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineFile {
    line_id: Option<String>,
    sku: String,
    quantity: u32,
    unit_price: Decimal,
    category: String,
    seller: Option<String>,
    fulfillment: Option<String>,
    #[serde(default)]
    item_attributes: BTreeMap<String, String>,
    #[serde(default)]
    line_attributes: BTreeMap<String, String>,
}

impl CartFile {
    /// The cart, ids filled in as the server would have them (UUIDs: numbered lines
    /// `00000000-0000-0000-0000-000000000001` …).
    fn into_cart(self) -> anyhow::Result<PluginCart> {
        for (i, l) in self.lines.iter().enumerate() {
            if let Some(id) = &l.line_id
                && uuid::Uuid::parse_str(id).is_err()
            {
                bail!(
                    "line {} has line_id `{id}`, which is not a UUID (as the server's line ids are); leave it out to number the lines",
                    i + 1
                );
            }
        }
        let lines: Vec<PluginLine> = self
            .lines
            .into_iter()
            .enumerate()
            .map(|(i, l)| PluginLine {
                line_id: l
                    .line_id
                    .unwrap_or_else(|| uuid::Uuid::from_u128(i as u128 + 1).to_string()),
                sku: l.sku,
                quantity: l.quantity,
                unit_price: l.unit_price,
                category: l.category,
                seller: l.seller,
                fulfillment: l.fulfillment,
                item_attributes: l.item_attributes,
                line_attributes: l.line_attributes,
            })
            .collect();
        let subtotal = self.subtotal.unwrap_or_else(|| {
            lines
                .iter()
                .map(|l| (l.unit_price * Decimal::from(l.quantity)).round_dp(2))
                .sum()
        });
        Ok(PluginCart {
            cart_id: self
                .cart_id
                .unwrap_or_else(|| uuid::Uuid::nil().to_string()),
            currency: self.currency,
            subtotal,
            lines,
            context: self.context,
        })
    }
}

fn read_json(path: &Path, what: &str) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} file {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("the {what} file {} is not JSON", path.display()))
}

/// A cart from a cart file, with `context` (a JSON object of strings) laid over its own.
pub fn read_cart(path: &Path, context: Option<&Path>) -> anyhow::Result<PluginCart> {
    let value = read_json(path, "cart")?;
    cart_from_value(value, context)
        .with_context(|| format!("the cart file {} is not a cart", path.display()))
}

pub fn cart_from_value(value: Value, context: Option<&Path>) -> anyhow::Result<PluginCart> {
    let file: CartFile = serde_json::from_value(value)?;
    let mut cart = file.into_cart()?;
    if let Some(path) = context {
        let pairs: BTreeMap<String, String> = serde_json::from_value(read_json(path, "context")?)
            .with_context(|| {
                format!(
                    "the context file {} must be a JSON object of strings, e.g. {{\"delivery_slot\": \"18-20\"}}",
                    path.display()
                )
            })?;
        cart.context.extend(pairs);
    }
    Ok(cart)
}

pub fn read_config(path: Option<&Path>) -> anyhow::Result<Value> {
    match path {
        Some(path) => read_json(path, "config"),
        None => Ok(json!({})),
    }
}

/// The server's sandbox, in this process.
pub struct Sandbox {
    runtime: WasmRuntime,
}

/// A module loaded and described.
pub struct Loaded {
    pub module: InspectedPlugin,
    wasm_len: usize,
}

impl Sandbox {
    pub fn new() -> anyhow::Result<Self> {
        let runtime = WasmRuntime::new(SandboxPolicy {
            cache_dir: None,
            ..SandboxPolicy::default()
        })
        .context("starting the plugin runtime")?;
        Ok(Self { runtime })
    }

    /// `trolley plugin check`.
    pub async fn check(&self, path: &Path) -> anyhow::Result<ModuleCheck> {
        let wasm = read_module(path)?;
        self.runtime
            .check(&wasm)
            .await
            .map_err(|e| refused(path, &e))
    }

    pub async fn load(&self, path: &Path) -> anyhow::Result<Loaded> {
        let wasm = read_module(path)?;
        let module = self
            .runtime
            .inspect(&wasm)
            .await
            .map_err(|e| refused(path, &e))?;
        Ok(Loaded {
            module,
            wasm_len: wasm.len(),
        })
    }

    /// Checks `config` against the module's schema (as activation does), then runs it.
    pub async fn run(
        &self,
        loaded: &Loaded,
        cart: &PluginCart,
        config: &Value,
    ) -> anyhow::Result<PluginCall> {
        if let Err(e) = self.runtime.check_config(&loaded.module.info, config) {
            let errors = match e {
                PluginError::InvalidConfig(errors) => errors,
                other => vec![other.to_string()],
            };
            bail!(
                "the config does not match the plugin's schema (activation would refuse it):\n  - {}",
                errors.join("\n  - ")
            );
        }
        Ok(self
            .runtime
            .run(
                &loaded.module.sha256,
                cart,
                config,
                &PluginLimits::default(),
            )
            .await)
    }
}

impl Loaded {
    pub fn summary(&self) -> String {
        let info = &self.module.info;
        format!(
            "{} {} (contract {}, {}, sha256 {})",
            info.order_type,
            info.version,
            self.module.contract_version,
            render::bytes(self.wasm_len as u64),
            &self.module.sha256[..12.min(self.module.sha256.len())]
        )
    }

    pub fn json(&self) -> Value {
        let info = &self.module.info;
        json!({
            "order_type": info.order_type,
            "name": info.name,
            "version": info.version,
            "contract_version": self.module.contract_version,
            "sha256": self.module.sha256,
            "size_bytes": self.wasm_len,
        })
    }
}

fn read_module(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn refused(path: &Path, e: &PluginError) -> anyhow::Error {
    let reason = match e {
        PluginError::Invalid(reason) => reason.clone(),
        other => other.to_string(),
    };
    anyhow::anyhow!(
        "{} is not a loadable order-type plugin: {reason}",
        path.display()
    )
}
