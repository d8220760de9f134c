use clap::Parser;
use trolley::cli::{Cli, Command, PluginCommand, TenantCommand};
use trolley::{Application, Services, demo, telemetry};
use trolley_core::domain::{Actor, TenantId};

/// glibc's allocator was ~13% of a cart read's and an add's CPU under load (BENCHMARKS.md);
/// mimalloc's per-thread heaps suit actix's thread-per-core workers.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Only a server exports traces; the one-shot commands just log.
    let otlp_endpoint = match &cli.command {
        Command::Serve(settings) => settings.otlp_endpoint.clone(),
        _ => None,
    };
    let telemetry = telemetry::init(otlp_endpoint.as_deref())?;
    let result = run(cli).await;
    // Whatever happened, what was traced is sent before the process ends.
    telemetry.shutdown().await;
    result
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(settings) => {
            let demo = settings.demo;
            let app = Application::build(settings.clone()).await?;
            if demo {
                let base = format!("http://127.0.0.1:{}", app.port());
                demo::seed(&app.services, &base).await?;
            }
            println!("Trolley listening on port {} (docs at /docs)", app.port());
            app.run_until_stopped().await?;
        }
        Command::Migrate(settings) => {
            Services::connect(&settings).await?;
            println!("migrations applied");
        }
        Command::Openapi { out } => {
            let json = trolley::cli::openapi_json()?;
            if out.as_os_str() == "-" {
                print!("{json}");
            } else {
                if let Some(dir) = out.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(&out, json)?;
                println!("wrote {}", out.display());
            }
        }
        Command::Plugin { command, settings } => {
            let services = Services::connect(&settings).await?;
            match command {
                PluginCommand::Upload {
                    tenant,
                    file,
                    activate,
                } => {
                    let tenant = services.tenants.get(TenantId(tenant)).await?;
                    let wasm = std::fs::read(&file)?;
                    let (plugin, created) = services
                        .plugins
                        .upload(&tenant, &wasm, &Actor::Operator)
                        .await?;
                    println!(
                        "{} plugin {} ({} {}, sha256 {})",
                        if created { "uploaded" } else { "already had" },
                        plugin.id,
                        plugin.info.order_type,
                        plugin.info.version,
                        plugin.sha256
                    );
                    if let Some(config) = activate {
                        let config: serde_json::Value = serde_json::from_str(&config)?;
                        let order_type = plugin.info.order_type.clone();
                        services
                            .plugins
                            .activate(
                                &tenant,
                                &order_type,
                                plugin.id,
                                Some(config),
                                &Actor::Operator,
                            )
                            .await?;
                        println!("activated for order type {order_type}");
                    }
                }
                PluginCommand::List { tenant } => {
                    let tenant = services.tenants.get(TenantId(tenant)).await?;
                    for p in services.plugins.list(&tenant).await? {
                        println!(
                            "{}  {:<10} {:<8} {}",
                            p.id, p.info.order_type, p.info.version, p.sha256
                        );
                    }
                    for a in services.plugins.order_types(&tenant).await? {
                        println!(
                            "active: {} → {} {}",
                            a.order_type, a.plugin.id, a.plugin.info.version
                        );
                    }
                }
            }
        }
        Command::ApiKey { command, remote } => {
            trolley::remote::api_key(command, remote).await?;
        }
        Command::Tenant { command, settings } => {
            let services = Services::connect(&settings).await?;
            match command {
                TenantCommand::Create { name, currency } => {
                    let (tenant, keys) = services.tenants.create(&name, currency.parse()?).await?;
                    println!("tenant_id:             {}", tenant.id);
                    println!("storefront_key:        {}", keys.storefront_key);
                    println!("admin_key:             {}", keys.admin_key);
                    println!("customer_token_secret: {}", keys.customer_token_secret);
                }
                TenantCommand::List => {
                    for t in services.tenants.list().await? {
                        println!(
                            "{}  {:<9}  {}  {}",
                            t.id,
                            t.status.as_str(),
                            t.currency,
                            t.name
                        );
                    }
                }
            }
        }
    }
    Ok(())
}
