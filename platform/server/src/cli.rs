//! The command line: `serve`, `migrate`, `openapi`, `tenant …`, `plugin …`, `api-key …`.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

use crate::settings::Settings;

#[derive(Debug, Parser)]
#[command(name = "trolley", version, about = "Multi-tenant cart platform")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (SQLite under ./data unless DATABASE_URL is set).
    Serve(Settings),
    /// Apply pending database migrations and exit.
    Migrate(Settings),
    /// Write the OpenAPI document (to stdout with `--out -`).
    Openapi {
        #[arg(long, default_value = "openapi/openapi.json")]
        out: PathBuf,
    },
    /// Write, run and ship order-type plugins: `new`, `check` and `run` work on a local
    /// `.wasm` with no server; the rest talk to a server with the tenant's admin key
    /// (TROLLEY_ADMIN_KEY).
    #[command(after_help = PLUGIN_HELP)]
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
        #[command(flatten)]
        remote: Remote,
    },
    /// Manage tenants from the command line.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
        #[command(flatten)]
        settings: Settings,
    },
    /// Manage a tenant's API keys over HTTP with its admin key (TROLLEY_ADMIN_KEY).
    #[command(
        name = "api-key",
        after_help = "Examples:\n  export TROLLEY_ADMIN_KEY=tak_…\n  trolley api-key list\n  trolley api-key create --kind storefront --name \"mobile app\"\n  trolley api-key revoke 0193c0de-…\n  trolley api-key list --json --url https://trolley.example.com"
    )]
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
        #[command(flatten)]
        remote: Remote,
    },
}

/// Where and as whom the HTTP commands talk, and how they print.
#[derive(Debug, Clone, clap::Args)]
pub struct Remote {
    /// The Trolley server (any node).
    #[arg(
        long,
        env = "TROLLEY_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub url: String,
    /// The tenant's admin key.
    #[arg(long, env = "TROLLEY_ADMIN_KEY", hide_env_values = true, global = true)]
    pub admin_key: Option<String>,
    /// Print the API's JSON instead of text, for scripts.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyKindArg {
    Storefront,
    Admin,
}

impl KeyKindArg {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKindArg::Storefront => "storefront",
            KeyKindArg::Admin => "admin",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// List the tenant's keys, revoked ones included (never their secrets).
    #[command(after_help = "Example: trolley api-key list --json")]
    List,
    /// Create a key; it is printed this once.
    #[command(
        after_help = "Example: trolley api-key create --kind storefront --name \"mobile app\""
    )]
    Create {
        #[arg(long, value_enum)]
        kind: KeyKindArg,
        /// 1–100 characters.
        #[arg(long)]
        name: String,
    },
    /// Revoke a key (not the one you are using, nor the tenant's last admin key).
    #[command(after_help = "Example: trolley api-key revoke 0193c0de-5f1e-7c2a-9d1b-3f6a2b8c4e10")]
    Revoke {
        /// The key's `key_id` (from `list`).
        key_id: uuid::Uuid,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and print its keys (shown once).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "USD")]
        currency: String,
    },
    /// List tenants.
    List,
}

const PLUGIN_HELP: &str = "From an empty directory to a live plugin:
  trolley plugin new snacks && cd snacks
  cargo test
  cargo build --release --target wasm32-wasip2
  trolley plugin run target/wasm32-wasip2/release/snacks.wasm --cart cart.json
  export TROLLEY_ADMIN_KEY=tak_…
  trolley plugin upload target/wasm32-wasip2/release/snacks.wasm --activate --config config.json";

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Scaffold a plugin crate that builds and tests as it is.
    #[command(after_help = "Example: trolley plugin new snacks")]
    New {
        /// The order type and crate name: a-z, 0-9, `_` and `-`.
        name: String,
        /// Where to create it (default: ./NAME).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Depend on the SDK at this path instead of the registry (or the checkout this
        /// binary was built from).
        #[arg(long)]
        sdk_path: Option<PathBuf>,
    },
    /// Report what a module is: world, contract version, exports, size, compile time.
    #[command(
        after_help = "Example: trolley plugin check target/wasm32-wasip2/release/snacks.wasm"
    )]
    Check {
        /// The `.wasm` component.
        file: PathBuf,
    },
    /// Run a module on a cart in the server's sandbox, limits and output checks, with no
    /// server: prints the evaluation, duration, fuel, peak memory and the plugin's logs; exits
    /// non-zero with the reason when the call fails.
    #[command(
        after_help = "Example: trolley plugin run snacks.wasm --cart cart.json --config config.json --context context.json\n\nThe cart file is a run record's `input` or a shorter hand-written cart:\n  {\"currency\": \"USD\", \"lines\": [{\"sku\": \"MILK\", \"quantity\": 2, \"unit_price\": \"1.20\", \"category\": \"dairy\", \"item_attributes\": {\"cold_chain\": \"true\"}}], \"context\": {\"delivery_slot\": \"18-20\"}}"
    )]
    Run {
        /// The `.wasm` component.
        file: PathBuf,
        /// The cart, as JSON.
        #[arg(long)]
        cart: PathBuf,
        /// The tenant configuration, as JSON (default `{}`: the plugin's defaults).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Request context pairs, as a JSON object of strings; they override the cart's.
        #[arg(long)]
        context: Option<PathBuf>,
    },
    /// Upload a module; with `--activate`, also make it serve its order type.
    #[command(
        after_help = "Example: trolley plugin upload snacks.wasm --activate --config config.json"
    )]
    Upload {
        /// The `.wasm` component.
        file: PathBuf,
        /// Activate it for its order type (checked on recent carts first).
        #[arg(long)]
        activate: bool,
        /// With `--activate`: the config, as JSON (default: keep the current one).
        #[arg(long, requires = "activate")]
        config: Option<PathBuf>,
        /// With `--activate`: skip the check on recent carts.
        #[arg(long, requires = "activate")]
        force: bool,
    },
    /// Make an uploaded version serve an order type (checked on recent carts first).
    #[command(
        after_help = "Example: trolley plugin activate snacks --plugin-id 0193c0de-… --config config.json"
    )]
    Activate {
        order_type: String,
        #[arg(long)]
        plugin_id: uuid::Uuid,
        /// The config, as JSON (default: keep the current one).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Skip the check on recent carts.
        #[arg(long)]
        force: bool,
    },
    /// Go back to the version and config an order type was served with before.
    #[command(after_help = "Example: trolley plugin rollback snacks")]
    Rollback { order_type: String },
    /// The tenant's plugins and which version serves each order type.
    List,
    /// Recorded calls of an order type's plugin, newest first; with a RUN_ID, that run whole.
    #[command(
        after_help = "Examples:\n  trolley plugin runs snacks --failed\n  trolley plugin runs snacks 0193c0de-…"
    )]
    Runs {
        order_type: String,
        run_id: Option<uuid::Uuid>,
        /// Only failed calls.
        #[arg(long)]
        failed: bool,
        /// How many (1-100).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Re-run a recorded call's cart, config and context with a new build, locally, and show
    /// what changes.
    #[command(after_help = "Example: trolley plugin replay 0193c0de-… --with snacks.wasm")]
    Replay {
        run_id: uuid::Uuid,
        /// The new build.
        #[arg(long = "with")]
        with: PathBuf,
        /// The run's order type (default: the one the new build implements).
        #[arg(long)]
        order_type: Option<String>,
    },
}

/// The OpenAPI document as the committed file holds it: pretty JSON and a final newline.
pub fn openapi_json() -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(&trolley_api::openapi())?;
    text.push('\n');
    Ok(text)
}
