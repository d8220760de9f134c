//! [`TenantRepository`] on the `tenants`, `api_keys` and `customer_token_secrets` tables
//! (the credential changes themselves are in `credentials.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
};
use trolley_core::StoreError;
use trolley_core::domain::audit::snapshot;
use trolley_core::domain::{
    Actor, AuditAction, AuditEntry, Currency, CustomerTokenSecret, Tenant, TenantConfig, TenantId,
    TenantStatus,
};
use trolley_core::ports::{ApiKeyRecord, ConfigWrite, KeyKind, KeyOwner, TenantRepository};
use uuid::Uuid;

use crate::audit;
use crate::convert::{from_json, from_millis, to_json, to_millis};
use crate::credentials::{secret_row, secrets_of};
use crate::entity::{api_keys, customer_token_secrets, tenants};
use crate::error::{corrupt, db_err};
use crate::write_turns::begin_write;

#[derive(Debug, Clone)]
pub struct SqlTenantRepository {
    pub(crate) db: DatabaseConnection,
}

impl SqlTenantRepository {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn to_row(tenant: &Tenant) -> Result<tenants::Model, StoreError> {
    let newest = tenant
        .customer_token_secrets
        .first()
        .ok_or_else(|| StoreError::Internal("a tenant needs a customer-token secret".into()))?;
    Ok(tenants::Model {
        id: tenant.id.0,
        name: tenant.name.clone(),
        currency: tenant.currency.code().to_owned(),
        status: tenant.status.as_str().to_owned(),
        customer_token_secret: newest.secret.clone(),
        config: to_json(&tenant.config, "tenant config")?,
        created_at: to_millis(tenant.created_at),
        config_revision: 1,
    })
}

/// `secrets`: the tenant's rows of `customer_token_secrets`, newest first.
pub(crate) fn from_row(
    row: tenants::Model,
    secrets: Vec<CustomerTokenSecret>,
) -> Result<Tenant, StoreError> {
    let currency: Currency = row
        .currency
        .parse()
        .map_err(|_| corrupt(format!("tenant {} has currency `{}`", row.id, row.currency)))?;
    let status = TenantStatus::parse(&row.status)
        .ok_or_else(|| corrupt(format!("tenant {} has status `{}`", row.id, row.status)))?;
    let created_at = from_millis(row.created_at, "tenants.created_at")?;
    let customer_token_secrets = if secrets.is_empty() {
        // Created by a node of the previous release after the migration: its one secret is
        // the column, named the way the migration names moved secrets.
        vec![CustomerTokenSecret {
            id: row.id,
            secret: row.customer_token_secret,
            created_at,
        }]
    } else {
        secrets
    };
    Ok(Tenant {
        id: TenantId(row.id),
        name: row.name,
        currency,
        status,
        customer_token_secrets,
        config: from_json(&row.config, "tenant config")?,
        created_at,
    })
}

#[async_trait]
impl TenantRepository for SqlTenantRepository {
    async fn create(&self, tenant: &Tenant, keys: &[ApiKeyRecord]) -> Result<(), StoreError> {
        let row = to_row(tenant)?;
        let key_rows: Vec<api_keys::ActiveModel> = keys
            .iter()
            .map(|k| {
                api_keys::Model {
                    id: k.id,
                    tenant_id: tenant.id.0,
                    kind: k.kind.as_str().to_owned(),
                    key_hash: k.key_hash.clone(),
                    created_at: row.created_at,
                    revoked_at: None,
                    name: k.name.clone(),
                    last_used_at: None,
                }
                .into_active_model()
            })
            .collect();

        let txn = begin_write(&self.db).await?;
        tenants::Entity::insert(row.into_active_model())
            .exec_without_returning(&txn)
            .await
            .map_err(db_err)?;
        if !key_rows.is_empty() {
            api_keys::Entity::insert_many(key_rows)
                .exec_without_returning(&txn)
                .await
                .map_err(db_err)?;
        }
        let secret_rows = tenant
            .customer_token_secrets
            .iter()
            .map(|s| secret_row(tenant.id, s).into_active_model());
        customer_token_secrets::Entity::insert_many(secret_rows)
            .exec_without_returning(&txn)
            .await
            .map_err(db_err)?;
        let entry = AuditEntry::new(
            tenant.id,
            Actor::Operator,
            AuditAction::TenantCreate,
            tenant.id.to_string(),
            None,
            Some(snapshot::tenant(tenant)),
            tenant.created_at,
        );
        audit::record(&txn, &[entry]).await?;
        txn.commit().await.map_err(db_err)
    }

    async fn list(&self) -> Result<Vec<Tenant>, StoreError> {
        let rows = tenants::Entity::find()
            .order_by_asc(tenants::Column::CreatedAt)
            .order_by_asc(tenants::Column::Id)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        let mut secrets = secrets_of(&self.db, None).await?;
        rows.into_iter()
            .map(|row| {
                let own = secrets.remove(&row.id).unwrap_or_default();
                from_row(row, own)
            })
            .collect()
    }

    async fn get(&self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        let Some(row) = tenants::Entity::find_by_id(id.0)
            .one(&self.db)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        let secrets = secrets_of(&self.db, Some(id))
            .await?
            .remove(&id.0)
            .unwrap_or_default();
        from_row(row, secrets).map(Some)
    }

