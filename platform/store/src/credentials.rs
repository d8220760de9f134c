//! [`CredentialRepository`] on `api_keys` and `customer_token_secrets`.
//!
//! Changes that could leave a tenant without a way in (revoking an admin key, deleting a
//! secret) first lock the tenant's row (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's
//! `BEGIN IMMEDIATE` already admits one writer at a time), so the "is another one left?"
//! check and the change are one step: two admins revoking each other's keys at once
//! cannot both succeed.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use trolley_core::StoreError;
use trolley_core::domain::audit::snapshot;
use trolley_core::domain::credentials::LAST_USED_RESOLUTION;
use trolley_core::domain::{
    Actor, ApiKeyInfo, AuditAction, AuditEntry, CustomerTokenSecret, KeyKind, TenantId,
};
use trolley_core::ports::{ApiKeyRecord, CredentialRepository, KeyRevocation, SecretDeletion};
use uuid::Uuid;

use crate::SqlTenantRepository;
use crate::audit;
use crate::convert::{from_millis, to_millis};
use crate::entity::{api_keys, customer_token_secrets, tenants};
use crate::error::{corrupt, db_err};
use crate::write_turns::{WriteTxn, begin_write, write_turn};

pub(crate) fn secret_row(
    tenant: TenantId,
    s: &CustomerTokenSecret,
) -> customer_token_secrets::Model {
    customer_token_secrets::Model {
        id: s.id,
        tenant_id: tenant.0,
        secret: s.secret.clone(),
        created_at: to_millis(s.created_at),
    }
}

/// Customer-token secrets by tenant (one tenant's, or every tenant's), newest first.
pub(crate) async fn secrets_of<C: ConnectionTrait>(
    db: &C,
    tenant: Option<TenantId>,
) -> Result<HashMap<Uuid, Vec<CustomerTokenSecret>>, StoreError> {
    let mut query = customer_token_secrets::Entity::find();
    if let Some(tenant) = tenant {
        query = query.filter(customer_token_secrets::Column::TenantId.eq(tenant.0));
    }
    let rows = query
        .order_by_desc(customer_token_secrets::Column::CreatedAt)
        .order_by_desc(customer_token_secrets::Column::Id)
        .all(db)
        .await
        .map_err(db_err)?;
    let mut by_tenant: HashMap<Uuid, Vec<CustomerTokenSecret>> = HashMap::new();
    for row in rows {
        by_tenant
            .entry(row.tenant_id)
            .or_default()
            .push(CustomerTokenSecret {
                id: row.id,
                created_at: from_millis(row.created_at, "customer_token_secrets.created_at")?,
                secret: row.secret,
            });
    }
    Ok(by_tenant)
}

fn key_info(row: api_keys::Model) -> Result<ApiKeyInfo, StoreError> {
    let at = |ms: Option<i64>, what| ms.map(|ms| from_millis(ms, what)).transpose();
    Ok(ApiKeyInfo {
        kind: KeyKind::parse(&row.kind)
            .ok_or_else(|| corrupt(format!("api key {} has kind `{}`", row.id, row.kind)))?,
        created_at: from_millis(row.created_at, "api_keys.created_at")?,
        last_used_at: at(row.last_used_at, "api_keys.last_used_at")?,
        revoked_at: at(row.revoked_at, "api_keys.revoked_at")?,
        id: row.id,
        name: row.name,
    })
}

/// Begins a write transaction holding the tenant's row; `None` (nothing held) when there
/// is no such tenant.
async fn lock_tenant(
    repo: &SqlTenantRepository,
    tenant: TenantId,
) -> Result<Option<WriteTxn>, StoreError> {
    let txn = begin_write(&repo.db).await?;
    let found: Option<Uuid> = tenants::Entity::find_by_id(tenant.0)
        .select_only()
        .column(tenants::Column::Id)
        .lock_exclusive()
        .into_tuple()
        .one(&txn)
        .await
        .map_err(db_err)?;
    if found.is_none() {
        txn.rollback().await.map_err(db_err)?;
        return Ok(None);
    }
    Ok(Some(txn))
}

