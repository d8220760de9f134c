//! A tenant's admins manage its credentials: several named API keys per kind, revoked one
//! by one, and customer-token secrets rotated with an overlap (SPEC §14).

use uuid::Uuid;

use super::TenantService;
use crate::domain::{Actor, ApiKeyInfo, CustomerTokenSecret, KeyKind, KeyName, TenantId, secret};
use crate::error::CoreError;
use crate::ports::{ApiKeyRecord, KeyRevocation, SecretDeletion};

/// A key just created: its secret is in this value only.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub info: ApiKeyInfo,
    pub key: String,
}

impl TenantService {
    /// Every key of the tenant, revoked ones included, oldest first; never a secret.
    pub async fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKeyInfo>, CoreError> {
        Ok(self.tenants.api_keys(tenant).await?)
    }

    /// Creates a key that works at once, next to the tenant's others.
    #[tracing::instrument(skip(self, name), fields(tenant_id = %tenant, kind = kind.as_str()))]
    pub async fn create_api_key(
        &self,
        tenant: TenantId,
        kind: KeyKind,
        name: &str,
        actor: &Actor,
    ) -> Result<NewApiKey, CoreError> {
        let name = KeyName::parse(name)?;
        let key = secret::generate(kind.prefix());
        let record = ApiKeyRecord {
            id: Uuid::now_v7(),
            kind,
            name: name.as_str().to_owned(),
            key_hash: secret::hash(&key),
        };
        let info = self
            .tenants
            .create_api_key(tenant, &record, actor, self.clock.now_millis())
            .await?;
        tracing::info!(key_id = %info.id, "api key created");
        Ok(NewApiKey { info, key })
    }

    /// Revokes a key: this node refuses it from now on, every other node within
    /// [`super::KEY_CACHE_TTL`]. Revoking a revoked key changes nothing. An admin cannot
    /// lock the tenant out: the key the request is authenticated with and the tenant's last
    /// active admin key are refused.
    #[tracing::instrument(skip(self), fields(tenant_id = %tenant))]
    pub async fn revoke_api_key(
        &self,
        tenant: TenantId,
        key_id: Uuid,
        actor: &Actor,
    ) -> Result<(), CoreError> {
        if *actor == Actor::ApiKey(key_id) {
            return Err(CoreError::CannotRevokeOwnKey);
        }
        let outcome = self
            .tenants
            .revoke_api_key(tenant, key_id, actor, self.clock.now_millis())
            .await?;
        match outcome {
            KeyRevocation::Revoked(_) => {
                self.forget(tenant);
                tracing::info!(%key_id, "api key revoked");
                Ok(())
            }
            KeyRevocation::AlreadyRevoked(_) => Ok(()),
            KeyRevocation::NotFound => Err(CoreError::ApiKeyNotFound),
            KeyRevocation::LastAdminKey => Err(CoreError::LastAdminKey),
        }
    }

    /// The tenant's customer-token secrets, newest first (what storefronts should sign new
    /// tokens with comes first).
    pub async fn customer_token_secrets(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<CustomerTokenSecret>, CoreError> {
        Ok(self.tenants.customer_token_secrets(tenant).await?)
    }

    /// Adds a secret. Tokens signed with it verify at once on this node, on every other
    /// within [`super::KEY_CACHE_TTL`]; tokens signed with the older ones keep verifying
    /// until those are deleted.
    #[tracing::instrument(skip(self), fields(tenant_id = %tenant))]
    pub async fn add_customer_token_secret(
        &self,
        tenant: TenantId,
        actor: &Actor,
    ) -> Result<CustomerTokenSecret, CoreError> {
        let secret = CustomerTokenSecret::generate(self.clock.now_millis());
        self.tenants
            .add_customer_token_secret(tenant, &secret, actor)
            .await?;
        self.forget(tenant);
        tracing::info!(secret_id = %secret.id, "customer-token secret added");
        Ok(secret)
    }

    /// Deletes a secret: tokens signed with it stop verifying (on other nodes within
    /// [`super::KEY_CACHE_TTL`]). The last one is refused.
    #[tracing::instrument(skip(self), fields(tenant_id = %tenant))]
    pub async fn delete_customer_token_secret(
        &self,
        tenant: TenantId,
        secret_id: Uuid,
        actor: &Actor,
    ) -> Result<(), CoreError> {
        let outcome = self
            .tenants
            .delete_customer_token_secret(tenant, secret_id, actor, self.clock.now_millis())
            .await?;
        match outcome {
            SecretDeletion::Deleted => {
                self.forget(tenant);
                tracing::info!(%secret_id, "customer-token secret deleted");
                Ok(())
            }
            SecretDeletion::NotFound => Err(CoreError::CustomerTokenSecretNotFound),
            SecretDeletion::LastSecret => Err(CoreError::LastCustomerTokenSecret),
        }
    }

    /// Records a key's use. A failure costs only the record's freshness, never the
    /// request: it is logged and the request goes on.
    pub(super) async fn touch(&self, key_id: Uuid, now: chrono::DateTime<chrono::Utc>) {
        if let Err(error) = self.tenants.touch_api_key(key_id, now).await {
            tracing::warn!(%key_id, %error, "could not record the api key's last use");
        }
    }
}
