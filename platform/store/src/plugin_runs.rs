//! [`PluginRunRepository`]: run records of plugin calls, bounded per tenant.

use async_trait::async_trait;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use trolley_core::StoreError;
use trolley_core::domain::{PluginRun, PluginRunId, RunQuery, TenantId};
use trolley_core::ports::PluginRunRepository;
use uuid::Uuid;

use crate::convert::{from_json, to_json, to_millis};
use crate::entity::plugin_runs;
use crate::error::db_err;
use crate::stock::{End, finish};
use crate::write_turns::begin_write;

#[derive(Debug, Clone)]
pub struct SqlPluginRunRepository {
    db: DatabaseConnection,
}

impl SqlPluginRunRepository {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn run_of(row: &plugin_runs::Model) -> Result<PluginRun, StoreError> {
    from_json(&row.record, "plugin_runs.record")
}

#[async_trait]
impl PluginRunRepository for SqlPluginRunRepository {
    #[tracing::instrument(name = "db.plugin_runs.record", level = "debug", skip_all, fields(tenant_id = %run.tenant_id))]
    async fn record(&self, run: &PluginRun, keep: u32) -> Result<(), StoreError> {
        let row = plugin_runs::ActiveModel {
            id: sea_orm::ActiveValue::Set(run.id.0),
            tenant_id: sea_orm::ActiveValue::Set(run.tenant_id.0),
            order_type: sea_orm::ActiveValue::Set(run.order_type.clone()),
            failed: sea_orm::ActiveValue::Set(run.failed()),
            created_at: sea_orm::ActiveValue::Set(to_millis(run.created_at)),
            record: sea_orm::ActiveValue::Set(to_json(run, "a plugin run")?),
        };
        let txn = begin_write(&self.db).await?;
        let result = async {
            plugin_runs::Entity::insert(row)
                .exec_without_returning(&txn)
                .await
                .map_err(db_err)?;
            // The newest run past the bound, and every older one of its kind, go.
            let same_kind = || {
                sea_orm::Condition::all()
                    .add(plugin_runs::Column::TenantId.eq(run.tenant_id.0))
                    .add(plugin_runs::Column::Failed.eq(run.failed()))
            };
            let cutoff: Option<Uuid> = plugin_runs::Entity::find()
                .select_only()
                .column(plugin_runs::Column::Id)
                .filter(same_kind())
                .order_by_desc(plugin_runs::Column::Id)
                .offset(u64::from(keep))
                .limit(1)
                .into_tuple()
                .one(&txn)
                .await
                .map_err(db_err)?;
            if let Some(cutoff) = cutoff {
                plugin_runs::Entity::delete_many()
                    .filter(same_kind())
                    .filter(plugin_runs::Column::Id.lte(cutoff))
                    .exec(&txn)
                    .await
                    .map_err(db_err)?;
            }
            Ok(End::Commit(()))
        }
        .await;
        finish(txn, result).await
    }

    #[tracing::instrument(name = "db.plugin_runs.list", level = "debug", skip_all, fields(tenant_id = %tenant))]
    async fn list(
        &self,
        tenant: TenantId,
        order_type: &str,
        query: RunQuery,
    ) -> Result<Vec<PluginRun>, StoreError> {
        let mut find = plugin_runs::Entity::find()
            .filter(plugin_runs::Column::TenantId.eq(tenant.0))
            .filter(plugin_runs::Column::OrderType.eq(order_type));
        if query.failed_only {
            find = find.filter(plugin_runs::Column::Failed.eq(true));
        }
        if let Some(before) = query.before {
            find = find.filter(plugin_runs::Column::Id.lt(before.0));
        }
        find.order_by_desc(plugin_runs::Column::Id)
            .limit(u64::from(query.limit))
            .all(&self.db)
            .await
            .map_err(db_err)?
            .iter()
            .map(run_of)
            .collect()
    }

    #[tracing::instrument(name = "db.plugin_runs.get", level = "debug", skip_all, fields(tenant_id = %tenant))]
    async fn get(
        &self,
        tenant: TenantId,
        order_type: &str,
        id: PluginRunId,
    ) -> Result<Option<PluginRun>, StoreError> {
        plugin_runs::Entity::find_by_id(id.0)
            .filter(plugin_runs::Column::TenantId.eq(tenant.0))
            .filter(plugin_runs::Column::OrderType.eq(order_type))
            .one(&self.db)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(run_of)
            .transpose()
    }
}
