//! Test databases: a fresh SQLite file in a temp dir, or a fresh PostgreSQL database.

#![allow(dead_code)]

use std::path::PathBuf;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;
use trolley_core::domain::{
    Attributes, Cart, CartOwner, CatalogItemInput, ClaimPolicy, Currency, CustomerTokenSecret,
    Line, LineId, LineKey, PluginContract, PluginId, PluginInfo, PluginRecord, Price, Quantity,
    Sku, Tenant, TenantConfig, TenantId, TenantStatus,
};
use trolley_core::ports::{ApiKeyRecord, KeyKind, TenantRepository};
use trolley_store::{Database, DatabaseOptions};

pub const DEFAULT_PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub enum Cleanup {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

pub struct TestDb {
    pub db: Database,
    pub url: String,
    cleanup: Cleanup,
}

impl TestDb {
    pub async fn sqlite() -> Self {
        Self::sqlite_with(DatabaseOptions::default()).await
    }

    pub async fn sqlite_with(options: DatabaseOptions) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "trolley-store-test-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.join("store.db").display());
        let db = Database::connect_with(&url, options).await.unwrap();
        db.migrate().await.unwrap();
        Self {
            db,
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A fresh database on the test PostgreSQL server. Panics (fails the test) when the
    /// server is unreachable: these tests must never be skipped silently.
    pub async fn postgres() -> Self {
        let admin_url = std::env::var("TROLLEY_TEST_PG_URL")
            .unwrap_or_else(|_| DEFAULT_PG_ADMIN_URL.to_owned());
        let admin = Database::connect_with(
            &admin_url,
            DatabaseOptions {
                max_connections: Some(1),
                ..DatabaseOptions::default()
            },
        )
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL at {admin_url} is required for these tests (set TROLLEY_TEST_PG_URL): {e}")
        });
        let name = format!(
            "test_store_{}{}",
            std::env::var("TROLLEY_TEST_RUN").unwrap_or_default(),
            uuid::Uuid::new_v4().simple()
        );
        admin
            .connection()
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        admin.close().await.unwrap();
        let url = with_database(&admin_url, &name);
        let db = Database::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        Self {
            db,
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        }
    }

    /// Removes what this test created (only when the test got this far, so a failing
    /// test leaves its database behind for inspection).
    pub async fn cleanup(self) {
        let Self { db, cleanup, .. } = self;
        let _ = db.close().await;
        match cleanup {
            Cleanup::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { admin_url, name } => {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin
                        .connection()
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
                        .await;
                    let _ = admin.close().await;
                }
            }
        }
    }
}

