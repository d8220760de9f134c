//! `trolley plugin …`: the plugin author's and tenant's commands.
//!
//! `new`, `check` and `run` need no server; `upload`, `activate`, `rollback`, `list`, `runs`
//! and `replay` talk to one with the tenant's admin key (`--url`, `TROLLEY_ADMIN_KEY`).
//! Results go to stdout (text, or JSON with `--json`); failures go to stderr and the process
//! exits non-zero. Logs never reach stdout.

mod local;
mod render;
mod scaffold;

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::{Value, json};
use std::path::Path;

use crate::cli::{PluginCommand, Remote};
use crate::remote::{AdminClient, text};

/// Runs `trolley plugin …`; `Err` for a refusal or a failed plugin call.
pub async fn run(command: PluginCommand, remote: Remote) -> anyhow::Result<()> {
    let json_out = remote.json;
    match command {
        PluginCommand::New {
            name,
            dir,
            sdk_path,
        } => {
            let created = scaffold::create(&name, dir.as_deref(), sdk_path.as_deref())?;
            println!("{created}");
        }
        PluginCommand::Check { file } => {
            let sandbox = local::Sandbox::new()?;
            let check = sandbox.check(&file).await?;
            if json_out {
                print_json(&render::check_json(&check))?;
            } else {
                print!("{}", render::check(&file.display().to_string(), &check));
            }
        }
        PluginCommand::Run {
            file,
            cart,
            config,
            context,
        } => {
            let sandbox = local::Sandbox::new()?;
            let loaded = sandbox.load(&file).await?;
            let cart = local::read_cart(&cart, context.as_deref())?;
            let config = local::read_config(config.as_deref())?;
            let call = sandbox.run(&loaded, &cart, &config).await?;
            if json_out {
                print_json(&render::call_json(loaded.json(), &call))?;
            } else {
                print!("{}", render::call(&loaded.summary(), &call));
            }
            if let Err(e) = &call.result {
                bail!("the plugin call failed: {e}");
            }
        }
        PluginCommand::Upload {
            file,
            activate,
            config,
            force,
        } => {
            let client = AdminClient::new(&remote)?;
            let wasm =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let plugin = client
                .send(
                    client
                        .request(Method::POST, "/v1/admin/plugins")
                        .header(reqwest::header::CONTENT_TYPE, "application/wasm")
                        .body(wasm),
                )
                .await?;
            let activation = if activate {
                let order_type = text(&plugin["order_type"]).to_owned();
                Some(
                    activate_on(
                        &client,
                        &order_type,
                        text(&plugin["plugin_id"]),
                        config.as_deref(),
                        force,
                    )
                    .await?,
                )
            } else {
                None
            };
            if json_out {
                print_json(&json!({"plugin": plugin, "activation": activation}))?;
            } else {
                println!(
                    "uploaded {} {} ({}, {} bytes, sha256 {})",
                    text(&plugin["order_type"]),
                    text(&plugin["version"]),
                    text(&plugin["plugin_id"]),
                    plugin["size_bytes"],
                    text(&plugin["sha256"]),
                );
                if let Some(version) = plugin["contract_version"].as_str() {
                    let exports: Vec<&str> = plugin["exports"]
                        .as_array()
                        .map(|e| e.iter().filter_map(|x| x.as_str()).collect())
                        .unwrap_or_default();
                    println!("  contract {version}, exports {}", exports.join(", "));
                }
                if let Some(a) = &activation {
                    print_activation("activated", a);
                }
            }
        }
        PluginCommand::Activate {
            order_type,
            plugin_id,
            config,
            force,
        } => {
            let client = AdminClient::new(&remote)?;
            let activation = activate_on(
                &client,
                &order_type,
                &plugin_id.to_string(),
                config.as_deref(),
                force,
            )
            .await?;
            if json_out {
                print_json(&activation)?;
            } else {
                print_activation("activated", &activation);
            }
        }
        PluginCommand::Rollback { order_type } => {
            let client = AdminClient::new(&remote)?;
            let activation = client
                .send(client.request(
                    Method::POST,
                    &format!("/v1/admin/order-types/{order_type}/rollback"),
                ))
                .await?;
            if json_out {
                print_json(&activation)?;
            } else {
                print_activation("rolled back to", &activation);
            }
        }
        PluginCommand::List => {
            let client = AdminClient::new(&remote)?;
            let plugins = client
                .send(client.request(Method::GET, "/v1/admin/plugins"))
                .await?;
            let active = client
                .send(client.request(Method::GET, "/v1/admin/order-types"))
                .await?;
            if json_out {
                print_json(&json!({"plugins": plugins, "order_types": active}))?;
                return Ok(());
            }
            println!(
                "{:<36}  {:<12}  {:<10}  {:>9}  SERVING",
                "PLUGIN_ID", "ORDER TYPE", "VERSION", "SIZE"
            );
            for p in plugins.as_array().into_iter().flatten() {
                let serving = active
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|a| a["plugin_id"] == p["plugin_id"]);
                println!(
                    "{:<36}  {:<12}  {:<10}  {:>9}  {}",
                    text(&p["plugin_id"]),
                    text(&p["order_type"]),
                    text(&p["version"]),
                    render::bytes(p["size_bytes"].as_u64().unwrap_or(0)),
                    if serving { "yes" } else { "" }
                );
            }
        }
        PluginCommand::Runs {
            order_type,
            run_id,
            failed,
            limit,
        } => {
            let client = AdminClient::new(&remote)?;
            match run_id {
                Some(id) => {
                    let run = client
                        .send(client.request(
                            Method::GET,
                            &format!("/v1/admin/order-types/{order_type}/runs/{id}"),
                        ))
                        .await?;
                    if json_out {
                        print_json(&run)?;
                    } else {
                        print!("{}", run_text(&run));
                    }
                }
                None => {
                    let page = client
                        .send(
                            client
                                .request(
                                    Method::GET,
                                    &format!("/v1/admin/order-types/{order_type}/runs"),
                                )
                                .query(&[
                                    ("failed", failed.to_string()),
                                    ("limit", limit.to_string()),
                                ]),
                        )
                        .await?;
                    if json_out {
                        print_json(&page)?;
                    } else {
                        print!("{}", runs_text(&page));
                    }
                }
            }
        }
        PluginCommand::Replay {
            run_id,
            with,
            order_type,
        } => {
            let client = AdminClient::new(&remote)?;
            let sandbox = local::Sandbox::new()?;
            let loaded = sandbox.load(&with).await?;
            let order_type = order_type.unwrap_or_else(|| loaded.module.info.order_type.clone());
            let run = client
                .send(client.request(
                    Method::GET,
                    &format!("/v1/admin/order-types/{order_type}/runs/{run_id}"),
                ))
                .await?;
            let cart = local::cart_from_value(run["input"].clone(), None)
                .context("the run's input is not a cart this version of trolley reads")?;
            let call = sandbox
                .run(&loaded, &cart, &run["plugin"]["config"])
                .await?;
            let changes = render::replay_diff(&run, &call);
            if json_out {
                print_json(&json!({
                    "run_id": run_id,
                    "recorded": {"plugin": run["plugin"], "output": run["output"], "failure": run["failure"]},
                    "replayed": render::call_json(loaded.json(), &call),
                    "changes": changes,
                }))?;
            } else {
                println!(
                    "run {run_id}: {} {} → {}",
                    order_type,
                    text(&run["plugin"]["version"]),
                    loaded.summary()
                );
                if changes.is_empty() {
                    println!("no change: the new build answers exactly as the recorded run");
                } else {
                    for c in &changes {
                        println!("{c}");
                    }
                }
                println!();
                print!("{}", render::call(&loaded.summary(), &call));
            }
            if let Err(e) = &call.result {
                bail!("the new build fails on this run's cart too: {e}");
            }
        }
    }
    Ok(())
}

