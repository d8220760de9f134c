//! The credential seam: a tenant's API keys and customer-token secrets.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{Actor, ApiKeyInfo, CustomerTokenSecret, Tenant, TenantId};
use crate::error::StoreError;

pub use crate::domain::KeyKind;

/// An API key as stored: only its hash.
#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    /// What the audit log names the key by (never its secret).
    pub id: uuid::Uuid,
    pub kind: KeyKind,
    pub name: String,
    pub key_hash: String,
}

/// Whom a live key belongs to, as authentication reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyOwner {
    pub tenant: Tenant,
    pub key_id: uuid::Uuid,
    /// As stored: authentication records a use only when this is older than
    /// [`crate::domain::credentials::LAST_USED_RESOLUTION`].
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What revoking a key did.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyRevocation {
    Revoked(ApiKeyInfo),
    /// It was revoked before: nothing changed.
    AlreadyRevoked(ApiKeyInfo),
    /// The tenant has no key with that id.
    NotFound,
    /// It is the tenant's last active admin key: nothing changed.
    LastAdminKey,
}

/// What deleting a customer-token secret did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretDeletion {
    Deleted,
    /// The tenant has no secret with that id.
    NotFound,
    /// It is the tenant's only secret: nothing changed.
    LastSecret,
}

/// A tenant's API keys and customer-token secrets. Every change writes its audit entry in
/// its transaction, and the checks that keep a tenant reachable (a last admin key, a last
/// secret) are made in that transaction too, serialized per tenant, so two admins revoking
/// each other's keys at once cannot both succeed.
#[async_trait]
pub trait CredentialRepository: Send + Sync {
    /// Every key of the tenant, revoked ones included, oldest first.
    async fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKeyInfo>, StoreError>;
    async fn create_api_key(
        &self,
        tenant: TenantId,
        key: &ApiKeyRecord,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<ApiKeyInfo, StoreError>;
    async fn revoke_api_key(
        &self,
        tenant: TenantId,
        key_id: uuid::Uuid,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<KeyRevocation, StoreError>;
    /// Records that the key was used at `now`, unless a use within
    /// [`crate::domain::credentials::LAST_USED_RESOLUTION`] is already recorded (by this
    /// node or another): one conditional UPDATE.
    async fn touch_api_key(&self, key_id: uuid::Uuid, now: DateTime<Utc>)
    -> Result<(), StoreError>;
    /// The tenant's customer-token secrets, newest first.
    async fn customer_token_secrets(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<CustomerTokenSecret>, StoreError>;
    async fn add_customer_token_secret(
        &self,
        tenant: TenantId,
        secret: &CustomerTokenSecret,
        actor: &Actor,
    ) -> Result<(), StoreError>;
    async fn delete_customer_token_secret(
        &self,
        tenant: TenantId,
        secret_id: uuid::Uuid,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<SecretDeletion, StoreError>;
}