/// Keeps `tenants.customer_token_secret` equal to the newest secret (see the entity).
async fn mirror_newest_secret(
    txn: &DatabaseTransaction,
    tenant: TenantId,
) -> Result<(), StoreError> {
    let newest: Option<String> = customer_token_secrets::Entity::find()
        .select_only()
        .column(customer_token_secrets::Column::Secret)
        .filter(customer_token_secrets::Column::TenantId.eq(tenant.0))
        .order_by_desc(customer_token_secrets::Column::CreatedAt)
        .order_by_desc(customer_token_secrets::Column::Id)
        .into_tuple()
        .one(txn)
        .await
        .map_err(db_err)?;
    if let Some(newest) = newest {
        tenants::Entity::update_many()
            .col_expr(tenants::Column::CustomerTokenSecret, Expr::value(newest))
            .filter(tenants::Column::Id.eq(tenant.0))
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

#[async_trait]
impl CredentialRepository for SqlTenantRepository {
    async fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKeyInfo>, StoreError> {
        api_keys::Entity::find()
            .filter(api_keys::Column::TenantId.eq(tenant.0))
            .order_by_asc(api_keys::Column::CreatedAt)
            .order_by_asc(api_keys::Column::Id)
            .all(&self.db)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(key_info)
            .collect()
    }

    async fn create_api_key(
        &self,
        tenant: TenantId,
        key: &ApiKeyRecord,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<ApiKeyInfo, StoreError> {
        let row = api_keys::Model {
            id: key.id,
            tenant_id: tenant.0,
            kind: key.kind.as_str().to_owned(),
            key_hash: key.key_hash.clone(),
            created_at: to_millis(now),
            revoked_at: None,
            name: key.name.clone(),
            last_used_at: None,
        };
        let info = key_info(row.clone())?;
        let txn = begin_write(&self.db).await?;
        api_keys::Entity::insert(row.into_active_model())
            .exec_without_returning(&txn)
            .await
            .map_err(db_err)?;
        let entry = AuditEntry::new(
            tenant,
            *actor,
            AuditAction::ApiKeyCreate,
            key.id.to_string(),
            None,
            Some(snapshot::api_key(&info)),
            now,
        );
        audit::record(&txn, &[entry]).await?;
        txn.commit().await.map_err(db_err)?;
        Ok(info)
    }

    async fn revoke_api_key(
        &self,
        tenant: TenantId,
        key_id: Uuid,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<KeyRevocation, StoreError> {
        let Some(txn) = lock_tenant(self, tenant).await? else {
            return Ok(KeyRevocation::NotFound);
        };
        let row = api_keys::Entity::find_by_id(key_id)
            .filter(api_keys::Column::TenantId.eq(tenant.0))
            .one(&txn)
            .await
            .map_err(db_err)?;
        let Some(row) = row else {
            txn.rollback().await.map_err(db_err)?;
            return Ok(KeyRevocation::NotFound);
        };
        let before = key_info(row)?;
        if before.revoked_at.is_some() {
            txn.rollback().await.map_err(db_err)?;
            return Ok(KeyRevocation::AlreadyRevoked(before));
        }
        if before.kind == KeyKind::Admin {
            let others = api_keys::Entity::find()
                .filter(api_keys::Column::TenantId.eq(tenant.0))
                .filter(api_keys::Column::Kind.eq(KeyKind::Admin.as_str()))
                .filter(api_keys::Column::RevokedAt.is_null())
                .filter(api_keys::Column::Id.ne(key_id))
                .count(&txn)
                .await
                .map_err(db_err)?;
            if others == 0 {
                txn.rollback().await.map_err(db_err)?;
                return Ok(KeyRevocation::LastAdminKey);
            }
        }
        api_keys::Entity::update_many()
            .col_expr(api_keys::Column::RevokedAt, Expr::value(to_millis(now)))
            .filter(api_keys::Column::Id.eq(key_id))
            .filter(api_keys::Column::RevokedAt.is_null())
            .exec(&txn)
            .await
            .map_err(db_err)?;
        let after = ApiKeyInfo {
            revoked_at: Some(now),
            ..before.clone()
        };
        let entry = AuditEntry::new(
            tenant,
            *actor,
            AuditAction::ApiKeyRevoke,
            key_id.to_string(),
            Some(snapshot::api_key(&before)),
            Some(snapshot::api_key(&after)),
            now,
        );
        audit::record(&txn, &[entry]).await?;
        txn.commit().await.map_err(db_err)?;
        Ok(KeyRevocation::Revoked(after))
    }

    async fn touch_api_key(&self, key_id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        let stale_before = to_millis(now - LAST_USED_RESOLUTION);
        let _turn = write_turn(&self.db).await?;
        api_keys::Entity::update_many()
            .col_expr(api_keys::Column::LastUsedAt, Expr::value(to_millis(now)))
            .filter(api_keys::Column::Id.eq(key_id))
            .filter(
                api_keys::Column::LastUsedAt
                    .is_null()
                    .or(api_keys::Column::LastUsedAt.lte(stale_before)),
            )
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn customer_token_secrets(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<CustomerTokenSecret>, StoreError> {
        Ok(secrets_of(&self.db, Some(tenant))
            .await?
            .remove(&tenant.0)
            .unwrap_or_default())
    }

    async fn add_customer_token_secret(
        &self,
        tenant: TenantId,
        secret: &CustomerTokenSecret,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let Some(txn) = lock_tenant(self, tenant).await? else {
            return Err(StoreError::Internal(format!(
                "tenant {tenant} does not exist"
            )));
        };
        customer_token_secrets::Entity::insert(secret_row(tenant, secret).into_active_model())
            .exec_without_returning(&txn)
            .await
            .map_err(db_err)?;
        mirror_newest_secret(&txn, tenant).await?;
        let entry = AuditEntry::new(
            tenant,
            *actor,
            AuditAction::CustomerTokenSecretCreate,
            secret.id.to_string(),
            None,
            Some(snapshot::customer_token_secret(secret)),
            secret.created_at,
        );
        audit::record(&txn, &[entry]).await?;
        txn.commit().await.map_err(db_err)
    }

    async fn delete_customer_token_secret(
        &self,
        tenant: TenantId,
        secret_id: Uuid,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<SecretDeletion, StoreError> {
        let Some(txn) = lock_tenant(self, tenant).await? else {
            return Ok(SecretDeletion::NotFound);
        };
        let secrets = secrets_of(&txn, Some(tenant))
            .await?
            .remove(&tenant.0)
            .unwrap_or_default();
        let Some(doomed) = secrets.iter().find(|s| s.id == secret_id) else {
            txn.rollback().await.map_err(db_err)?;
            return Ok(SecretDeletion::NotFound);
        };
        if secrets.len() == 1 {
            txn.rollback().await.map_err(db_err)?;
            return Ok(SecretDeletion::LastSecret);
        }
        customer_token_secrets::Entity::delete_many()
            .filter(customer_token_secrets::Column::Id.eq(secret_id))
            .filter(customer_token_secrets::Column::TenantId.eq(tenant.0))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        mirror_newest_secret(&txn, tenant).await?;
        let entry = AuditEntry::new(
            tenant,
            *actor,
            AuditAction::CustomerTokenSecretDelete,
            secret_id.to_string(),
            Some(snapshot::customer_token_secret(doomed)),
            None,
            now,
        );
        audit::record(&txn, &[entry]).await?;
        txn.commit().await.map_err(db_err)?;
        Ok(SecretDeletion::Deleted)
    }
}
