//! Platform operators create and suspend tenants; tenant admins read and write their config;
//! every request's credentials resolve to a tenant here.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::domain::audit::{DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE};
use crate::domain::credentials::last_used_is_stale;
use crate::domain::secret;
use crate::domain::{
    Actor, AuditAction, AuditPage, Currency, CustomerTokenSecret, Tenant, TenantConfig, TenantId,
    TenantStatus,
};
use crate::error::CoreError;
use crate::ports::{ApiKeyRecord, Clock, ConfigWrite, KeyKind, KeyOwner, TenantRepository};

mod credentials;
pub use credentials::NewApiKey;

/// The secrets of a new tenant, shown once and never again.
#[derive(Debug, Clone)]
pub struct NewTenantCredentials {
    pub storefront_key: String,
    pub admin_key: String,
    /// The admin key's id: the `actor` of the changes it makes in the audit log.
    pub admin_key_id: Uuid,
    pub storefront_key_id: Uuid,
    pub customer_token_secret: String,
}

/// How long a node trusts what it read about a key's tenant. Every storefront request
/// authenticates, so without this each would cost a database query; a change made on this
/// node applies here at once, on other nodes within this time. That includes revoking a
/// key and adding or deleting a customer-token secret: a revoked key is refused by every
/// node at most this long after the revocation.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(1);
/// Keys remembered before the cache starts over.
const KEY_CACHE_CAPACITY: usize = 10_000;

/// How many times a config change without `If-Match` re-reads and re-applies itself when
/// another writer moved the revision in between (each retry means another write won).
const CONFIG_ATTEMPTS: usize = 5;

