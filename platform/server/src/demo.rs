//! `trolley serve --demo`: a demo tenant with a small catalog across the three example
//! order types, kept from one run to the next, and the banner that says where to click.
//!
//! The tenant's credentials live in `<data-dir>/demo-tenant.json` (mode 0600: it holds the
//! admin key). A later run on the same data dir reuses that tenant when its keys still
//! open it, so carts, orders and whatever the admin changed in the console survive a
//! restart; otherwise (another database, a revoked key, a suspended tenant, no file) it
//! seeds a new one and overwrites the file.

use anyhow::Context as _;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use trolley_core::domain::{
    Actor, Attributes, AuditAction, CatalogItemInput, Currency, Price, Sku, Tenant, TenantConfig,
    TenantId,
};
use trolley_core::error::CoreError;
use trolley_core::ports::KeyKind;

use crate::startup::Services;

/// The example order types, compiled to wasm32-wasip2 from `plugins/` by the build script.
pub const BUNDLED_PLUGINS: [(&str, &[u8]); 3] = [
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

/// (sku, price, category, seller, title, catalog attributes)
type DemoItem = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const ITEMS: &[DemoItem] = &[
    (
        "MILK-1L",
        "1.99",
        "grocery",
        None,
        "Fresh milk 1 l",
        &[("cold_chain", "true")],
    ),
    ("APPLE-1KG", "3.49", "grocery", None, "Apples 1 kg", &[]),
    ("BREAD-WHITE", "2.25", "grocery", None, "White bread", &[]),
    (
        "ICE-CREAM-500",
        "5.50",
        "grocery",
        None,
        "Vanilla ice cream 500 ml",
        &[("cold_chain", "true")],
    ),
    (
        "PIZZA-MARGHERITA",
        "11.90",
        "food",
        Some("luigis"),
        "Pizza margherita",
        &[],
    ),
    (
        "PIZZA-DIAVOLA",
        "13.50",
        "food",
        Some("luigis"),
        "Pizza diavola",
        &[],
    ),
    (
        "BURGER-CLASSIC",
        "9.80",
        "food",
        Some("burger-barn"),
        "Classic burger",
        &[],
    ),
    (
        "PARACETAMOL-500",
        "4.20",
        "medicine",
        None,
        "Paracetamol 500 mg",
        &[],
    ),
    (
        "AMOXICILLIN-250",
        "12.00",
        "medicine",
        None,
        "Amoxicillin 250 mg",
        &[("rx_required", "true")],
    ),
    (
        "NICOTINE-GUM",
        "18.00",
        "medicine",
        None,
        "Nicotine gum",
        &[("age_restricted", "true")],
    ),
];

/// Stock the demo tracks, so a checkout holds something and its countdown means it.
/// Restaurant dishes are cooked to order: untracked.
const STOCK: &[(&str, i64)] = &[
    ("MILK-1L", 40),
    ("APPLE-1KG", 30),
    ("BREAD-WHITE", 20),
    ("ICE-CREAM-500", 6),
    ("PARACETAMOL-500", 50),
    ("AMOXICILLIN-250", 10),
    ("NICOTINE-GUM", 12),
];

/// The name of the demo tenant a fresh seed creates.
pub const DEMO_NAME: &str = "Demo Store";

/// Where the demo tenant's credentials are kept between runs.
pub fn credentials_path(data_dir: &Path) -> PathBuf {
    data_dir.join("demo-tenant.json")
}

/// `<data-dir>/demo-tenant.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SavedDemo {
    tenant_id: uuid::Uuid,
    name: String,
    storefront_key: String,
    admin_key: String,
    customer_token_secret: String,
}

/// The demo tenant, ready, with the credentials the banner and the demo storefront need.
#[derive(Debug, Clone)]
pub struct DemoSeed {
    pub tenant: Tenant,
    pub storefront_key: String,
    pub admin_key: String,
    /// The newest customer-token secret: the one demo customers' tokens are signed with.
    pub customer_token_secret: String,
    /// Whether the tenant of an earlier run was reused (else this run created it).
    pub reused: bool,
    /// Where the credentials are kept.
    pub path: PathBuf,
}

