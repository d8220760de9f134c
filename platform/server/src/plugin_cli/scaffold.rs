//! `trolley plugin new NAME`: a plugin crate that builds, tests and runs as it is — the
//! crate `plugin-sdk/README.md` walks through, with a sample cart and config for
//! `trolley plugin run`.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

/// The SDK next to the sources this binary was built from, when they are still there (a
/// binary built from a checkout scaffolds against that checkout's SDK; a released one
/// against the registry).
fn checkout_sdk() -> Option<PathBuf> {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugin-sdk");
    sdk.join("Cargo.toml")
        .is_file()
        .then(|| sdk.canonicalize().ok())
        .flatten()
}

fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'));
    if !ok {
        bail!(
            "`{name}` cannot name an order type: use 1-64 characters of a-z, 0-9, _ and -, starting with a letter"
        );
    }
    Ok(())
}

/// Writes the crate; answers what to do next.
pub fn create(name: &str, dir: Option<&Path>, sdk_path: Option<&Path>) -> anyhow::Result<String> {
    check_name(name)?;
    let dir = dir.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
    if dir.exists()
        && dir
            .read_dir()
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!("{} already exists and is not empty", dir.display());
    }
    let sdk = match sdk_path {
        Some(path) => {
            let path = path
                .canonicalize()
                .with_context(|| format!("no SDK at {}", path.display()))?;
            if !path.join("Cargo.toml").is_file() {
                bail!(
                    "{} has no Cargo.toml: pass the plugin-sdk folder of a Trolley checkout",
                    path.display()
                );
            }
            format!("{{ path = {:?} }}", path.display().to_string())
        }
        None => match checkout_sdk() {
            Some(path) => format!("{{ path = {:?} }}", path.display().to_string()),
            None => format!("\"{}\"", SDK_VERSION),
        },
    };
    let ident = name.replace('-', "_");
    let type_name = type_name(name);
    std::fs::create_dir_all(dir.join("src"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let files = [
        ("Cargo.toml", cargo_toml(name, &sdk)),
        ("src/lib.rs", lib_rs(name, &type_name)),
        ("cart.json", CART_JSON.replace("{name}", name)),
        ("config.json", CONFIG_JSON.to_owned()),
        (".gitignore", "/target\n".to_owned()),
        ("README.md", readme(name, &ident)),
    ];
    for (file, text) in files {
        let path = dir.join(file);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(format!(
        "created the `{name}` order type in {dir}\n\nnext:\n  cd {dir}\n  cargo test\n  cargo build --release --target wasm32-wasip2\n  trolley plugin run target/wasm32-wasip2/release/{ident}.wasm --cart cart.json --config config.json\n  trolley plugin upload target/wasm32-wasip2/release/{ident}.wasm --activate --config config.json",
        dir = dir.display()
    ))
}

/// The SDK release a scaffold asks the registry for.
const SDK_VERSION: &str = "1.1";

fn type_name(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

fn cargo_toml(name: &str, sdk: &str) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"

[lib]
# cdylib: the WebAssembly component; rlib: native unit tests.
crate-type = ["cdylib", "rlib"]

[dependencies]
trolley-plugin-sdk = {sdk}
serde = {{ version = "1", features = ["derive"] }}
schemars = "1"

# The smallest sound release profile: size-optimized, whole-program, stripped. A panic still
# runs the SDK's hook (its message is logged) before it ends the call.
[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
panic = "abort"
strip = true

# A crate of its own, even inside another workspace's folder.
[workspace]
"#
    )
}

fn lib_rs(name: &str, type_name: &str) -> String {
    LIB_RS.replace("{name}", name).replace("{Type}", type_name)
}

const LIB_RS: &str = r#"//! The `{name}` order type: which carts may check out, their fees and how they are
//! fulfilled. `cargo test` runs it natively; `trolley plugin run` runs the built `.wasm` in
//! Trolley's sandbox.

use trolley_plugin_sdk::log::info;
use trolley_plugin_sdk::prelude::*;

/// Tenant configuration of the `{name}` order type. Doc comments become the descriptions in
/// the JSON Schema that tenant admins' configurations are checked against.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Smallest subtotal that can check out (decimal string).
    pub min_order: Decimal,
    /// Packaging fee per order (decimal string).
    pub packaging_fee: Decimal,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            min_order: Decimal::new(1000, 2),
            packaging_fee: Decimal::new(50, 2),
        }
    }
}

