//! Platform operators create and suspend tenants; tenant admins read and write their config;
//! every request's credentials resolve to a tenant here.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::domain::secret;
use crate::domain::{Currency, Tenant, TenantConfig, TenantId, TenantStatus};
use crate::error::CoreError;
use crate::ports::{ApiKeyRecord, Clock, KeyKind, TenantRepository};

/// The secrets of a new tenant, shown once and never again.
#[derive(Debug, Clone)]
pub struct NewTenantCredentials {
    pub storefront_key: String,
    pub admin_key: String,
    pub customer_token_secret: String,
}

/// How long a node trusts what it read about a key's tenant. Every storefront request
/// authenticates, so without this each would cost a database query; a change made on this
/// node applies here at once, on other nodes within this time.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(1);
/// Keys remembered before the cache starts over.
const KEY_CACHE_CAPACITY: usize = 10_000;

type KeyCache = RwLock<HashMap<(KeyKind, String), (Instant, Tenant)>>;

#[derive(Clone)]
pub struct TenantService {
    tenants: Arc<dyn TenantRepository>,
    clock: Arc<dyn Clock>,
    /// Key hash → its tenant, as last read. Unknown keys are never cached.
    keys: Arc<KeyCache>,
}

impl TenantService {
    pub fn new(tenants: Arc<dyn TenantRepository>, clock: Arc<dyn Clock>) -> Self {
        Self {
            tenants,
            clock,
            keys: Arc::default(),
        }
    }

    /// Drops what this node remembers about `tenant`'s keys (after changing it here).
    fn forget(&self, tenant: TenantId) {
        if let Ok(mut keys) = self.keys.write() {
            keys.retain(|_, (_, t)| t.id != tenant);
        }
    }

    #[tracing::instrument(skip(self))]
    pub async fn create(
        &self,
        name: &str,
        currency: Currency,
    ) -> Result<(Tenant, NewTenantCredentials), CoreError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(CoreError::InvalidInput(
                "name must be 1-200 characters".into(),
            ));
        }
        let credentials = NewTenantCredentials {
            storefront_key: secret::generate("tsk_"),
            admin_key: secret::generate("tak_"),
            customer_token_secret: secret::generate("tcs_"),
        };
        let tenant = Tenant {
            id: TenantId::new(),
            name: name.to_owned(),
            currency,
            status: TenantStatus::Active,
            customer_token_secret: credentials.customer_token_secret.clone(),
            config: TenantConfig::default(),
            created_at: self.clock.now_millis(),
        };
        let keys = [
            ApiKeyRecord {
                kind: KeyKind::Storefront,
                key_hash: secret::hash(&credentials.storefront_key),
            },
            ApiKeyRecord {
                kind: KeyKind::Admin,
                key_hash: secret::hash(&credentials.admin_key),
            },
        ];
        self.tenants.create(&tenant, &keys).await?;
        tracing::info!(tenant_id = %tenant.id, "tenant created");
        Ok((tenant, credentials))
    }

    pub async fn list(&self) -> Result<Vec<Tenant>, CoreError> {
        Ok(self.tenants.list().await?)
    }

    pub async fn get(&self, id: TenantId) -> Result<Tenant, CoreError> {
        self.tenants.get(id).await?.ok_or(CoreError::TenantNotFound)
    }

    /// Renames, suspends or reactivates a tenant.
    #[tracing::instrument(skip(self))]
    pub async fn update(
        &self,
        id: TenantId,
        name: Option<String>,
        status: Option<TenantStatus>,
    ) -> Result<Tenant, CoreError> {
        let mut tenant = self.get(id).await?;
        if let Some(name) = name {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 200 {
                return Err(CoreError::InvalidInput(
                    "name must be 1-200 characters".into(),
                ));
            }
            tenant.name = name.to_owned();
        }
        if let Some(status) = status {
            tenant.status = status;
        }
        self.tenants.update(&tenant).await?;
        self.forget(tenant.id);
        Ok(tenant)
    }

    /// Replaces a tenant's configuration after checking its bounds.
    #[tracing::instrument(skip(self, config), fields(tenant_id = %tenant.id))]
    pub async fn set_config(
        &self,
        tenant: &Tenant,
        config: TenantConfig,
    ) -> Result<Tenant, CoreError> {
        config.validate()?;
        let mut updated = tenant.clone();
        updated.config = config;
        self.tenants.update(&updated).await?;
        self.forget(updated.id);
        Ok(updated)
    }

    /// The active tenant a presented key belongs to. An unknown key is `Unauthenticated`;
    /// a suspended tenant's key is `TenantSuspended`.
    pub async fn authenticate(&self, kind: KeyKind, presented: &str) -> Result<Tenant, CoreError> {
        let key = (kind, secret::hash(presented));
        let cached = self.keys.read().ok().and_then(|keys| {
            keys.get(&key)
                .filter(|(at, _)| at.elapsed() < KEY_CACHE_TTL)
                .map(|(_, tenant)| tenant.clone())
        });
        let tenant = match cached {
            Some(tenant) => tenant,
            None => {
                let tenant = self
                    .tenants
                    .find_by_key(kind, &key.1)
                    .await?
                    .ok_or(CoreError::Unauthenticated)?;
                if let Ok(mut keys) = self.keys.write() {
                    if keys.len() >= KEY_CACHE_CAPACITY {
                        keys.clear();
                    }
                    keys.insert(key, (Instant::now(), tenant.clone()));
                }
                tenant
            }
        };
        if tenant.status == TenantStatus::Suspended {
            return Err(CoreError::TenantSuspended);
        }
        Ok(tenant)
    }
}
