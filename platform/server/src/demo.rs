//! `trolley serve --demo`: a demo tenant with a small catalog across the three example
//! order types, a guest cart, and a curl line that fills it.

use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;

use trolley_core::domain::{
    Actor, Attributes, AuditAction, CatalogItemInput, Currency, Price, Sku, TenantConfig,
};
use trolley_core::error::CoreError;
use trolley_core::service::Shopper;

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

pub async fn seed(services: &Services, base_url: &str) -> anyhow::Result<()> {
    let (tenant, keys) = services.tenants.create("Demo Store", Currency::Usd).await?;
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
    let tenant = trolley_core::domain::Tenant { config, ..tenant };

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

    // The three example order types, built from plugins/ into this binary.
    for (order_type, wasm) in BUNDLED_PLUGINS {
        let (plugin, _) = services.plugins.upload(&tenant, wasm, &actor).await?;
        services
            .plugins
            .activate(
                &tenant,
                order_type,
                plugin.id,
                Some(serde_json::json!({})),
                &actor,
            )
            .await?;
        println!(
            "  activated {order_type} {} (sha256 {})",
            plugin.info.version,
            &plugin.sha256[..12]
        );
    }

    let guest = Shopper {
        tenant: Arc::new(tenant.clone()),
        customer_id: None,
        cart_token: None,
        receipt: None,
    };
    let cart = services.carts.create(&guest).await?;
    let cart_id = cart.view.cart_id;
    let token = cart.cart_token.unwrap_or_default();

    println!("Demo tenant \"{}\" ({}) is ready.", tenant.name, tenant.id);
    println!("  storefront key:        {}", keys.storefront_key);
    println!("  admin key:             {}", keys.admin_key);
    println!("  customer token secret: {}", keys.customer_token_secret);
    println!("  demo guest cart:       {cart_id} (X-Cart-Token: {token})");
    println!("Add two litres of milk to it:");
    println!(
        "  curl -s -X POST {base_url}/v1/carts/{cart_id}/lines -H 'X-Api-Key: {}' -H 'X-Cart-Token: {token}' -H 'Content-Type: application/json' -d '{{\"sku\":\"MILK-1L\",\"quantity\":2}}'",
        keys.storefront_key
    );
    println!(
        "Skus: {}",
        ITEMS.iter().map(|i| i.0).collect::<Vec<_>>().join(", ")
    );
    Ok(())
}
