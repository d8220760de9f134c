//! [`TenantRepository`] on the `tenants` and `api_keys` tables.

use async_trait::async_trait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, TransactionTrait,
};
use trolley_core::StoreError;
use trolley_core::domain::{Currency, Tenant, TenantId, TenantStatus};
use trolley_core::ports::{ApiKeyRecord, KeyKind, TenantRepository};
use uuid::Uuid;

use crate::convert::{from_json, from_millis, to_json, to_millis};
use crate::db::write_txn;
use crate::entity::{api_keys, tenants};
use crate::error::{corrupt, db_err};

#[derive(Debug, Clone)]
pub struct SqlTenantRepository {
    db: DatabaseConnection,
}

impl SqlTenantRepository {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn to_row(tenant: &Tenant) -> Result<tenants::Model, StoreError> {
    Ok(tenants::Model {
        id: tenant.id.0,
        name: tenant.name.clone(),
        currency: tenant.currency.code().to_owned(),
        status: tenant.status.as_str().to_owned(),
        customer_token_secret: tenant.customer_token_secret.clone(),
        config: to_json(&tenant.config, "tenant config")?,
        created_at: to_millis(tenant.created_at),
    })
}

fn from_row(row: tenants::Model) -> Result<Tenant, StoreError> {
    let currency: Currency = row
        .currency
        .parse()
        .map_err(|_| corrupt(format!("tenant {} has currency `{}`", row.id, row.currency)))?;
    let status = TenantStatus::parse(&row.status)
        .ok_or_else(|| corrupt(format!("tenant {} has status `{}`", row.id, row.status)))?;
    Ok(Tenant {
        id: TenantId(row.id),
        name: row.name,
        currency,
        status,
        customer_token_secret: row.customer_token_secret,
        config: from_json(&row.config, "tenant config")?,
        created_at: from_millis(row.created_at, "tenants.created_at")?,
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
                    id: Uuid::now_v7(),
                    tenant_id: tenant.id.0,
                    kind: k.kind.as_str().to_owned(),
                    key_hash: k.key_hash.clone(),
                    created_at: row.created_at,
                    revoked_at: None,
                }
                .into_active_model()
            })
            .collect();

        let txn = self
            .db
            .begin_with_options(write_txn())
            .await
            .map_err(db_err)?;
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
        txn.commit().await.map_err(db_err)
    }

    async fn list(&self) -> Result<Vec<Tenant>, StoreError> {
        tenants::Entity::find()
            .order_by_asc(tenants::Column::CreatedAt)
            .order_by_asc(tenants::Column::Id)
            .all(&self.db)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(from_row)
            .collect()
    }

    async fn get(&self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        tenants::Entity::find_by_id(id.0)
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(from_row)
            .transpose()
    }

    async fn update(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let config = to_json(&tenant.config, "tenant config")?;
        let result = tenants::Entity::update_many()
            .col_expr(tenants::Column::Name, Expr::value(tenant.name.clone()))
            .col_expr(tenants::Column::Status, Expr::value(tenant.status.as_str()))
            .col_expr(tenants::Column::Config, Expr::value(config))
            .filter(tenants::Column::Id.eq(tenant.id.0))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        if result.rows_affected == 0 {
            return Err(StoreError::Internal(format!(
                "tenant {} does not exist",
                tenant.id
            )));
        }
        Ok(())
    }

    async fn find_by_key(
        &self,
        kind: KeyKind,
        key_hash: &str,
    ) -> Result<Option<Tenant>, StoreError> {
        tenants::Entity::find()
            .join(
                sea_orm::JoinType::InnerJoin,
                tenants::Relation::ApiKeys.def(),
            )
            .filter(api_keys::Column::KeyHash.eq(key_hash))
            .filter(api_keys::Column::Kind.eq(kind.as_str()))
            .filter(api_keys::Column::RevokedAt.is_null())
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(from_row)
            .transpose()
    }
}
