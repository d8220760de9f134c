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
    /// Manage a tenant's order-type plugins from the command line (against the database).
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
        #[command(flatten)]
        settings: Settings,
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

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Upload a plugin module (a wasm32-wasip2 component) for a tenant.
    Upload {
        #[arg(long)]
        tenant: uuid::Uuid,
        /// The `.wasm` file.
        file: PathBuf,
        /// Also activate it for its order type with this JSON config.
        #[arg(long)]
        activate: Option<String>,
    },
    /// List a tenant's plugins and which version serves each order type.
    List {
        #[arg(long)]
        tenant: uuid::Uuid,
    },
}

/// The OpenAPI document as the committed file holds it: pretty JSON and a final newline.
pub fn openapi_json() -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(&trolley_api::openapi())?;
    text.push('\n');
    Ok(text)
}
