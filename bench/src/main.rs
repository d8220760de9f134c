//! `trolley-bench seed`: fills a running Trolley server, over its public HTTP API, with the
//! data set the `wrk` scenarios of `scripts/bench.sh` drive, and writes what their Lua
//! scripts need (`data.lua`).
//!
//! The data set:
//! - one tenant (USD) whose categories `grocery`, `food` and `medicine` map to the order
//!   types of the same names, with the three example plugins uploaded and activated;
//! - a catalog of `--skus` items (60 % grocery `G00000…`, 20 % food `F00-000…` sold by 20
//!   outlets, 20 % medicine `M0000…`), every one of them stock-tracked with plenty on hand,
//!   so adds check stock and checkouts reserve it;
//! - one "hot" grocery cart of exactly 5 lines (the cache-hit read);
//! - `--carts` guest carts of 1–`--max-lines` lines, each of one order type (a cart
//!   takes the order type of its first line);
//! - `--checkout-carts` small grocery carts (1–3 lines) that nothing else touches, since a
//!   cart checks out once.
//!
//! Sku names are arithmetic so the Lua scripts can pick a valid sku for a cart's order
//! type without a list: see [`Layout`].

use anyhow::{Context as _, anyhow, bail};
use clap::{Parser, Subcommand};
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

mod lua;
mod plan;
use lua::data_lua;
use plan::{CartPlan, Kind, Layout, Rng, plan_cart, plan_checkout_cart};

/// The example order types, built from `plugins/` by the build script.
const PLUGINS: [(&str, &[u8]); 3] = [
    (
        "grocery",
        include_bytes!(env!("TROLLEY_PLUGIN_GROCERY_WASM")),
    ),
    ("food", include_bytes!(env!("TROLLEY_PLUGIN_FOOD_WASM"))),
    (
        "medicine",
        include_bytes!(env!("TROLLEY_PLUGIN_MEDICINE_WASM")),
    ),
];

/// The catalog's batch endpoint takes at most this many items per call.
const BATCH: usize = 1000;

#[derive(Debug, Parser)]
#[command(
    name = "trolley-bench",
    about = "Seeds a Trolley server for the load benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a tenant, its plugins, catalog, stock and carts; write `<out>/data.lua`.
    Seed(SeedArgs),
}

#[derive(Debug, Clone, clap::Args)]
struct SeedArgs {
    /// Base URL of the server, e.g. `http://127.0.0.1:8080`.
    #[arg(long)]
    url: String,
    /// The server's operator token.
    #[arg(long, env = "TROLLEY_OPERATOR_TOKEN", hide_env_values = true)]
    operator_token: String,
    /// Where to write `data.lua` and `seed.json`.
    #[arg(long)]
    out: PathBuf,
    /// Catalog size (at least 100).
    #[arg(long, default_value_t = 10_000)]
    skus: usize,
    /// Carts of 1–`max-lines` lines.
    #[arg(long, default_value_t = 10_000)]
    carts: usize,
    /// Most lines of one seeded cart.
    #[arg(long, default_value_t = 20)]
    max_lines: usize,
    /// Extra small carts kept for the checkout scenario.
    #[arg(long, default_value_t = 2_000)]
    checkout_carts: usize,
    /// Requests in flight while seeding.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Tenant and per-shopper rate limit (requests/s and burst) to configure; 0 leaves the
    /// tenant's defaults.
    #[arg(long, default_value_t = 10_000_000)]
    rate_limit: u32,
    /// A shell command run after the catalog and stock are loaded and again at the end,
    /// e.g. `psql … -c ANALYZE`: a freshly bulk-loaded table has no planner statistics,
    /// and PostgreSQL then reads a tenant's whole catalog for every `sku IN (…)` lookup
    /// until autovacuum analyzes it.
    #[arg(long)]
    analyze_cmd: Option<String>,
    /// Once seeded, subscribe this URL to every event of the tenant (a webhook endpoint), so
    /// the scenarios run with deliveries going out (`BENCH_WEBHOOK=1` in `scripts/bench.sh`).
    #[arg(long)]
    webhook_url: Option<String>,
    /// Seed of the pseudo-random choices (same seed, same data set).
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// A created guest cart.
#[derive(Debug, Clone)]
struct Seeded {
    id: String,
    token: String,
    kind: Kind,
    lines: usize,
}

struct Api {
    client: Client,
    base: String,
}

impl Api {
    fn new(base: &str, concurrency: usize) -> anyhow::Result<Self> {
        let client = Client::builder()
            .pool_max_idle_per_host(concurrency)
            .pool_idle_timeout(Duration::from_secs(20))
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    /// Sends a request, retrying transport errors a few times; answers the JSON body of a
    /// success and fails with the body of anything else.
    async fn send(&self, what: &str, build: impl Fn() -> RequestBuilder) -> anyhow::Result<Value> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match build().send().await {
                Ok(res) => {
                    let status = res.status();
                    let text = res.text().await.unwrap_or_default();
                    if status.is_success() {
                        return Ok(serde_json::from_str(&text).unwrap_or(Value::Null));
                    }
                    if status == StatusCode::SERVICE_UNAVAILABLE && attempt < 3 {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                    bail!("{what}: {status}: {text}");
                }
                Err(e) if attempt < 3 && (e.is_connect() || e.is_request()) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(anyhow!(e).context(what.to_owned())),
            }
        }
    }
}

fn text<'a>(v: &'a Value, field: &str) -> anyhow::Result<&'a str> {
    v[field]
        .as_str()
        .ok_or_else(|| anyhow!("answer lacks `{field}`: {v}"))
}