impl DemoSeed {
    /// What the demo storefront and the console's one-click sign-in need.
    pub fn demo_tenant(&self, sign_in_token: String) -> trolley_console::DemoTenant {
        trolley_console::DemoTenant {
            tenant_id: self.tenant.id.0,
            name: self.tenant.name.clone(),
            storefront_key: self.storefront_key.clone(),
            customer_token_secret: self.customer_token_secret.clone(),
            admin_key: self.admin_key.clone(),
            sign_in_token,
        }
    }
}

/// The demo tenant of `data_dir`: the one an earlier run saved when it still works, else a
/// new one (saved for the next run).
pub async fn seed(services: &Services, data_dir: &Path) -> anyhow::Result<DemoSeed> {
    let path = credentials_path(data_dir);
    match read_saved(&path) {
        Ok(Some(saved)) => match reusable(services, &saved).await {
            Ok(tenant) => return reuse(services, tenant, saved, path).await,
            Err(why) => tracing::warn!(
                path = %path.display(),
                tenant_id = %saved.tenant_id,
                reason = %why,
                "the saved demo tenant cannot be reused; seeding a new one"
            ),
        },
        Ok(None) => {}
        Err(e) => tracing::warn!(
            path = %path.display(),
            error = %format!("{e:#}"),
            "the saved demo tenant is unreadable; seeding a new one"
        ),
    }
    create(services, path).await
}

fn read_saved(path: &Path) -> anyhow::Result<Option<SavedDemo>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let saved =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(Some(saved))
}

/// The saved tenant, when it exists in this database and both saved keys still open it.
async fn reusable(services: &Services, saved: &SavedDemo) -> Result<Tenant, String> {
    let id = TenantId(saved.tenant_id);
    services
        .tenants
        .get(id)
        .await
        .map_err(|e| format!("tenant {id}: {e}"))?;
    for (kind, key) in [
        (KeyKind::Storefront, &saved.storefront_key),
        (KeyKind::Admin, &saved.admin_key),
    ] {
        let owner = services
            .tenants
            .authenticate(kind, key)
            .await
            .map_err(|e| format!("the saved {kind:?} key: {e}"))?;
        if owner.id != id {
            return Err(format!("the saved {kind:?} key opens another tenant"));
        }
    }
    // Fresh from the database (the key cache may hold an older copy).
    services
        .tenants
        .get(id)
        .await
        .map_err(|e| format!("tenant {id}: {e}"))
}

/// An earlier run's tenant, as the admin left it: its catalog, stock and config are not
/// touched (a restart must not undo the console's changes). Only an order type with no
/// plugin serving it gets the bundled one.
async fn reuse(
    services: &Services,
    tenant: Tenant,
    saved: SavedDemo,
    path: PathBuf,
) -> anyhow::Result<DemoSeed> {
    ensure_plugins(services, &tenant, true).await?;
    restrict(&path)?;
    // Secrets may have been rotated in the console since: sign with the newest.
    let customer_token_secret = tenant
        .customer_token_secrets
        .first()
        .map(|s| s.secret.clone())
        .unwrap_or(saved.customer_token_secret);
    tracing::info!(tenant_id = %tenant.id, path = %path.display(), "reusing the demo tenant");
    Ok(DemoSeed {
        tenant,
        storefront_key: saved.storefront_key,
        admin_key: saved.admin_key,
        customer_token_secret,
        reused: true,
        path,
    })
}

