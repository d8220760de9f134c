//! [`PluginRepository`] on the `plugin_modules`, `plugins` and `order_type_activations`
//! tables.
//!
//! - Module bytes are content addressed: one `plugin_modules` row per SHA-256, shared by
//!   every tenant that uploads them; each tenant gets its own `plugins` row (unique on
//!   `(tenant_id, sha256)`).
//! - An order type's activations form a history ordered by id (UUID v7). At most one row per
//!   tenant and order type is `active` (a unique index on `(tenant_id, active_order_type)`,
//!   where `active_order_type` is NULL unless the row is active); activating supersedes the
//!   active row, and rolling back retires it (`rolled_back`) and reinstates the most recent
//!   `superseded` row older than it, so successive rollbacks walk back like a stack and a
//!   rolled-back activation is never reinstated by a rollback.
//! - Activations and rollbacks of one tenant's order type are serialized: SQLite writes
//!   begin `IMMEDIATE`; on PostgreSQL the transaction first takes an advisory lock keyed by
//!   `(tenant, order type)`, so concurrent activations queue instead of failing on the
//!   unique index (which still guards the invariant; a violation is retried).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};
use trolley_core::StoreError;
use trolley_core::domain::audit::snapshot;
use trolley_core::domain::{
    Activation, Actor, AuditAction, AuditEntry, EventType, PluginContract, PluginId, PluginInfo,
    PluginRecord, TenantId, event,
};
use trolley_core::ports::PluginRepository;
use uuid::Uuid;

use crate::audit;

use crate::convert::{from_json, from_millis, to_json, to_millis};
use crate::entity::{order_type_activations as activations, plugin_modules, plugins};
use crate::error::{corrupt, db_err};
use crate::outbox;
use crate::write_turns::begin_write;

const ACTIVE: &str = "active";
const SUPERSEDED: &str = "superseded";
const ROLLED_BACK: &str = "rolled_back";

/// How many times `activate` runs its transaction when it loses the race for the one
/// active slot of an order type (a unique violation). With the per-order-type lock this
/// does not happen; the retry is the safety net.
const ACTIVATE_ATTEMPTS: usize = 3;

#[derive(Debug, Clone)]
pub struct SqlPluginRepository {
    db: DatabaseConnection,
}

impl SqlPluginRepository {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    async fn find_by_sha<C: ConnectionTrait>(
        db: &C,
        tenant: TenantId,
        sha256: &str,
    ) -> Result<Option<plugins::Model>, StoreError> {
        plugins::Entity::find()
            .filter(plugins::Column::TenantId.eq(tenant.0))
            .filter(plugins::Column::Sha256.eq(sha256))
            .one(db)
            .await
            .map_err(db_err)
    }

