//! [`AdminListRepository`]: keyset pages of a tenant's catalog, stock, carts, checkouts,
//! orders and events. Every query is filtered by tenant first; the indexes of
//! `m20261204_000090_create_admin_list_indexes` serve the orders.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use trolley_core::StoreError;
use trolley_core::domain::listing::{
    CartFilter, CartHold, CartSummary, CatalogFilter, CheckoutFilter, CheckoutSummary,
    InventoryFilter, Keyset, OrderFilter, OrderSummary, OverviewCounts,
};
use trolley_core::domain::{
    CartId, CartStatus, CatalogItem, CheckoutId, CheckoutStatus, Event, LineId, Order, Sku,
    StockLevel, Subject, TenantId,
};
use trolley_core::ports::AdminListRepository;
use uuid::Uuid;

use crate::convert::{escape_like, from_json, from_millis, to_millis};
use crate::entity::{
    cart_lines, carts, catalog_items, checkouts, inventory, orders, outbox_events, stock_holds,
};
use crate::error::{corrupt, db_err};

#[derive(Debug, Clone)]
pub struct SqlAdminListRepository {
    db: DatabaseConnection,
}

impl SqlAdminListRepository {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

/// `LOWER(column) LIKE pattern`: lower-cased on both sides, since PostgreSQL's LIKE is
/// case-sensitive and SQLite's is not.
fn like_lower(column: impl sea_orm::sea_query::IntoColumnRef, pattern: String) -> SimpleExpr {
    Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(pattern).escape('\\'))
}

fn prefix(text: &str) -> String {
    format!("{}%", escape_like(&text.to_lowercase()))
}

fn contains(text: &str) -> String {
    format!("%{}%", escape_like(&text.to_lowercase()))
}

fn cart_summary(row: carts::Model, lines: &HashMap<Uuid, i64>) -> Result<CartSummary, StoreError> {
    let status = CartStatus::parse(&row.status)
        .ok_or_else(|| corrupt(format!("cart {} has status `{}`", row.id, row.status)))?;
    Ok(CartSummary {
        cart_id: CartId(row.id),
        status,
        order_type: row.order_type,
        customer_id: row.customer_id,
        line_count: lines
            .get(&row.id)
            .map_or(0, |n| u64::try_from(*n).unwrap_or(0)),
        version: row.version,
        currency: row.currency,
        merged_into: row.merged_into.map(CartId),
        created_at: from_millis(row.created_at, "carts.created_at")?,
        updated_at: from_millis(row.updated_at, "carts.updated_at")?,
        expires_at: from_millis(row.expires_at, "carts.expires_at")?,
    })
}

fn checkout_summary(row: checkouts::Model) -> Result<CheckoutSummary, StoreError> {
    let created_at = from_millis(row.created_at, "checkouts.created_at")?;
    let checkout = crate::checkouts::checkout_from_row(row)?;
    let snapshot = checkout.snapshot;
    Ok(CheckoutSummary {
        checkout_id: snapshot.checkout_id,
        cart_id: snapshot.cart_id,
        status: checkout.status,
        total: snapshot.total,
        currency: snapshot.currency,
        order_id: checkout.order_id,
        created_at,
        expires_at: snapshot.expires_at,
    })
}

fn order_summary(row: &orders::Model) -> Result<OrderSummary, StoreError> {
    let order: Order = from_json(&row.body, "order body")?;
    Ok(OrderSummary {
        order_id: order.order_id,
        checkout_id: order.checkout_id,
        cart_id: order.cart_id,
        customer_id: order.customer_id,
        status: order.status,
        total: order.total,
        currency: order.currency,
        placed_at: order.created_at,
    })
}

fn hold_of(row: stock_holds::Model) -> Result<CartHold, StoreError> {
    Ok(CartHold {
        sku: Sku::parse(&row.sku).map_err(|e| corrupt(format!("hold {} sku: {e}", row.id)))?,
        quantity: row.quantity,
        kind: row.kind,
        line_id: row.line_id.map(LineId),
        checkout_id: row.checkout_id.map(CheckoutId),
        expires_at: from_millis(row.expires_at, "stock_holds.expires_at")?,
    })
}