/// Runs `job(i)` for every `i < n` with `concurrency` in flight; fails on the first error.
async fn for_each<F, Fut, T>(n: usize, concurrency: usize, job: F) -> anyhow::Result<Vec<T>>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.clamp(1, n.max(1)) {
        let next = next.clone();
        let job = job.clone();
        workers.spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(done);
                }
                done.push((i, job(i).await?));
            }
        });
    }
    let mut all = Vec::with_capacity(n);
    while let Some(joined) = workers.join_next().await {
        all.extend(joined??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, t)| t).collect())
}

struct Tenant {
    id: String,
    storefront: String,
    admin: String,
}

async fn create_tenant(api: &Api, operator: &str) -> anyhow::Result<Tenant> {
    let body = api
        .send("create tenant", || {
            api.request(Method::POST, "/v1/platform/tenants")
                .bearer_auth(operator)
                .json(&json!({"name": "Bench store", "currency": "USD"}))
        })
        .await?;
    Ok(Tenant {
        id: text(&body, "tenant_id")?.to_owned(),
        storefront: text(&body, "storefront_key")?.to_owned(),
        admin: text(&body, "admin_key")?.to_owned(),
    })
}

async fn configure(api: &Api, tenant: &Tenant, rate_limit: u32) -> anyhow::Result<()> {
    let mut config = json!({
        "category_order_types": {
            "grocery": "grocery", "food": "food", "medicine": "medicine"
        },
    });
    // Every wrk connection comes from one address and scenario 1 reads one cart: the
    // default limits would answer 429 to almost all of it. The limiter still runs on every
    // request (its cost is measured); it just never refuses. The operator's maxima must be
    // raised as well (scripts/bench.sh sets TROLLEY_MAX_*).
    let limited = rate_limit > 0;
    if limited {
        let limit = json!({"per_second": rate_limit, "burst": rate_limit});
        config["rate_limit"] = limit.clone();
        config["shopper_rate_limit"] = limit;
    }
    let put = |config: Value| async move {
        api.send("put config", || {
            api.request(Method::PUT, "/v1/admin/config")
                .bearer_auth(&tenant.admin)
                .json(&config)
        })
        .await
    };
    let answer = put(config.clone()).await;
    match answer {
        // A server without rate limits does not know the fields.
        Err(e) if limited && e.to_string().contains("unknown field") => {
            eprintln!("  (this server has no rate limits in its tenant config)");
            if let Some(map) = config.as_object_mut() {
                map.remove("rate_limit");
                map.remove("shopper_rate_limit");
            }
            put(config).await?;
        }
        other => {
            other?;
        }
    }
    for (order_type, wasm) in PLUGINS {
        let plugin = api
            .send(&format!("upload the {order_type} plugin"), || {
                api.request(Method::POST, "/v1/admin/plugins")
                    .bearer_auth(&tenant.admin)
                    .header("Content-Type", "application/wasm")
                    .body(wasm)
            })
            .await?;
        let plugin_id = text(&plugin, "plugin_id")?.to_owned();
        // Grocery caps a cart at 50 units by default; the add-line scenarios grow carts
        // past that, and a refused add would count as an error, not as work.
        let config = match order_type {
            "grocery" => json!({"max_total_quantity": 10_000}),
            _ => json!({}),
        };
        api.send(&format!("activate {order_type}"), || {
            api.request(
                Method::POST,
                &format!("/v1/admin/order-types/{order_type}/activate"),
            )
            .bearer_auth(&tenant.admin)
            .json(&json!({"plugin_id": plugin_id, "config": config}))
        })
        .await?;
    }
    Ok(())
}

