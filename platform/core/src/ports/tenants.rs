//! The tenant seam: tenants, their configuration (with its revision) and their audit trail.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{ApiKeyRecord, CredentialRepository, KeyKind, KeyOwner};
use crate::domain::{Actor, AuditAction, AuditEntry, Tenant, TenantConfig, TenantId};
use crate::error::StoreError;

/// What a conditional config write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigWrite {
    /// Written; the config is now at this revision.
    Written { revision: i64 },
    /// The config was no longer at the expected revision: nothing was written.
    Stale { current: i64 },
}

/// Tenants, their keys, their configuration (with its revision) and their audit trail.
/// Every change made here (creation, name/status, config) writes its audit entry in the
/// same transaction.
#[async_trait]
pub trait TenantRepository: CredentialRepository {
    /// Inserts a tenant with its first keys, atomically. Only the platform operator creates
    /// tenants, so the entry names the operator.
    async fn create(&self, tenant: &Tenant, keys: &[ApiKeyRecord]) -> Result<(), StoreError>;
    async fn list(&self) -> Result<Vec<Tenant>, StoreError>;
    async fn get(&self, id: TenantId) -> Result<Option<Tenant>, StoreError>;
    /// Writes name and status (the operator's changes; config goes through
    /// [`TenantRepository::update_config`]).
    async fn update(&self, tenant: &Tenant, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// The tenant a live (unrevoked) key of this kind belongs to, and the key.
    async fn find_by_key(
        &self,
        kind: KeyKind,
        key_hash: &str,
    ) -> Result<Option<KeyOwner>, StoreError>;
    /// The tenant's config as stored now and its revision (`None`: no such tenant).
    async fn config(&self, id: TenantId) -> Result<Option<(TenantConfig, i64)>, StoreError>;
    /// Replaces the config only if it is still at `expected_revision` (one conditional
    /// UPDATE, so of two writers holding the same revision exactly one wins), bumping the
    /// revision and recording `action` by `actor` with the config before and after.
    async fn update_config(
        &self,
        id: TenantId,
        config: &TenantConfig,
        expected_revision: i64,
        actor: &Actor,
        action: AuditAction,
        now: DateTime<Utc>,
    ) -> Result<ConfigWrite, StoreError>;
    /// Every origin some active tenant lists in its `cors_allowed_origins` (what a browser's
    /// preflight, which carries no key to say which tenant it is for, is answered for).
    async fn allowed_origins(&self) -> Result<Vec<String>, StoreError>;
    /// The tenant's audit entries, newest first, older than `before` when given.
    async fn audit_log(
        &self,
        id: TenantId,
        before: Option<uuid::Uuid>,
        limit: u64,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}