#[async_trait]
impl AdminListRepository for SqlAdminListRepository {
    #[tracing::instrument(name = "db.admin_lists.catalog_items", level = "debug", skip_all, fields(tenant_id = %tenant))]
    async fn catalog_items(
        &self,
        tenant: TenantId,
        filter: &CatalogFilter,
        page: Keyset<Sku>,
    ) -> Result<Vec<CatalogItem>, StoreError> {
        use catalog_items::Column;
        let mut find = catalog_items::Entity::find().filter(Column::TenantId.eq(tenant.0));
        if let Some(q) = &filter.q {
            find = find.filter(
                Condition::any()
                    .add(like_lower(Column::Sku, prefix(q)))
                    .add(like_lower(Column::Title, contains(q))),
            );
        }
        if let Some(category) = &filter.category {
            find = find.filter(Column::Category.eq(category.as_str()));
        }
        if let Some(seller) = &filter.seller {
            find = find.filter(Column::Seller.eq(seller.as_str()));
        }
        if let Some(after) = &page.after {
            find = find.filter(Column::Sku.gt(after.as_str()));
        }
        find.order_by_asc(Column::Sku)
            .limit(page.take)
            .all(&self.db)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(crate::catalog::from_row)
            .collect()
    }

    #[tracing::instrument(name = "db.admin_lists.inventory", level = "debug", skip_all, fields(tenant_id = %tenant))]
    async fn inventory(
        &self,
        tenant: TenantId,
        filter: &InventoryFilter,
        page: Keyset<Sku>,
    ) -> Result<Vec<StockLevel>, StoreError> {
        use inventory::Column;
        let mut find = inventory::Entity::find().filter(Column::TenantId.eq(tenant.0));
        if let Some(q) = &filter.q {
            find = find.filter(like_lower(Column::Sku, prefix(q)));
        }
        if let Some(below) = filter.available_below {
            find = find.filter(
                Expr::col(Column::OnHand)
                    .sub(Expr::col(Column::Reserved))
                    .lt(below),
            );
        }
        if let Some(after) = &page.after {
            find = find.filter(Column::Sku.gt(after.as_str()));
        }
        find.order_by_asc(Column::Sku)
            .limit(page.take)
            .all(&self.db)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(crate::inventory::level_from_row)
            .collect()
    }

    #[tracing::instrument(name = "db.admin_lists.carts", level = "debug", skip_all, fields(tenant_id = %tenant))]
    async fn carts(
        &self,
        tenant: TenantId,
        filter: &CartFilter,
        page: Keyset<Uuid>,
    ) -> Result<Vec<CartSummary>, StoreError> {
        use carts::Column;
        let mut find = carts::Entity::find().filter(Column::TenantId.eq(tenant.0));
        if let Some(status) = filter.status {
            find = find.filter(Column::Status.eq(status.as_str()));
        }
        if let Some(customer) = &filter.customer_id {
            find = find.filter(Column::CustomerId.eq(customer.as_str()));
        }
        if let Some(order_type) = &filter.order_type {
            find = find.filter(Column::OrderType.eq(order_type.as_str()));
        }
        if let Some(after) = page.after {
            find = find.filter(Column::Id.lt(after));
        }
        let rows = find
            .order_by_desc(Column::Id)
            .limit(page.take)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        // The page's line counts in one grouped query.
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let lines: HashMap<Uuid, i64> = if ids.is_empty() {
            HashMap::new()
        } else {
            cart_lines::Entity::find()
                .select_only()
                .column(cart_lines::Column::CartId)
                .column_as(cart_lines::Column::Id.count(), "lines")
                .filter(cart_lines::Column::TenantId.eq(tenant.0))
                .filter(cart_lines::Column::CartId.is_in(ids))
                .group_by(cart_lines::Column::CartId)
                .into_tuple::<(Uuid, i64)>()
                .all(&self.db)
                .await
                .map_err(db_err)?
                .into_iter()
                .collect()
        };
        rows.into_iter()
            .map(|row| cart_summary(row, &lines))
            .collect()
    }