type KeyCache = RwLock<HashMap<(KeyKind, String), (Instant, Tenant, Uuid)>>;

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
            keys.retain(|_, (_, t, _)| t.id != tenant);
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
        let now = self.clock.now_millis();
        let first_secret = CustomerTokenSecret::generate(now);
        let credentials = NewTenantCredentials {
            storefront_key: secret::generate(KeyKind::Storefront.prefix()),
            admin_key: secret::generate(KeyKind::Admin.prefix()),
            // In this order, so listings (by creation, then id) show the storefront key first.
            storefront_key_id: Uuid::now_v7(),
            admin_key_id: Uuid::now_v7(),
            customer_token_secret: first_secret.secret.clone(),
        };
        let tenant = Tenant {
            id: TenantId::new(),
            name: name.to_owned(),
            currency,
            status: TenantStatus::Active,
            customer_token_secrets: vec![first_secret],
            config: TenantConfig::default(),
            created_at: now,
        };
        let keys = [
            ApiKeyRecord {
                id: credentials.storefront_key_id,
                kind: KeyKind::Storefront,
                name: KeyKind::Storefront.initial_name().to_owned(),
                key_hash: secret::hash(&credentials.storefront_key),
            },
            ApiKeyRecord {
                id: credentials.admin_key_id,
                kind: KeyKind::Admin,
                name: KeyKind::Admin.initial_name().to_owned(),
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
        self.tenants
            .update(&tenant, self.clock.now_millis())
            .await?;
        self.forget(tenant.id);
        Ok(tenant)
    }

    /// The tenant's configuration as stored now, and its revision (what `ETag` names).
    /// Read from the database, not the key cache: a revision must never be stale.
    pub async fn config(&self, id: TenantId) -> Result<(TenantConfig, i64), CoreError> {
        self.tenants
            .config(id)
            .await?
            .ok_or(CoreError::TenantNotFound)
    }

    /// Changes the tenant's configuration to what `change` makes of the current one, after
    /// checking its bounds, as one conditional write recorded in the audit log.
    ///
    /// With `if_match`, the change applies only to that revision: a config at another one
    /// (before or during the change) answers [`CoreError::ConfigChanged`] and nothing is
    /// written. Without it, a revision moved by a concurrent writer is re-read and the
    /// change re-applied, so the last writer wins whole.
    ///
    /// `change` may fail with the caller's own error type (a malformed patch is the HTTP
    /// layer's to describe), so this answers in it too.
    #[tracing::instrument(skip(self, change), fields(tenant_id = %tenant, action = action.as_str()))]
    pub async fn change_config<E: From<CoreError>>(
        &self,
        tenant: TenantId,
        if_match: Option<i64>,
        actor: &Actor,
        action: AuditAction,
        change: impl Fn(&TenantConfig) -> Result<TenantConfig, E> + Send + Sync,
    ) -> Result<(TenantConfig, i64), E> {
        for _ in 0..CONFIG_ATTEMPTS {
            let (current, revision) = self.config(tenant).await?;
            if let Some(expected) = if_match.filter(|expected| *expected != revision) {
                tracing::debug!(expected, revision, "stale If-Match on config");
                return Err(CoreError::ConfigChanged {
                    current_revision: revision,
                }
                .into());
            }
            let next = change(&current)?;
            next.validate()?;
            let written = self
                .tenants
                .update_config(
                    tenant,
                    &next,
                    revision,
                    actor,
                    action,
                    self.clock.now_millis(),
                )
                .await
                .map_err(CoreError::from)?;
            match written {
                ConfigWrite::Written { revision } => {
                    self.forget(tenant);
                    return Ok((next, revision));
                }
                ConfigWrite::Stale { current } if if_match.is_some() => {
                    return Err(CoreError::ConfigChanged {
                        current_revision: current,
                    }
                    .into());
                }
                ConfigWrite::Stale { .. } => continue,
            }
        }
        Err(CoreError::Contention.into())
    }

    /// One page of the tenant's audit log, newest first: `limit` entries (default 50, at
    /// most 200) older than the entry `before`.
    pub async fn audit_log(
        &self,
        tenant: TenantId,
        before: Option<Uuid>,
        limit: Option<u64>,
    ) -> Result<AuditPage, CoreError> {
        let limit = limit.unwrap_or(DEFAULT_AUDIT_PAGE);
        if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
            return Err(CoreError::InvalidInput(format!(
                "limit must be between 1 and {MAX_AUDIT_PAGE}"
            )));
        }
        // One more than asked tells whether an older page exists without a second query.
        let mut entries = self.tenants.audit_log(tenant, before, limit + 1).await?;
        let more = entries.len() as u64 > limit;
        entries.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next_before = more.then(|| entries.last().map(|e| e.id)).flatten();
        Ok(AuditPage {
            entries,
            next_before,
        })
    }

    /// Every browser origin some active tenant allows (CORS preflights).
    pub async fn allowed_origins(&self) -> Result<Vec<String>, CoreError> {
        Ok(self.tenants.allowed_origins().await?)
    }

    /// The active tenant a presented key belongs to. An unknown key is `Unauthenticated`;
    /// a suspended tenant's key is `TenantSuspended`.
    pub async fn authenticate(&self, kind: KeyKind, presented: &str) -> Result<Tenant, CoreError> {
        self.authenticate_key(kind, presented)
            .await
            .map(|(tenant, _)| tenant)
    }

    /// [`TenantService::authenticate`], also answering who the key is (what the audit log
    /// records for the changes it makes).
    pub async fn authenticate_key(
        &self,
        kind: KeyKind,
        presented: &str,
    ) -> Result<(Tenant, Actor), CoreError> {
        let (tenant, key_id) = self
            .key_owner(kind, secret::hash(presented))
            .await?
            .ok_or_else(|| CoreError::Unauthenticated(kind.unknown_key(presented)))?;
        if tenant.status == TenantStatus::Suspended {
            return Err(CoreError::TenantSuspended);
        }
        Ok((tenant, Actor::ApiKey(key_id)))
    }

    /// [`TenantService::authenticate_key`] by the key's stored hash: how a console session,
    /// which keeps only the hash of the key it signed in with, re-checks that key on every
    /// request (so a revoked key or a suspended tenant ends its sessions).
    pub async fn authenticate_key_hash(
        &self,
        kind: KeyKind,
        key_hash: &str,
    ) -> Result<(Tenant, Actor), CoreError> {
        let (tenant, key_id) = self
            .key_owner(kind, key_hash.to_owned())
            .await?
            .ok_or(CoreError::Unauthenticated("the key was revoked"))?;
        if tenant.status == TenantStatus::Suspended {
            return Err(CoreError::TenantSuspended);
        }
        Ok((tenant, Actor::ApiKey(key_id)))
    }

    /// The tenant and key id of a key hash, from this node's short-lived cache or the
    /// database.
    async fn key_owner(
        &self,
        kind: KeyKind,
        key_hash: String,
    ) -> Result<Option<(Tenant, Uuid)>, CoreError> {
        let key = (kind, key_hash);
        let cached = self.keys.read().ok().and_then(|keys| {
            keys.get(&key)
                .filter(|(at, _, _)| at.elapsed() < KEY_CACHE_TTL)
                .map(|(_, tenant, key_id)| (tenant.clone(), *key_id))
        });
        if let Some(found) = cached {
            return Ok(Some(found));
        }
        let Some(KeyOwner {
            tenant,
            key_id,
            last_used_at,
        }) = self.tenants.find_by_key(kind, &key.1).await?
        else {
            return Ok(None);
        };
        // Checked only when the key is read from the database (at most once per
        // KEY_CACHE_TTL per node while it is in use), and written at most once per
        // LAST_USED_RESOLUTION: never a write per request.
        let now = self.clock.now_millis();
        if last_used_is_stale(last_used_at, now) {
            self.touch(key_id, now).await;
        }
        if let Ok(mut keys) = self.keys.write() {
            if keys.len() >= KEY_CACHE_CAPACITY {
                keys.clear();
            }
            keys.insert(key, (Instant::now(), tenant.clone(), key_id));
        }
        Ok(Some((tenant, key_id)))
    }
}