async fn load_catalog(
    api: &Arc<Api>,
    tenant: &Arc<Tenant>,
    layout: &Layout,
    concurrency: usize,
) -> anyhow::Result<Vec<String>> {
    let items = Arc::new(layout.items());
    let skus: Vec<String> = items
        .iter()
        .filter_map(|i| i["sku"].as_str().map(str::to_owned))
        .collect();
    let batches = items.len().div_ceil(BATCH);
    {
        let (api, tenant, items) = (api.clone(), tenant.clone(), items.clone());
        for_each(batches, concurrency.min(4), move |b| {
            let (api, tenant, items) = (api.clone(), tenant.clone(), items.clone());
            async move {
                let chunk = &items[b * BATCH..((b + 1) * BATCH).min(items.len())];
                let body = json!({ "items": chunk });
                api.send("catalog batch", || {
                    api.request(Method::POST, "/v1/admin/catalog/items:batch")
                        .bearer_auth(&tenant.admin)
                        .json(&body)
                })
                .await
                .map(drop)
            }
        })
        .await?;
    }
    let shared = Arc::new(skus.clone());
    let (api, tenant) = (api.clone(), tenant.clone());
    for_each(skus.len(), concurrency, move |i| {
        let (api, tenant, skus) = (api.clone(), tenant.clone(), shared.clone());
        async move {
            let path = format!("/v1/admin/inventory/{}", skus[i]);
            api.send("put inventory", || {
                api.request(Method::PUT, &path)
                    .bearer_auth(&tenant.admin)
                    .json(&json!({"on_hand": 100_000_000}))
            })
            .await
            .map(drop)
        }
    })
    .await?;
    Ok(skus)
}

/// Creates a guest cart and adds its planned lines one by one (the way a shopper does).
async fn seed_cart(api: &Api, tenant: &Tenant, plan: &CartPlan) -> anyhow::Result<Seeded> {
    let created = api
        .send("create cart", || {
            api.request(Method::POST, "/v1/carts")
                .header("X-Api-Key", &tenant.storefront)
        })
        .await?;
    let id = text(&created, "cart_id")?.to_owned();
    let token = text(&created, "cart_token")?.to_owned();
    let path = format!("/v1/carts/{id}/lines");
    let mut last = Value::Null;
    for (sku, quantity) in &plan.lines {
        last = api
            .send(&format!("add {sku} to {id}"), || {
                api.request(Method::POST, &path)
                    .header("X-Api-Key", &tenant.storefront)
                    .header("X-Cart-Token", &token)
                    .json(&json!({"sku": sku, "quantity": quantity}))
            })
            .await?;
    }
    let lines = last["lines"].as_array().map_or(0, Vec::len);
    if lines != plan.lines.len() {
        bail!(
            "cart {id} has {lines} lines after {} adds: {last}",
            plan.lines.len()
        );
    }
    Ok(Seeded {
        id,
        token,
        kind: plan.kind,
        lines,
    })
}

async fn seed_carts(
    api: &Arc<Api>,
    tenant: &Arc<Tenant>,
    plans: Vec<CartPlan>,
    concurrency: usize,
    what: &'static str,
) -> anyhow::Result<Vec<Seeded>> {
    let started = Instant::now();
    let total = plans.len();
    let plans = Arc::new(plans);
    let done = Arc::new(AtomicUsize::new(0));
    let (api, tenant) = (api.clone(), tenant.clone());
    let seeded = for_each(total, concurrency, move |i| {
        let (api, tenant, plans, done) = (api.clone(), tenant.clone(), plans.clone(), done.clone());
        async move {
            let cart = seed_cart(&api, &tenant, &plans[i]).await?;
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if n % 2_000 == 0 {
                eprintln!("  {what}: {n}/{total} ({:.0?})", started.elapsed());
            }
            Ok(cart)
        }
    })
    .await?;
    Ok(seeded)
}