    #[tracing::instrument(name = "db.admin_lists.checkouts", level = "debug", skip_all, fields(tenant_id = %tenant))]
    async fn checkouts(
        &self,
        tenant: TenantId,
        filter: &CheckoutFilter,
        page: Keyset<Uuid>,
    ) -> Result<Vec<CheckoutSummary>, StoreError> {
        use checkouts::Column;
        let mut find = checkouts::Entity::find().filter(Column::TenantId.eq(tenant.0));
        if let Some(status) = filter.status {
            find = find.filter(Column::Status.eq(status.as_str()));
        }
        if let Some(cart) = filter.cart_id {
            find = find.filter(Column::CartId.eq(cart.0));
        }
        if let Some(after) = page.after {
            find = find.filter(Column::Id.lt(after));
        }
        find.order_by_desc(Column::Id)
            .limit(page.take)
            .all(&self.db)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(checkout_summary)
            .collect()
    }

    #[tracing::instrument(name = "db.admin_lists.orders", level = "debug", skip_all, fields(tenant_id = %tenant))]
    async fn orders(
        &self,
        tenant: TenantId,
        filter: &OrderFilter,
        page: Keyset<Uuid>,
    ) -> Result<Vec<OrderSummary>, StoreError> {
        use orders::Column;
        let mut find = orders::Entity::find().filter(Column::TenantId.eq(tenant.0));
        if let Some(customer) = &filter.customer_id {
            find = find.filter(Column::CustomerId.eq(customer.as_str()));
        }
        if let Some(since) = filter.placed_since {
            find = find.filter(Column::CreatedAt.gte(to_millis(since)));
        }
        if let Some(after) = page.after {
            find = find.filter(Column::Id.lt(after));
        }
        find.order_by_desc(Column::Id)
            .limit(page.take)
            .all(&self.db)
            .await
            .map_err(db_err)?
            .iter()
            .map(order_summary)
            .collect()
    }

    #[tracing::instrument(name = "db.admin_lists.events", level = "debug", skip_all, fields(tenant_id = %tenant))]
    async fn events(
        &self,
        tenant: TenantId,
        subject: &Subject,
        page: Keyset<i64>,
    ) -> Result<Vec<Event>, StoreError> {
        use outbox_events::Column;
        let mut find = outbox_events::Entity::find()
            .filter(Column::TenantId.eq(tenant.0))
            .filter(Column::Subject.eq(crate::outbox::subject_key(subject)));
        if let Some(after) = page.after {
            find = find.filter(Column::Sequence.gt(after));
        }
        find.order_by_asc(Column::Sequence)
            .limit(page.take)
            .all(&self.db)
            .await
            .map_err(db_err)?
            .iter()
            .map(crate::outbox::event_of)
            .collect()
    }

    #[tracing::instrument(name = "db.admin_lists.cart_holds", level = "debug", skip_all, fields(tenant_id = %tenant, cart_id = %cart))]
    async fn cart_holds(
        &self,
        tenant: TenantId,
        cart: CartId,
    ) -> Result<Vec<CartHold>, StoreError> {
        stock_holds::Entity::find()
            .filter(stock_holds::Column::TenantId.eq(tenant.0))
            .filter(stock_holds::Column::CartId.eq(cart.0))
            .order_by_asc(stock_holds::Column::Sku)
            .order_by_asc(stock_holds::Column::Id)
            .all(&self.db)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(hold_of)
            .collect()
    }

    #[tracing::instrument(name = "db.admin_lists.overview_counts", level = "debug", skip_all, fields(tenant_id = %tenant))]
    async fn overview_counts(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<OverviewCounts, StoreError> {
        let active_carts = carts::Entity::find()
            .filter(carts::Column::TenantId.eq(tenant.0))
            .filter(carts::Column::Status.is_in([
                CartStatus::Active.as_str(),
                CartStatus::CheckingOut.as_str(),
            ]))
            .count(&self.db)
            .await
            .map_err(db_err)?;
        let open_checkouts = checkouts::Entity::find()
            .filter(checkouts::Column::TenantId.eq(tenant.0))
            .filter(checkouts::Column::Status.eq(CheckoutStatus::Pending.as_str()))
            .count(&self.db)
            .await
            .map_err(db_err)?;
        let orders_since = orders::Entity::find()
            .filter(orders::Column::TenantId.eq(tenant.0))
            .filter(orders::Column::CreatedAt.gte(to_millis(since)))
            .count(&self.db)
            .await
            .map_err(db_err)?;
        Ok(OverviewCounts {
            active_carts,
            open_checkouts,
            orders_since,
        })
    }
}
