use clap::Parser;
use trolley::cli::{Cli, Command, TenantCommand};
use trolley::{Application, Services, demo, telemetry};

/// glibc's allocator was ~13% of a cart read's and an add's CPU under load (BENCHMARKS.md);
/// mimalloc's per-thread heaps suit actix's thread-per-core workers.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match start().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The reason and its causes on one line, never a backtrace: this is what a
            // person at a terminal reads.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn start() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Only a server exports traces; the one-shot commands just log.
    let otlp_endpoint = match &cli.command {
        Command::Serve(settings) => settings.otlp_endpoint.clone(),
        _ => None,
    };
    // The tools people run in a terminal print their results, not the server's info logs
    // (which go to stderr anyway); RUST_LOG still decides when set.
    let default_level = match &cli.command {
        // A failed plugin call is the command's own output there, not a warning.
        Command::Plugin { .. } => "error",
        Command::ApiKey { .. } => "warn",
        _ => "info",
    };
    let telemetry = telemetry::init(otlp_endpoint.as_deref(), default_level)?;
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
                let seed = demo::seed(&app.services, &settings.data_dir).await?;
                // Per process: a link from an earlier run's banner signs nobody in.
                let sign_in_token = trolley_core::domain::secret::generate("");
                app.demo_slot().set(seed.demo_tenant(sign_in_token.clone()));
                let base = demo::base_url(&settings.listen, app.port());
                let operator_token = app
                    .operator_token_generated
                    .then_some(app.operator_token.as_str());
                // The listener is bound: every link in it answers from now on.
                print!(
                    "{}",
                    demo::banner(&seed, &base, &sign_in_token, operator_token)
                );
            } else {
                println!("Trolley listening on port {} (docs at /docs)", app.port());
            }
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
        Command::Plugin { command, remote } => {
            trolley::plugin_cli::run(command, remote).await?;
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