    /// One attempt at [`PluginRepository::activate`], in one write transaction.
    async fn try_activate(
        &self,
        tenant: TenantId,
        order_type: &str,
        plugin: PluginId,
        config: &serde_json::Value,
        now: i64,
        actor: &Actor,
    ) -> Result<Activation, StoreError> {
        let config_text = to_json(config, "activation config")?;
        let txn = begin_write(&self.db).await?;
        lock_order_type(&txn, tenant, order_type).await?;

        let Some(plugin_row) = plugins::Entity::find_by_id(plugin.0)
            .filter(plugins::Column::TenantId.eq(tenant.0))
            .one(&txn)
            .await
            .map_err(db_err)?
        else {
            txn.rollback().await.map_err(db_err)?;
            return Err(StoreError::Internal(format!(
                "plugin not found: {plugin} (tenant {tenant})"
            )));
        };
        let record = match plugin_from_row(plugin_row) {
            Ok(record) => record,
            Err(e) => {
                txn.rollback().await.map_err(db_err)?;
                return Err(e);
            }
        };
        let latest: Option<Uuid> = activations::Entity::find()
            .select_only()
            .column(activations::Column::Id)
            .filter(activations::Column::TenantId.eq(tenant.0))
            .filter(activations::Column::OrderType.eq(order_type))
            .order_by_desc(activations::Column::Id)
            .into_tuple()
            .one(&txn)
            .await
            .map_err(db_err)?;
        // The audit entry's `before`: what served the order type until now.
        let previous = activations::Entity::find()
            .filter(activations::Column::TenantId.eq(tenant.0))
            .filter(activations::Column::ActiveOrderType.eq(order_type))
            .find_also_related(plugins::Entity)
            .one(&txn)
            .await
            .map_err(db_err)?
            .map(|(row, plugin)| activation_from_rows(row, plugin))
            .transpose()?;

        // Free the active slot first, then take it.
        activations::Entity::update_many()
            .col_expr(activations::Column::State, Expr::value(SUPERSEDED))
            .col_expr(
                activations::Column::ActiveOrderType,
                Expr::value(None::<String>),
            )
            .col_expr(activations::Column::RetiredAt, Expr::value(Some(now)))
            .filter(activations::Column::TenantId.eq(tenant.0))
            .filter(activations::Column::ActiveOrderType.eq(order_type))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        let row = activations::Model {
            id: next_activation_id(latest),
            tenant_id: tenant.0,
            order_type: order_type.to_owned(),
            plugin_id: plugin.0,
            config: config_text,
            state: ACTIVE.to_owned(),
            active_order_type: Some(order_type.to_owned()),
            activated_at: now,
            retired_at: None,
        };
        activations::Entity::insert(row.into_active_model())
            .exec_without_returning(&txn)
            .await
            .map_err(db_err)?;
        let activation = Activation {
            order_type: order_type.to_owned(),
            plugin: record,
            config: config.clone(),
            activated_at: from_millis(now, "order_type_activations.activated_at")?,
        };
        let entry = AuditEntry::new(
            tenant,
            *actor,
            AuditAction::OrderTypeActivate,
            order_type,
            previous.as_ref().map(snapshot::activation),
            Some(snapshot::activation(&activation)),
            activation.activated_at,
        );
        audit::record(&txn, &[entry]).await?;
        let activated = event::plugin_switched(
            EventType::PluginActivated,
            order_type,
            &activation.plugin,
            previous.as_ref().map(|p| &p.plugin),
        );
        outbox::append(&txn, tenant, &[activated], activation.activated_at).await?;
        txn.commit().await.map_err(db_err)?;
        Ok(activation)
    }
}

/// Serializes activations and rollbacks of one tenant's order type. SQLite needs nothing:
/// a write transaction begins `IMMEDIATE`, holding the database's write lock. PostgreSQL
/// takes a transaction-scoped advisory lock, released at commit or rollback.
async fn lock_order_type<C: ConnectionTrait>(
    txn: &C,
    tenant: TenantId,
    order_type: &str,
) -> Result<(), StoreError> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1)",
        [lock_key(tenant, order_type).into()],
    ))
    .await
    .map_err(db_err)?;
    Ok(())
}

/// A stable 64-bit key for `(tenant, order type)` (FNV-1a). A collision only makes two
/// order types wait for each other.
fn lock_key(tenant: TenantId, order_type: &str) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let bytes = b"trolley:order_type_activations\0"
        .iter()
        .chain(tenant.0.as_bytes())
        .chain(order_type.as_bytes());
    let hash = bytes.fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME));
    i64::from_be_bytes(hash.to_be_bytes())
}

/// A UUID v7 for a new activation, greater than `latest` (the newest id of the order
/// type's history): ids order the history, and a node whose clock is behind must not
/// slip a new activation under an older one.
fn next_activation_id(latest: Option<Uuid>) -> Uuid {
    let id = Uuid::now_v7();
    let Some(latest) = latest.filter(|latest| id <= *latest) else {
        return id;
    };
    let Some(ts) = latest.get_timestamp() else {
        return id;
    };
    let (secs, nanos) = ts.to_unix();
    let next_ms = secs
        .saturating_mul(1000)
        .saturating_add(u64::from(nanos / 1_000_000))
        .saturating_add(1);
    let subsec_nanos = u32::try_from(next_ms % 1000).unwrap_or(0) * 1_000_000;
    Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        next_ms / 1000,
        subsec_nanos,
    ))
}