async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let layout = Layout::new(args.skus)?;
    let api = Arc::new(Api::new(&args.url, args.concurrency)?);
    let mut rng = Rng(args.seed);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;

    let tenant = Arc::new(create_tenant(&api, &args.operator_token).await?);
    configure(&api, &tenant, args.rate_limit).await?;
    eprintln!(
        "  tenant {} with grocery, food and medicine plugins active ({:.1?})",
        tenant.id,
        started.elapsed()
    );

    let skus = load_catalog(&api, &tenant, &layout, args.concurrency).await?;
    eprintln!(
        "  catalog: {} skus, all stock-tracked ({:.1?})",
        skus.len(),
        started.elapsed()
    );
    analyze(args.analyze_cmd.as_deref())?;

    // The hot cart: 5 grocery lines, none cold-chain.
    let hot_plan = CartPlan {
        kind: Kind::Grocery,
        lines: (0..5)
            .map(|i| (Layout::grocery_sku(i * 100 + 1), 1))
            .collect(),
    };
    let hot = seed_cart(&api, &tenant, &hot_plan).await?;

    let plans: Vec<CartPlan> = (0..args.carts)
        .map(|_| {
            let lines = rng.range(1, args.max_lines.max(1));
            let kind = match rng.range(0, 9) {
                0..=5 => Kind::Grocery,
                6 | 7 => Kind::Food {
                    seller: rng.range(0, layout.food_sellers - 1),
                },
                _ => Kind::Medicine,
            };
            plan_cart(&layout, &mut rng, lines, kind)
        })
        .collect();
    let planned_lines: usize = plans.iter().map(|p| p.lines.len()).sum();
    let carts = seed_carts(&api, &tenant, plans, args.concurrency, "carts").await?;
    eprintln!(
        "  {} carts, {planned_lines} lines ({:.1?})",
        carts.len(),
        started.elapsed()
    );

    let plans: Vec<CartPlan> = (0..args.checkout_carts)
        .map(|_| plan_checkout_cart(&layout, &mut rng))
        .collect();
    let checkout = seed_carts(&api, &tenant, plans, args.concurrency, "checkout carts").await?;
    eprintln!(
        "  {} checkout carts ({:.1?})",
        checkout.len(),
        started.elapsed()
    );

    analyze(args.analyze_cmd.as_deref())?;

    // The hot cart as a reader sees it: judged by its plugin, nothing refused.
    let view = api
        .send("read the hot cart", || {
            api.request(Method::GET, &format!("/v1/carts/{}", hot.id))
                .header("X-Api-Key", &tenant.storefront)
                .header("X-Cart-Token", &hot.token)
        })
        .await?;
    if view["plugin_status"] != "ok" || view["lines"].as_array().map_or(0, Vec::len) != 5 {
        bail!("the hot cart is not a judged 5-line cart: {view}");
    }

    if let Some(url) = &args.webhook_url {
        api.send("create webhook", || {
            api.request(Method::POST, "/v1/admin/webhooks")
                .bearer_auth(&tenant.admin)
                .json(&json!({ "url": url }))
        })
        .await?;
        eprintln!("  every event of the tenant goes to {url}");
    }

    let path = args.out.join("data.lua");
    std::fs::write(&path, data_lua(&tenant, &layout, &hot, &carts, &checkout))
        .with_context(|| format!("writing {}", path.display()))?;
    let summary = json!({
        "tenant_id": tenant.id,
        "skus": skus.len(),
        "carts": carts.len(),
        "cart_lines": carts.iter().map(|c| c.lines).sum::<usize>(),
        "checkout_carts": checkout.len(),
        "seconds": started.elapsed().as_secs_f64(),
    });
    let path = args.out.join("seed.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary)?)
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!("  seeded in {:.1?}: {summary}", started.elapsed());
    Ok(())
}

/// Runs the `--analyze-cmd` hook, if any.
fn analyze(cmd: Option<&str>) -> anyhow::Result<()> {
    let Some(cmd) = cmd else {
        return Ok(());
    };
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .status()
        .with_context(|| format!("running `{cmd}`"))?;
    if !status.success() {
        bail!("`{cmd}` failed with {status}");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Seed(args) => seed(args).await,
    }
}