async fn create(services: &Services, path: PathBuf) -> anyhow::Result<DemoSeed> {
    let (tenant, keys) = services.tenants.create(DEMO_NAME, Currency::Usd).await?;
    // Saved before anything else, so a failure below still leaves a tenant the next run
    // can find (and complete: the steps below skip what is already there).
    write_saved(
        &path,
        &SavedDemo {
            tenant_id: tenant.id.0,
            name: tenant.name.clone(),
            storefront_key: keys.storefront_key.clone(),
            admin_key: keys.admin_key.clone(),
            customer_token_secret: keys.customer_token_secret.clone(),
        },
    )?;
    let config = TenantConfig {
        category_order_types: ["grocery", "food", "medicine"]
            .into_iter()
            .map(|c| (c.to_owned(), c.to_owned()))
            .collect(),
        ..TenantConfig::default()
    };
    // Seeding is the operator's doing: the audit log says so.
    let actor = Actor::Operator;
    let (config, _) = services
        .tenants
        .change_config(tenant.id, None, &actor, AuditAction::ConfigPut, |_| {
            Ok::<_, CoreError>(config.clone())
        })
        .await?;
    let tenant = Tenant { config, ..tenant };

    let mut items = Vec::new();
    for (sku, price, category, seller, title, attrs) in ITEMS {
        let attributes: BTreeMap<String, String> = attrs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        items.push(CatalogItemInput {
            sku: Sku::parse(sku)?,
            price: Price::parse(price.parse::<Decimal>()?, tenant.currency)?,
            category: (*category).to_owned(),
            seller: seller.map(str::to_owned),
            attributes: Attributes::parse(attributes)?,
            claim_policy: None,
            title: Some((*title).to_owned()),
        });
    }
    services.catalog.upsert(&tenant, items, &actor).await?;
    for (sku, on_hand) in STOCK {
        services
            .inventory
            .set_on_hand(&tenant, &Sku::parse(sku)?, *on_hand, &actor)
            .await?;
    }
    ensure_plugins(services, &tenant, false).await?;
    tracing::info!(tenant_id = %tenant.id, path = %path.display(), "demo tenant created");
    Ok(DemoSeed {
        tenant,
        storefront_key: keys.storefront_key,
        admin_key: keys.admin_key,
        customer_token_secret: keys.customer_token_secret,
        reused: false,
        path,
    })
}

/// The example order types, built from plugins/ into this binary, serve the demo tenant.
///
/// Uploading the same bytes again answers the existing record, and an order type already
/// served by exactly this module is left alone. On a reused tenant, an order type served by
/// another version stays as it is: that is the admin's choice, not the binary's.
async fn ensure_plugins(services: &Services, tenant: &Tenant, reused: bool) -> anyhow::Result<()> {
    let actor = Actor::Operator;
    for (order_type, wasm) in BUNDLED_PLUGINS {
        let active = services.plugins.active(tenant, order_type).await?;
        if reused && let Some(active) = &active {
            tracing::debug!(order_type, version = %active.plugin.info.version, "kept the active plugin");
            continue;
        }
        let plugin_id = match services.plugins.upload(tenant, wasm, &actor).await {
            Ok((plugin, _)) => plugin.id,
            // This binary's build of a version the tenant holds other bytes of (a rebuilt
            // plugin that kept its version): the tenant's copy serves.
            Err(CoreError::PluginVersionTaken { existing, .. }) => existing,
            Err(e) => return Err(e.into()),
        };
        if active.as_ref().is_some_and(|a| a.plugin.id == plugin_id) {
            continue;
        }
        let activation = services
            .plugins
            .activate(
                tenant,
                order_type,
                plugin_id,
                Some(serde_json::json!({})),
                &actor,
            )
            .await?;
        tracing::info!(
            order_type,
            version = %activation.plugin.info.version,
            sha256 = %activation.plugin.sha256,
            "demo order type activated"
        );
    }
    Ok(())
}