fn plugin_row(record: &PluginRecord) -> Result<plugins::Model, StoreError> {
    Ok(plugins::Model {
        id: record.id.0,
        tenant_id: record.tenant_id.0,
        sha256: record.sha256.clone(),
        order_type: record.info.order_type.clone(),
        name: record.info.name.clone(),
        version: record.info.version.clone(),
        config_schema: to_json(&record.info.config_schema, "plugin config schema")?,
        size_bytes: record.size_bytes,
        created_at: to_millis(record.created_at),
        contract_version: record.contract.as_ref().map(|c| c.version.clone()),
        exports: record
            .contract
            .as_ref()
            .map(|c| to_json(&c.exports, "plugin exports"))
            .transpose()?,
    })
}

fn plugin_from_row(row: plugins::Model) -> Result<PluginRecord, StoreError> {
    Ok(PluginRecord {
        id: PluginId(row.id),
        tenant_id: TenantId(row.tenant_id),
        sha256: row.sha256,
        info: PluginInfo {
            order_type: row.order_type,
            name: row.name,
            version: row.version,
            config_schema: from_json(&row.config_schema, "plugin config schema")?,
        },
        size_bytes: row.size_bytes,
        created_at: from_millis(row.created_at, "plugins.created_at")?,
        contract: match (row.contract_version, row.exports) {
            (Some(version), Some(exports)) => Some(PluginContract {
                version,
                exports: from_json(&exports, "plugins.exports")?,
            }),
            _ => None,
        },
    })
}

fn activation_from_rows(
    row: activations::Model,
    plugin: Option<plugins::Model>,
) -> Result<Activation, StoreError> {
    let plugin = plugin.ok_or_else(|| {
        corrupt(format!(
            "activation {} names plugin {}, which does not exist",
            row.id, row.plugin_id
        ))
    })?;
    if plugin.tenant_id != row.tenant_id {
        return Err(corrupt(format!(
            "activation {} of tenant {} names plugin {} of tenant {}",
            row.id, row.tenant_id, plugin.id, plugin.tenant_id
        )));
    }
    Ok(Activation {
        order_type: row.order_type,
        plugin: plugin_from_row(plugin)?,
        config: from_json(&row.config, "activation config")?,
        activated_at: from_millis(row.activated_at, "order_type_activations.activated_at")?,
    })
}

