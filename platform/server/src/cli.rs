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

/// The OpenAPI document as the committed file holds it: pretty JSON and a final newline.
pub fn openapi_json() -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(&trolley_api::openapi())?;
    text.push('\n');
    Ok(text)
}