/// Writes the credentials readable by this user only, replacing the file whole (never a
/// half-written file, never a moment with wider permissions).
fn write_saved(path: &Path, saved: &SavedDemo) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let json = serde_json::to_string_pretty(saved)?;
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        file.write_all(json.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .with_context(|| format!("writing {}", tmp.display()))?;
    }
    restrict(&tmp)?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Mode 0600, also for a file an older build or a person left wider.
fn restrict(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The address people can open for a server listening on `listen` (port `port`): a wildcard
/// address is reached on loopback.
pub fn base_url(listen: &str, port: u16) -> String {
    let host = listen
        .parse::<std::net::SocketAddr>()
        .map(|addr| addr.ip())
        .ok()
        .filter(|ip| !ip.is_unspecified());
    match host {
        Some(std::net::IpAddr::V6(ip)) => format!("http://[{ip}]:{port}"),
        Some(ip) => format!("http://{ip}:{port}"),
        // A wildcard, or a host name (`localhost:8080`): loopback reaches it.
        None => match listen.rsplit_once(':').map(|(host, _)| host) {
            Some(name)
                if !name.is_empty()
                    && name.parse::<std::net::IpAddr>().is_err()
                    && !name.starts_with('[') =>
            {
                format!("http://{name}:{port}")
            }
            _ => format!("http://127.0.0.1:{port}"),
        },
    }
}

/// The first-run banner of `trolley serve --demo`, for stdout. The operator token appears
/// only when this run generated it (a configured one is the operator's to know).
pub fn banner(
    seed: &DemoSeed,
    base: &str,
    sign_in_token: &str,
    generated_operator_token: Option<&str>,
) -> String {
    let key = &seed.storefront_key;
    let mut out = format!(
        "Trolley is running — demo tenant \"{name}\"\n\
         \x20 Console     {base}/console/sign-in/demo?token={sign_in_token}   (one click signs you in)\n\
         \x20 Storefront  {base}/demo\n\
         \x20 API docs    {base}/docs\n\
         \x20 Admin key        {admin}\n\
         \x20 Storefront key   {key}\n",
        name = seed.tenant.name,
        admin = seed.admin_key,
    );
    if let Some(token) = generated_operator_token {
        out.push_str(&format!(
            "  Operator token   {token}   (generated: pass --operator-token to choose one)\n"
        ));
    }
    let kept = if seed.reused {
        "reused from"
    } else {
        "saved in"
    };
    out.push_str(&format!(
        "  Tenant      {id} ({kept} {path})\n\
         \x20 Try:  curl -s {base}/v1/catalog/items -H 'X-Api-Key: {key}'\n",
        id = seed.tenant.id,
        path = seed.path.display(),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_links_a_wildcard_listener_on_loopback() {
        assert_eq!(base_url("0.0.0.0:8080", 8080), "http://127.0.0.1:8080");
        assert_eq!(base_url("[::]:8080", 8080), "http://127.0.0.1:8080");
        assert_eq!(base_url("127.0.0.1:0", 41234), "http://127.0.0.1:41234");
        assert_eq!(base_url("10.1.2.3:80", 80), "http://10.1.2.3:80");
        assert_eq!(base_url("[::1]:8080", 8080), "http://[::1]:8080");
        assert_eq!(base_url("localhost:8080", 8080), "http://localhost:8080");
    }

    #[cfg(unix)]
    #[test]
    fn saved_credentials_are_private_and_round_trip() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("trolley-demo-{}", uuid::Uuid::new_v4()));
        let path = credentials_path(&dir);
        let saved = SavedDemo {
            tenant_id: uuid::Uuid::new_v4(),
            name: DEMO_NAME.into(),
            storefront_key: "tsk_x".into(),
            admin_key: "tak_x".into(),
            customer_token_secret: "s".into(),
        };
        write_saved(&path, &saved).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let back = read_saved(&path).unwrap().unwrap();
        assert_eq!(back.tenant_id, saved.tenant_id);
        assert_eq!(back.admin_key, "tak_x");
        std::fs::remove_dir_all(dir).ok();
    }
}