/// The `{name}` order type.
pub struct {Type};

impl OrderType for {Type} {
    type Config = Config;

    fn describe() -> PluginInfo {
        PluginInfo::new("{name}", env!("CARGO_PKG_VERSION")).name("{Type}")
    }

    fn validate(cart: &Cart, config: &Config) -> Vec<Violation> {
        let mut violations = Vec::new();
        if cart.subtotal() < config.min_order {
            info!("subtotal {} is below {}", cart.subtotal(), config.min_order);
            violations.push(Violation::block_checkout(
                "{name}.min_order",
                format!("orders start at {}", config.min_order),
            ));
        }
        violations
    }

    fn calculate_fees(cart: &Cart, config: &Config) -> Vec<Fee> {
        if cart.is_empty() {
            return Vec::new();
        }
        // A fee cannot be negative: `Fee::new` refuses one.
        Fee::new("{name}.packaging", "Packaging", cart.round_money(config.packaging_fee))
            .into_iter()
            .collect()
    }
}

// The configuration's JSON Schema is embedded from this file, which a test the macro adds
// writes and keeps current (`TROLLEY_UPDATE_SCHEMA=1 cargo test` rewrites it).
export_order_type!({Type}, schema = "config.schema.json");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_order_cannot_check_out_and_pays_packaging() {
        let cart = CartBuilder::new("USD")
            .line(LineBuilder::new("CHIPS").quantity(2).price("2.50"))
            .build();
        let evaluation = testing::evaluate::<{Type}>(&cart, &Config::default());
        assert!(evaluation.has_violation("{name}.min_order"));
        assert_eq!(
            evaluation.fee_amount("{name}.packaging"),
            Some(Decimal::new(50, 2))
        );
    }

    #[test]
    fn a_large_order_can_check_out() {
        let cart = CartBuilder::new("USD")
            .line(LineBuilder::new("CHIPS").quantity(6).price("2.50"))
            .build();
        let evaluation = testing::evaluate::<{Type}>(&cart, &Config::default());
        assert!(evaluation.can_check_out());
    }
}
"#;

const CART_JSON: &str = r#"{
  "currency": "USD",
  "lines": [
    {"sku": "CHIPS", "quantity": 2, "unit_price": "2.50", "category": "{name}"}
  ],
  "context": {}
}
"#;

const CONFIG_JSON: &str = r#"{
  "min_order": "10.00",
  "packaging_fee": "0.50"
}
"#;

fn readme(name: &str, ident: &str) -> String {
    format!(
        r#"# {name}

A Trolley order type. See the SDK's README (`plugin-sdk/README.md`) for the whole story.

```sh
cargo test                                          # native tests; writes config.schema.json
cargo build --release --target wasm32-wasip2        # rustup target add wasm32-wasip2, once
trolley plugin run target/wasm32-wasip2/release/{ident}.wasm --cart cart.json --config config.json
export TROLLEY_ADMIN_KEY=…                          # a tenant admin key (and --url)
trolley plugin upload target/wasm32-wasip2/release/{ident}.wasm --activate --config config.json
```

Then map catalog categories to it in the tenant config:
`"category_order_types": {{"{name}": "{name}"}}`.
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_types_and_bad_names_are_refused() {
        assert_eq!(type_name("snacks"), "Snacks");
        assert_eq!(type_name("late-night_food"), "LateNightFood");
        assert!(check_name("snacks-2").is_ok());
        for bad in ["", "Snacks", "2go", "a b", "x/y"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
