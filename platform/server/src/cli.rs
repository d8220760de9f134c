//! The command line: `serve`, `migrate`, `openapi`, `tenant …`.

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
