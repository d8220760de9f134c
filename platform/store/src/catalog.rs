//! [`CatalogRepository`] on the `catalog_items` table.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func, LikeExpr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};
use trolley_core::StoreError;
use trolley_core::domain::audit::snapshot;
use trolley_core::domain::{
    Actor, Attributes, AuditAction, AuditEntry, CatalogItem, CatalogItemInput, CatalogQuery,
    ClaimPolicy, Currency, Price, Sku, TenantId,
};
use trolley_core::ports::CatalogRepository;

use crate::audit;

use crate::convert::{from_json, from_millis, to_json, to_millis};
use crate::entity::catalog_items::{self, Column};
use crate::error::{corrupt, db_err};
use crate::write_turns::begin_write;

/// The revision bump, evaluated against the row as it was before the update (SQL semantics
/// on both backends), so concurrent upserts of the same sku serialize on the row lock and
/// each real price change counts exactly once.
const NEXT_PRICE_REVISION: &str = r#"CASE WHEN "catalog_items"."price_minor" <> "excluded"."price_minor" OR "catalog_items"."currency" <> "excluded"."currency" THEN "catalog_items"."price_revision" + 1 ELSE "catalog_items"."price_revision" END"#;

#[derive(Debug, Clone)]
pub struct SqlCatalogRepository {
    db: DatabaseConnection,
}

impl SqlCatalogRepository {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    async fn find_many<C: ConnectionTrait>(
        db: &C,
        tenant: TenantId,
        skus: Vec<String>,
    ) -> Result<Vec<catalog_items::Model>, StoreError> {
        catalog_items::Entity::find()
            .filter(Column::TenantId.eq(tenant.0))
            .filter(Column::Sku.is_in(skus))
            .all(db)
            .await
            .map_err(db_err)
    }
}

fn to_row(
    tenant: TenantId,
    item: &CatalogItemInput,
    now: DateTime<Utc>,
) -> Result<catalog_items::Model, StoreError> {
    let now = to_millis(now);
    Ok(catalog_items::Model {
        tenant_id: tenant.0,
        sku: item.sku.as_str().to_owned(),
        price_minor: item.price.minor_units(),
        currency: item.price.currency().code().to_owned(),
        price_revision: 1,
        category: item.category.clone(),
        seller: item.seller.clone(),
        attributes: to_json(&item.attributes, "catalog item attributes")?,
        claim_policy: item.claim_policy.map(|p| p.as_str().to_owned()),
        title: item.title.clone(),
        created_at: now,
        updated_at: now,
    })
}

pub(crate) fn from_row(row: catalog_items::Model) -> Result<CatalogItem, StoreError> {
    let sku =
        Sku::parse(&row.sku).map_err(|e| corrupt(format!("catalog sku `{}`: {e}", row.sku)))?;
    let currency: Currency = row.currency.parse().map_err(|_| {
        corrupt(format!(
            "catalog item `{}` has currency `{}`",
            row.sku, row.currency
        ))
    })?;
    let claim_policy = match row.claim_policy.as_deref() {
        None => None,
        Some(p) => Some(ClaimPolicy::parse(p).ok_or_else(|| {
            corrupt(format!("catalog item `{}` has claim policy `{p}`", row.sku))
        })?),
    };
    let attributes: Attributes = from_json(&row.attributes, "catalog item attributes")?;
    Ok(CatalogItem {
        sku,
        price: Price::from_minor_units(row.price_minor, currency),
        price_revision: row.price_revision,
        category: row.category,
        seller: row.seller,
        attributes,
        claim_policy,
        title: row.title,
        updated_at: from_millis(row.updated_at, "catalog_items.updated_at")?,
    })
}