/// `admin_url` pointed at database `name`.
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut url = format!("{}/{name}", &base[..authority_end]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

// ---- domain fixtures -------------------------------------------------------------------

/// A timestamp with whole milliseconds, so it survives storage exactly.
pub fn t(ms_offset: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_763_769_600_123 + ms_offset).unwrap()
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub fn sku(s: &str) -> Sku {
    Sku::parse(s).unwrap()
}

pub fn attrs(pairs: &[(&str, &str)]) -> Attributes {
    Attributes::parse(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
    .unwrap()
}

pub fn tenant(name: &str) -> Tenant {
    let mut config = TenantConfig::default();
    config
        .category_order_types
        .insert("grocery".into(), "delivery".into());
    Tenant {
        id: TenantId::new(),
        name: name.to_owned(),
        currency: Currency::Usd,
        status: TenantStatus::Active,
        customer_token_secrets: vec![CustomerTokenSecret {
            id: uuid::Uuid::now_v7(),
            secret: format!("tcs_{}", uuid::Uuid::new_v4().simple()),
            created_at: t(0),
        }],
        config,
        created_at: t(0),
    }
}

/// Creates a tenant (with a storefront and an admin key) and returns it.
pub async fn create_tenant(db: &Database, name: &str) -> Tenant {
    let tenant = tenant(name);
    let keys = [
        ApiKeyRecord {
            id: uuid::Uuid::now_v7(),
            kind: KeyKind::Storefront,
            name: "initial storefront key".into(),
            key_hash: format!("sf-{}", tenant.id),
        },
        ApiKeyRecord {
            id: uuid::Uuid::now_v7(),
            kind: KeyKind::Admin,
            name: "initial admin key".into(),
            key_hash: format!("ad-{}", tenant.id),
        },
    ];
    db.tenants().create(&tenant, &keys).await.unwrap();
    tenant
}

pub fn item(sku_: &str, price: &str) -> CatalogItemInput {
    CatalogItemInput {
        sku: sku(sku_),
        price: Price::parse(dec(price), Currency::Usd).unwrap(),
        category: "grocery".into(),
        seller: Some("outlet-1".into()),
        attributes: attrs(&[("origin", "NZ")]),
        claim_policy: Some(ClaimPolicy::Reserve),
        title: Some(format!("Item {sku_}")),
    }
}

pub fn customer_cart(tenant: TenantId, customer: &str) -> Cart {
    let (cart, _) = Cart::new(
        tenant,
        CartOwner::Customer(customer.to_owned()),
        Currency::Usd,
        t(0),
        Duration::days(30),
    );
    cart
}

pub fn guest_cart(tenant: TenantId) -> Cart {
    let (cart, _) = Cart::new(
        tenant,
        CartOwner::Guest {
            token_hash: format!("hash-{}", uuid::Uuid::new_v4().simple()),
        },
        Currency::Usd,
        t(0),
        Duration::days(7),
    );
    cart
}

pub fn line(sku_: &str, price: &str, quantity: u32, at: i64) -> Line {
    Line {
        id: LineId::new(),
        key: LineKey::parse(
            sku(sku_),
            attrs(&[("size", "M"), ("colour", "red")]),
            Some("outlet-1".into()),
            Some("delivery".into()),
        )
        .unwrap(),
        quantity: Quantity::from_stored(quantity),
        line_version: 1,
        unit_price: Price::parse(dec(price), Currency::Usd).unwrap(),
        price_revision: 1,
        category: "grocery".into(),
        title: Some(format!("Item {sku_}")),
        review: None,
        created_at: t(at),
        updated_at: t(at),
    }
}

/// `cart` after one more mutation, as the domain would produce it.
/// `cart` as if it had been read at `version` (a stale or made-up read, for conflicts).
pub fn at_version(cart: &Cart, version: i64) -> Cart {
    let mut cart = cart.clone();
    cart.version = version;
    cart
}

pub fn bumped(mut cart: Cart, at: i64) -> Cart {
    cart.version += 1;
    cart.updated_at = t(at);
    cart.expires_at = t(at) + Duration::days(30);
    cart
}

/// Module bytes that differ per `seed` (not real WebAssembly: storage does not care).
pub fn module_bytes(seed: u8) -> Vec<u8> {
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    bytes.extend([seed, 0x00, 0xFF, seed.wrapping_mul(7)]);
    bytes
}

/// A stand-in content address for `bytes` (storage trusts the caller's hash).
pub fn fake_sha(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
    }
    format!("{h:016x}{:048x}", bytes.len())
}

/// What the plugin service would store for `wasm` uploaded by `tenant`.
pub fn plugin_record(
    tenant: TenantId,
    wasm: &[u8],
    order_type: &str,
    version: &str,
    at: i64,
) -> PluginRecord {
    PluginRecord {
        id: PluginId::new(),
        tenant_id: tenant,
        sha256: fake_sha(wasm),
        info: PluginInfo {
            order_type: order_type.to_owned(),
            name: format!("{order_type} rules"),
            version: version.to_owned(),
            config_schema: serde_json::json!({
                "type": "object",
                "properties": { "max_items": { "type": "integer", "minimum": 1 } },
                "additionalProperties": false
            }),
        },
        size_bytes: i64::try_from(wasm.len()).unwrap(),
        created_at: t(at),
        contract: Some(PluginContract {
            version: "1.1.0".to_owned(),
            exports: vec!["describe".to_owned(), "evaluate".to_owned()],
        }),
    }
}

/// A connection to `db` that counts the statements sent through it (sea-orm's metric
/// callback; a transaction's BEGIN and COMMIT are not statements it sees), and the count.
pub fn counting_connection(
    db: &Database,
) -> (
    sea_orm::DatabaseConnection,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let statements = Arc::new(AtomicUsize::new(0));
    let mut counted = db.connection().clone();
    let counter = Arc::clone(&statements);
    counted.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    (counted, statements)
}
