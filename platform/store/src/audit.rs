//! The `audit_log` table: entries are inserted by the repositories, on the connection (or
//! inside the transaction) of the change they record, and read back a page at a time.

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
};
use trolley_core::StoreError;
use trolley_core::domain::{Actor, AuditEntry, TenantId};
use uuid::Uuid;

use crate::convert::{from_json, from_millis, to_json, to_millis};
use crate::entity::audit_log::{self, Column};
use crate::error::{corrupt, db_err};

fn to_row(entry: &AuditEntry) -> Result<audit_log::Model, StoreError> {
    let json = |value: &Option<serde_json::Value>| {
        value
            .as_ref()
            .map(|v| to_json(v, "audit snapshot"))
            .transpose()
    };
    Ok(audit_log::Model {
        audit_id: entry.id,
        tenant_id: entry.tenant_id.0,
        actor: entry.actor.to_string(),
        action: entry.action.clone(),
        target: entry.target.clone(),
        before: json(&entry.before)?,
        after: json(&entry.after)?,
        at: to_millis(entry.at),
    })
}

fn from_row(row: audit_log::Model) -> Result<AuditEntry, StoreError> {
    let json = |text: Option<String>| {
        text.map(|t| from_json::<serde_json::Value>(&t, "audit snapshot"))
            .transpose()
    };
    Ok(AuditEntry {
        id: row.audit_id,
        tenant_id: TenantId(row.tenant_id),
        actor: Actor::parse(&row.actor).ok_or_else(|| {
            corrupt(format!(
                "audit entry {} has actor `{}`",
                row.audit_id, row.actor
            ))
        })?,
        action: row.action,
        target: row.target,
        before: json(row.before)?,
        after: json(row.after)?,
        at: from_millis(row.at, "audit_log.at")?,
    })
}

/// Inserts `entries` on `db`: pass the change's transaction so both commit or neither.
pub(crate) async fn record<C: ConnectionTrait>(
    db: &C,
    entries: &[AuditEntry],
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let rows = entries
        .iter()
        .map(|e| to_row(e).map(IntoActiveModel::into_active_model))
        .collect::<Result<Vec<_>, _>>()?;
    audit_log::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// One page of a tenant's entries, newest first, older than `before` when given.
pub(crate) async fn page<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<AuditEntry>, StoreError> {
    let mut query = audit_log::Entity::find().filter(Column::TenantId.eq(tenant.0));
    if let Some(before) = before {
        query = query.filter(Column::AuditId.lt(before));
    }
    query
        .order_by_desc(Column::AuditId)
        .limit(limit)
        .all(db)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(from_row)
        .collect()
}