fn print_json(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

async fn activate_on(
    client: &AdminClient,
    order_type: &str,
    plugin_id: &str,
    config: Option<&Path>,
    force: bool,
) -> anyhow::Result<Value> {
    let mut body = json!({"plugin_id": plugin_id, "force": force});
    if config.is_some() {
        body["config"] = local::read_config(config)?;
    }
    client
        .send(
            client
                .request(
                    Method::POST,
                    &format!("/v1/admin/order-types/{order_type}/activate"),
                )
                .json(&body),
        )
        .await
}

fn print_activation(what: &str, a: &Value) {
    println!(
        "{what} {} {} for order type {} (plugin {}), config {}",
        text(&a["name"]),
        text(&a["version"]),
        text(&a["order_type"]),
        text(&a["plugin_id"]),
        a["config"]
    );
}

fn runs_text(page: &Value) -> String {
    let mut out = format!(
        "{:<36}  {:<16}  {:<8}  {:>9}  {:<24}  OUTCOME\n",
        "RUN_ID", "TRIGGER", "VERSION", "TOOK", "AT"
    );
    for r in page["runs"].as_array().into_iter().flatten() {
        let outcome = match r["failure"].as_object() {
            Some(f) => format!(
                "FAILED {}: {}",
                f.get("kind").and_then(Value::as_str).unwrap_or("?"),
                f.get("message").and_then(Value::as_str).unwrap_or("")
            ),
            None => "ok".to_owned(),
        };
        out.push_str(&format!(
            "{:<36}  {:<16}  {:<8}  {:>6} µs  {:<24}  {outcome}\n",
            text(&r["run_id"]),
            text(&r["trigger"]),
            text(&r["version"]),
            r["duration_us"],
            text(&r["created_at"]),
        ));
    }
    if let Some(next) = page["next_cursor"].as_str() {
        out.push_str(&format!("(older runs: --json and cursor {next})\n"));
    }
    out
}

fn run_text(run: &Value) -> String {
    let mut out = String::new();
    out.push_str(&format!("run       {}\n", text(&run["run_id"])));
    out.push_str(&format!("at        {}\n", text(&run["created_at"])));
    out.push_str(&format!("trigger   {}\n", text(&run["trigger"])));
    out.push_str(&format!(
        "plugin    {} {} (plugin {}), config {}\n",
        text(&run["order_type"]),
        text(&run["plugin"]["version"]),
        text(&run["plugin"]["plugin_id"]),
        run["plugin"]["config"]
    ));
    let lines = run["input"]["lines"].as_array().map_or(0, Vec::len);
    out.push_str(&format!(
        "cart      {} ({lines} line{}), context {}\n",
        text(&run["input"]["cart_id"]),
        if lines == 1 { "" } else { "s" },
        run["input"]["context"]
    ));
    match run["failure"].as_object() {
        Some(f) => out.push_str(&format!(
            "result    FAILED ({})\nreason    {}\n",
            f.get("kind").and_then(Value::as_str).unwrap_or("?"),
            f.get("message").and_then(Value::as_str).unwrap_or("")
        )),
        None => out.push_str(&format!("result    ok\noutput    {}\n", run["output"])),
    }
    let report = &run["report"];
    out.push_str(&format!(
        "took      {} µs · fuel {} · peak memory {}\n",
        report["duration_us"],
        report["fuel_used"]
            .as_u64()
            .map_or("not metered".to_owned(), |f| f.to_string()),
        render::bytes(report["peak_memory_bytes"].as_u64().unwrap_or(0))
    ));
    let logs = report["logs"].as_array().cloned().unwrap_or_default();
    out.push_str(&format!("logs ({})\n", logs.len()));
    for l in &logs {
        out.push_str(&format!(
            "  {:<5} {}\n",
            text(&l["level"]),
            text(&l["message"])
        ));
    }
    out
}