#[async_trait]
impl PluginRepository for SqlPluginRepository {
    async fn insert(
        &self,
        record: &PluginRecord,
        wasm: &[u8],
        actor: &Actor,
    ) -> Result<(PluginRecord, bool), StoreError> {
        let row = plugin_row(record)?;
        let module = plugin_modules::Model {
            sha256: record.sha256.clone(),
            wasm: wasm.to_vec(),
            size_bytes: i64::try_from(wasm.len())
                .map_err(|_| StoreError::Internal("module too large to store".into()))?,
            created_at: row.created_at,
        };

        let txn = begin_write(&self.db).await?;
        // Uploaded before by this tenant: nothing to write.
        if let Some(existing) = Self::find_by_sha(&txn, record.tenant_id, &record.sha256).await? {
            txn.rollback().await.map_err(db_err)?;
            return Ok((plugin_from_row(existing)?, false));
        }
        // The bytes, unless someone (any tenant) stored them already. The check spares
        // sending them again; ON CONFLICT covers an upload racing this one.
        let stored: Option<String> = plugin_modules::Entity::find_by_id(record.sha256.clone())
            .select_only()
            .column(plugin_modules::Column::Sha256)
            .into_tuple()
            .one(&txn)
            .await
            .map_err(db_err)?;
        if stored.is_none() {
            plugin_modules::Entity::insert(module.into_active_model())
                .on_conflict(
                    OnConflict::column(plugin_modules::Column::Sha256)
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await
                .map_err(db_err)?;
        }
        // A racing upload of the same bytes by the same tenant makes this a no-op (on
        // PostgreSQL it waits for the other transaction, then sees its row).
        let inserted = plugins::Entity::insert(row.clone().into_active_model())
            .on_conflict(
                OnConflict::columns([plugins::Column::TenantId, plugins::Column::Sha256])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .map_err(db_err)?;
        if inserted == 1 {
            let stored = plugin_from_row(row)?;
            let entry = AuditEntry::new(
                record.tenant_id,
                *actor,
                AuditAction::PluginUpload,
                stored.id.to_string(),
                None,
                Some(snapshot::plugin(&stored)),
                stored.created_at,
            );
            audit::record(&txn, &[entry]).await?;
            txn.commit().await.map_err(db_err)?;
            return Ok((stored, true));
        }
        let existing = Self::find_by_sha(&txn, record.tenant_id, &record.sha256).await?;
        txn.commit().await.map_err(db_err)?;
        let existing = existing.ok_or_else(|| {
            StoreError::Internal(format!(
                "plugin ({}, {}) conflicted but cannot be read",
                record.tenant_id, record.sha256
            ))
        })?;
        Ok((plugin_from_row(existing)?, false))
    }

    async fn list(&self, tenant: TenantId) -> Result<Vec<PluginRecord>, StoreError> {
        plugins::Entity::find()
            .filter(plugins::Column::TenantId.eq(tenant.0))
            .order_by_asc(plugins::Column::CreatedAt)
            .order_by_asc(plugins::Column::Id)
            .all(&self.db)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(plugin_from_row)
            .collect()
    }

    async fn get(
        &self,
        tenant: TenantId,
        id: PluginId,
    ) -> Result<Option<PluginRecord>, StoreError> {
        plugins::Entity::find_by_id(id.0)
            .filter(plugins::Column::TenantId.eq(tenant.0))
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(plugin_from_row)
            .transpose()
    }

    async fn wasm(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        plugin_modules::Entity::find_by_id(sha256.to_owned())
            .select_only()
            .column(plugin_modules::Column::Wasm)
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(db_err)
    }

    async fn activate(
        &self,
        tenant: TenantId,
        order_type: &str,
        plugin: PluginId,
        config: &serde_json::Value,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Activation, StoreError> {
        let now = to_millis(now);
        let mut attempt = 1;
        loop {
            match self
                .try_activate(tenant, order_type, plugin, config, now, actor)
                .await
            {
                Err(StoreError::UniqueViolation(msg)) if attempt < ACTIVATE_ATTEMPTS => {
                    tracing::debug!(%tenant, order_type, attempt, %msg, "activation raced another; retrying");
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The reinstated activation's `activated_at` becomes `now` (it serves again from
    /// then on); when it was first created stays readable from its UUID v7 id.
    async fn rollback(
        &self,
        tenant: TenantId,
        order_type: &str,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Option<Activation>, StoreError> {
        let at = now;
        let now = to_millis(now);
        let txn = begin_write(&self.db).await?;
        lock_order_type(&txn, tenant, order_type).await?;

        let Some((current, current_plugin)) = activations::Entity::find()
            .filter(activations::Column::TenantId.eq(tenant.0))
            .filter(activations::Column::ActiveOrderType.eq(order_type))
            .find_also_related(plugins::Entity)
            .one(&txn)
            .await
            .map_err(db_err)?
        else {
            txn.rollback().await.map_err(db_err)?;
            return Ok(None);
        };
        let Some((previous, plugin)) = activations::Entity::find()
            .filter(activations::Column::TenantId.eq(tenant.0))
            .filter(activations::Column::OrderType.eq(order_type))
            .filter(activations::Column::State.eq(SUPERSEDED))
            .filter(activations::Column::Id.lt(current.id))
            .order_by_desc(activations::Column::Id)
            .find_also_related(plugins::Entity)
            .one(&txn)
            .await
            .map_err(db_err)?
        else {
            txn.rollback().await.map_err(db_err)?;
            return Ok(None);
        };

        let reinstated = activations::Model {
            state: ACTIVE.to_owned(),
            active_order_type: Some(order_type.to_owned()),
            retired_at: None,
            activated_at: now,
            ..previous
        };
        let id = reinstated.id;
        let current_id = current.id;
        let (retired, activation) = match activation_from_rows(current, current_plugin)
            .and_then(|retired| Ok((retired, activation_from_rows(reinstated, plugin)?)))
        {
            Ok(both) => both,
            Err(e) => {
                txn.rollback().await.map_err(db_err)?;
                return Err(e);
            }
        };

        // Retire the current activation first, so the unique index never sees two active
        // rows.
        activations::Entity::update_many()
            .col_expr(activations::Column::State, Expr::value(ROLLED_BACK))
            .col_expr(
                activations::Column::ActiveOrderType,
                Expr::value(None::<String>),
            )
            .col_expr(activations::Column::RetiredAt, Expr::value(Some(now)))
            .filter(activations::Column::Id.eq(current_id))
            .filter(activations::Column::TenantId.eq(tenant.0))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        activations::Entity::update_many()
            .col_expr(activations::Column::State, Expr::value(ACTIVE))
            .col_expr(
                activations::Column::ActiveOrderType,
                Expr::value(Some(order_type.to_owned())),
            )
            .col_expr(activations::Column::RetiredAt, Expr::value(None::<i64>))
            .col_expr(activations::Column::ActivatedAt, Expr::value(now))
            .filter(activations::Column::Id.eq(id))
            .filter(activations::Column::TenantId.eq(tenant.0))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        let entry = AuditEntry::new(
            tenant,
            *actor,
            AuditAction::OrderTypeRollback,
            order_type,
            Some(snapshot::activation(&retired)),
            Some(snapshot::activation(&activation)),
            at,
        );
        audit::record(&txn, &[entry]).await?;
        let rolled_back = event::plugin_switched(
            EventType::PluginRolledBack,
            order_type,
            &activation.plugin,
            Some(&retired.plugin),
        );
        outbox::append(&txn, tenant, &[rolled_back], at).await?;
        txn.commit().await.map_err(db_err)?;
        Ok(Some(activation))
    }

    async fn find_version(
        &self,
        tenant: TenantId,
        name: &str,
        version: &str,
    ) -> Result<Option<PluginRecord>, StoreError> {
        plugins::Entity::find()
            .filter(plugins::Column::TenantId.eq(tenant.0))
            .filter(plugins::Column::Name.eq(name))
            .filter(plugins::Column::Version.eq(version))
            .order_by_asc(plugins::Column::CreatedAt)
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(plugin_from_row)
            .transpose()
    }

    async fn active(
        &self,
        tenant: TenantId,
        order_type: &str,
    ) -> Result<Option<Activation>, StoreError> {
        activations::Entity::find()
            .filter(activations::Column::TenantId.eq(tenant.0))
            .filter(activations::Column::ActiveOrderType.eq(order_type))
            .find_also_related(plugins::Entity)
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(|(row, plugin)| activation_from_rows(row, plugin))
            .transpose()
    }

    async fn active_all(&self, tenant: TenantId) -> Result<Vec<Activation>, StoreError> {
        let mut all = activations::Entity::find()
            .filter(activations::Column::TenantId.eq(tenant.0))
            .filter(activations::Column::ActiveOrderType.is_not_null())
            .order_by_asc(activations::Column::ActiveOrderType)
            .find_also_related(plugins::Entity)
            .all(&self.db)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|(row, plugin)| activation_from_rows(row, plugin))
            .collect::<Result<Vec<_>, _>>()?;
        // Byte order whatever the database collation says about `-` and `_`.
        all.sort_by(|a, b| a.order_type.cmp(&b.order_type));
        Ok(all)
    }
}