#[async_trait]
impl CatalogRepository for SqlCatalogRepository {
    async fn upsert(
        &self,
        tenant: TenantId,
        items: &[CatalogItemInput],
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Vec<CatalogItem>, StoreError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let rows = items
            .iter()
            .map(|item| to_row(tenant, item, now))
            .collect::<Result<Vec<_>, _>>()?;
        let skus: Vec<String> = rows.iter().map(|r| r.sku.clone()).collect();

        let txn = begin_write(&self.db).await?;
        // What the audit entries show as `before`. Read inside the write transaction (one
        // writer on SQLite); on PostgreSQL a concurrent upsert of the same sku can commit
        // between this read and the write, and the entry then shows the older `before`.
        let previous = Self::find_many(&txn, tenant, skus.clone()).await?;
        for row in rows {
            let on_conflict = OnConflict::columns([Column::TenantId, Column::Sku])
                .update_columns([
                    Column::PriceMinor,
                    Column::Currency,
                    Column::Category,
                    Column::Seller,
                    Column::Attributes,
                    Column::ClaimPolicy,
                    Column::Title,
                    Column::UpdatedAt,
                ])
                .value(Column::PriceRevision, Expr::cust(NEXT_PRICE_REVISION))
                .to_owned();
            catalog_items::Entity::insert(row.into_active_model())
                .on_conflict(on_conflict)
                .exec_without_returning(&txn)
                .await
                .map_err(db_err)?;
        }
        let stored = Self::find_many(&txn, tenant, skus.clone()).await?;

        let mut before: HashMap<String, CatalogItem> = HashMap::with_capacity(previous.len());
        for row in previous {
            let item = from_row(row)?;
            before.insert(item.sku.as_str().to_owned(), item);
        }
        let mut by_sku: HashMap<String, CatalogItem> = HashMap::with_capacity(stored.len());
        for row in stored {
            let item = from_row(row)?;
            by_sku.insert(item.sku.as_str().to_owned(), item);
        }
        let written = skus
            .iter()
            .map(|sku| {
                by_sku.get(sku).cloned().ok_or_else(|| {
                    StoreError::Internal(format!("catalog item `{sku}` vanished after its upsert"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let entries: Vec<AuditEntry> = written
            .iter()
            .map(|item| {
                AuditEntry::new(
                    tenant,
                    *actor,
                    AuditAction::CatalogUpsert,
                    item.sku.as_str(),
                    before.get(item.sku.as_str()).map(snapshot::catalog_item),
                    Some(snapshot::catalog_item(item)),
                    now,
                )
            })
            .collect();
        audit::record(&txn, &entries).await?;
        txn.commit().await.map_err(db_err)?;
        Ok(written)
    }

    async fn get(&self, tenant: TenantId, sku: &Sku) -> Result<Option<CatalogItem>, StoreError> {
        catalog_items::Entity::find_by_id((tenant.0, sku.as_str().to_owned()))
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(from_row)
            .transpose()
    }

    async fn delete(
        &self,
        tenant: TenantId,
        sku: &Sku,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let txn = begin_write(&self.db).await?;
        let existing = Self::find_many(&txn, tenant, vec![sku.as_str().to_owned()]).await?;
        let res = catalog_items::Entity::delete_many()
            .filter(catalog_items::Column::TenantId.eq(tenant.0))
            .filter(catalog_items::Column::Sku.eq(sku.as_str()))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        if res.rows_affected == 0 {
            txn.rollback().await.map_err(db_err)?;
            return Ok(false);
        }
        let before = existing
            .into_iter()
            .next()
            .map(from_row)
            .transpose()?
            .map(|item| snapshot::catalog_item(&item));
        let entry = AuditEntry::new(
            tenant,
            *actor,
            AuditAction::CatalogDelete,
            sku.as_str(),
            before,
            None,
            now,
        );
        audit::record(&txn, &[entry]).await?;
        txn.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn get_many(
        &self,
        tenant: TenantId,
        skus: &[Sku],
    ) -> Result<Vec<CatalogItem>, StoreError> {
        if skus.is_empty() {
            return Ok(Vec::new());
        }
        let mut wanted: Vec<String> = skus.iter().map(|s| s.as_str().to_owned()).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let rows = Self::find_many(&self.db, tenant, wanted).await?;
        let mut by_sku: HashMap<String, CatalogItem> = HashMap::with_capacity(rows.len());
        for row in rows {
            let item = from_row(row)?;
            by_sku.insert(item.sku.as_str().to_owned(), item);
        }
        // In the order asked for, each sku once.
        Ok(skus
            .iter()
            .filter_map(|sku| by_sku.remove(sku.as_str()))
            .collect())
    }

    async fn list(
        &self,
        tenant: TenantId,
        query: &CatalogQuery,
        limit: u64,
    ) -> Result<Vec<CatalogItem>, StoreError> {
        let mut select = catalog_items::Entity::find().filter(Column::TenantId.eq(tenant.0));
        if let Some(category) = &query.category {
            select = select.filter(Column::Category.eq(category.as_str()));
        }
        if let Some(after) = &query.after {
            select = select.filter(Column::Sku.gt(after.as_str()));
        }
        if let Some(search) = &query.search {
            // Lower-cased on both sides: PostgreSQL's LIKE is case-sensitive, SQLite's not.
            let pattern = format!("%{}%", crate::convert::escape_like(&search.to_lowercase()));
            let matches = |column: Column| {
                Expr::expr(Func::lower(Expr::col(column)))
                    .like(LikeExpr::new(pattern.clone()).escape('\\'))
            };
            select = select.filter(
                Condition::any()
                    .add(matches(Column::Sku))
                    .add(matches(Column::Title)),
            );
        }
        select
            .order_by_asc(Column::Sku)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(from_row)
            .collect()
    }
}
