use clap::Parser;
use trolley::cli::{Cli, Command, TenantCommand};
use trolley::{Application, Services, demo, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init();
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