    async fn update(&self, tenant: &Tenant, now: DateTime<Utc>) -> Result<(), StoreError> {
        let txn = begin_write(&self.db).await?;
        let Some(before) = tenants::Entity::find_by_id(tenant.id.0)
            .one(&txn)
            .await
            .map_err(db_err)?
        else {
            txn.rollback().await.map_err(db_err)?;
            return Err(StoreError::Internal(format!(
                "tenant {} does not exist",
                tenant.id
            )));
        };
        // The snapshot holds no secret, so the secrets need not be read.
        let before = from_row(before, Vec::new())?;
        tenants::Entity::update_many()
            .col_expr(tenants::Column::Name, Expr::value(tenant.name.clone()))
            .col_expr(tenants::Column::Status, Expr::value(tenant.status.as_str()))
            .filter(tenants::Column::Id.eq(tenant.id.0))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        let entry = AuditEntry::new(
            tenant.id,
            Actor::Operator,
            AuditAction::TenantUpdate,
            tenant.id.to_string(),
            Some(snapshot::tenant(&before)),
            Some(snapshot::tenant(tenant)),
            now,
        );
        audit::record(&txn, &[entry]).await?;
        txn.commit().await.map_err(db_err)
    }

    async fn allowed_origins(&self) -> Result<Vec<String>, StoreError> {
        // Only configs whose list is not empty (the stored JSON spells an empty one `[]`).
        let configs: Vec<String> = tenants::Entity::find()
            .select_only()
            .column(tenants::Column::Config)
            .filter(tenants::Column::Status.eq(TenantStatus::Active.as_str()))
            .filter(
                Expr::col(tenants::Column::Config)
                    .like(LikeExpr::new(r#"%"cors\_allowed\_origins":["%"#).escape('\\')),
            )
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(db_err)?;
        let mut origins = Vec::new();
        for config in configs {
            let config: TenantConfig = from_json(&config, "tenant config")?;
            origins.extend(config.cors_allowed_origins);
        }
        origins.sort_unstable();
        origins.dedup();
        Ok(origins)
    }

    async fn config(&self, id: TenantId) -> Result<Option<(TenantConfig, i64)>, StoreError> {
        let row: Option<(String, i64)> = tenants::Entity::find_by_id(id.0)
            .select_only()
            .column(tenants::Column::Config)
            .column(tenants::Column::ConfigRevision)
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(db_err)?;
        row.map(|(config, revision)| Ok((from_json(&config, "tenant config")?, revision)))
            .transpose()
    }

    /// The UPDATE's `WHERE config_revision = ?` is what decides a race: on PostgreSQL the
    /// second writer waits for the first's row lock, then re-checks the condition against
    /// the committed row and matches nothing; SQLite has one writer at a time. The earlier
    /// read only supplies the audit's `before` and tells a stale revision from a missing
    /// tenant.
    async fn update_config(
        &self,
        id: TenantId,
        config: &TenantConfig,
        expected_revision: i64,
        actor: &Actor,
        action: AuditAction,
        now: DateTime<Utc>,
    ) -> Result<ConfigWrite, StoreError> {
        let text = to_json(config, "tenant config")?;
        let txn = begin_write(&self.db).await?;
        let current: Option<(String, i64)> = tenants::Entity::find_by_id(id.0)
            .select_only()
            .column(tenants::Column::Config)
            .column(tenants::Column::ConfigRevision)
            .into_tuple()
            .one(&txn)
            .await
            .map_err(db_err)?;
        let Some((before, revision)) = current else {
            txn.rollback().await.map_err(db_err)?;
            return Err(StoreError::Internal(format!("tenant {id} does not exist")));
        };
        if revision != expected_revision {
            txn.rollback().await.map_err(db_err)?;
            return Ok(ConfigWrite::Stale { current: revision });
        }
        let updated = tenants::Entity::update_many()
            .col_expr(tenants::Column::Config, Expr::value(text))
            .col_expr(
                tenants::Column::ConfigRevision,
                Expr::col(tenants::Column::ConfigRevision).add(1),
            )
            .filter(tenants::Column::Id.eq(id.0))
            .filter(tenants::Column::ConfigRevision.eq(expected_revision))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        if updated.rows_affected == 0 {
            // Another writer committed between our read and our update.
            let current: Option<i64> = tenants::Entity::find_by_id(id.0)
                .select_only()
                .column(tenants::Column::ConfigRevision)
                .into_tuple()
                .one(&txn)
                .await
                .map_err(db_err)?;
            txn.rollback().await.map_err(db_err)?;
            return Ok(ConfigWrite::Stale {
                current: current.unwrap_or(expected_revision),
            });
        }
        let before: TenantConfig = from_json(&before, "tenant config")?;
        let entry = AuditEntry::new(
            id,
            *actor,
            action,
            "config",
            Some(snapshot::config(&before)),
            Some(snapshot::config(config)),
            now,
        );
        audit::record(&txn, &[entry]).await?;
        txn.commit().await.map_err(db_err)?;
        Ok(ConfigWrite::Written {
            revision: expected_revision + 1,
        })
    }

    async fn audit_log(
        &self,
        id: TenantId,
        before: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        audit::page(&self.db, id, before, limit).await
    }

    async fn find_by_key(
        &self,
        kind: KeyKind,
        key_hash: &str,
    ) -> Result<Option<KeyOwner>, StoreError> {
        let found = api_keys::Entity::find()
            .find_also_related(tenants::Entity)
            .filter(api_keys::Column::KeyHash.eq(key_hash))
            .filter(api_keys::Column::Kind.eq(kind.as_str()))
            .filter(api_keys::Column::RevokedAt.is_null())
            .one(&self.db)
            .await
            .map_err(db_err)?;
        let Some((key, Some(tenant))) = found else {
            return Ok(None);
        };
        let id = TenantId(tenant.id);
        let secrets = secrets_of(&self.db, Some(id))
            .await?
            .remove(&id.0)
            .unwrap_or_default();
        Ok(Some(KeyOwner {
            tenant: from_row(tenant, secrets)?,
            key_id: key.id,
            last_used_at: key
                .last_used_at
                .map(|ms| from_millis(ms, "api_keys.last_used_at"))
                .transpose()?,
        }))
    }
}
