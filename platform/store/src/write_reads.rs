//! What a write reads before it decides ([`CartRepository::load_with_rows`]): the cart, its
//! lines, the catalog items and stock levels of every sku involved (the lines' skus and
//! the ones the write may add), and the stock the cart holds, from one snapshot.
//!
//! Why: read one by one (cart, then catalog, then stock) they were three round trips before
//! the save even began (issue 14: a write is at most three round trips), and three
//! snapshots, so a cart could be priced with rows read before or after it. On PostgreSQL
//! the whole read is ONE statement; its CTEs share the statement's snapshot. On SQLite
//! (in-process, no network) it stays four queries, in one read transaction so they share a
//! snapshot too.
//!
//! Every table is filtered by the tenant: a cart id of another tenant finds nothing, and
//! another tenant's catalog or stock rows of the same skus never come back.
//!
//! [`CartRepository::load_with_rows`]: trolley_core::ports::CartRepository::load_with_rows

use std::collections::BTreeSet;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, Statement, TransactionTrait,
};
use serde::Deserialize;
use trolley_core::StoreError;
use trolley_core::domain::{CartId, Sku, TenantId};
use trolley_core::ports::{CartWithRows, LineHold};

use crate::carts::from_rows;
use crate::catalog::from_row as item_from_row;
use crate::entity::{cart_lines, carts, catalog_items, inventory, stock_holds};
use crate::error::{corrupt, db_err};
use crate::inventory::{checkout_hold_from_row, hold_from_row, level_from_row};
use crate::stock::{CHECKOUT, LINE};

/// The read as one PostgreSQL statement, answering one JSON document shaped like
/// [`StoredRows`] (`row_to_json` names each field after its column, as the entities do).
/// `$1` the cart id, `$2` the tenant, `$3` a JSON array of the extra skus. `lines` is read
/// once (a CTE) for both the answer and the sku set, so the two cannot disagree. The skus
/// are gathered into one array first so catalog and stock are always read by primary key
/// (`sku = ANY (…)` is an index condition), whatever the planner guesses of the set's size.
const POSTGRES_READ: &str = r#"
WITH cart AS (
    SELECT * FROM carts WHERE id = $1 AND tenant_id = $2
), lines AS (
    SELECT * FROM cart_lines WHERE cart_id = $1 AND tenant_id = $2
), wanted AS (
    SELECT array_agg(sku) AS skus FROM (
        SELECT sku FROM lines
        UNION
        SELECT jsonb_array_elements_text($3::jsonb)
    ) involved
)
SELECT json_build_object(
    'cart', (SELECT row_to_json(c) FROM cart c),
    'lines', (SELECT coalesce(json_agg(l ORDER BY l.position), '[]') FROM lines l),
    'items', (SELECT coalesce(json_agg(i ORDER BY i.sku), '[]') FROM catalog_items i
              WHERE i.tenant_id = $2 AND i.sku = ANY ((SELECT skus FROM wanted)::text[])),
    'levels', (SELECT coalesce(json_agg(s ORDER BY s.sku), '[]') FROM inventory s
               WHERE s.tenant_id = $2 AND s.sku = ANY ((SELECT skus FROM wanted)::text[])),
    'holds', (SELECT coalesce(json_agg(h ORDER BY h.sku, h.id), '[]') FROM stock_holds h
              WHERE h.tenant_id = $2 AND h.cart_id = $1)
)::text AS stored
"#;

/// The rows read, as stored, before they become domain values (through the same
/// conversions every other read uses).
#[derive(Debug, Deserialize)]
struct StoredRows {
    cart: Option<carts::Model>,
    lines: Vec<cart_lines::Model>,
    items: Vec<catalog_items::Model>,
    levels: Vec<inventory::Model>,
    holds: Vec<stock_holds::Model>,
}

/// The cart `id` of `tenant` with its lines, and the catalog items and stock levels of its
/// lines' skus and of `also`; `None` when the tenant has no such cart.
pub(crate) async fn load_with_rows(
    db: &DatabaseConnection,
    tenant: TenantId,
    id: CartId,
    also: &[Sku],
) -> Result<Option<CartWithRows>, StoreError> {
    let stored = match db.get_database_backend() {
        DbBackend::Postgres => read_postgres(db, tenant, id, also).await?,
        _ => read_in_snapshot(db, tenant, id, also).await?,
    };
    let Some(cart) = stored.cart else {
        return Ok(None);
    };
    let (line_holds, checkout_holds) = split_holds(stored.holds)?;
    Ok(Some(CartWithRows {
        cart: from_rows(cart, stored.lines)?,
        items: stored
            .items
            .into_iter()
            .map(item_from_row)
            .collect::<Result<_, _>>()?,
        levels: stored
            .levels
            .into_iter()
            .map(level_from_row)
            .collect::<Result<_, _>>()?,
        line_holds,
        checkout_holds,
    }))
}

/// A cart's line holds, and its checkout's units per sku.
type SplitHolds = (Vec<LineHold>, Vec<(Sku, u32)>);

/// The cart's holds as its `reserve` lines' holds and, per sku, its pending checkout's.
fn split_holds(holds: Vec<stock_holds::Model>) -> Result<SplitHolds, StoreError> {
    let mut line_holds = Vec::new();
    let mut checkout_holds = Vec::new();
    for row in holds {
        match row.kind.as_str() {
            LINE => line_holds.push(hold_from_row(row)?),
            CHECKOUT => checkout_holds.push(checkout_hold_from_row(&row)?),
            other => return Err(corrupt(format!("stock_holds.kind `{other}`"))),
        }
    }
    Ok((line_holds, checkout_holds))
}

/// One statement, one round trip: [`POSTGRES_READ`].
async fn read_postgres(
    db: &DatabaseConnection,
    tenant: TenantId,
    id: CartId,
    also: &[Sku],
) -> Result<StoredRows, StoreError> {
    let also = serde_json::Value::from_iter(also.iter().map(|sku| sku.as_str()));
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            POSTGRES_READ,
            [id.0.into(), tenant.0.into(), also.into()],
        ))
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::Internal("a write's read answered no row".into()))?;
    let stored: String = row.try_get("", "stored").map_err(db_err)?;
    serde_json::from_str(&stored).map_err(|e| corrupt(format!("a write's read: {e}")))
}

/// The cart with its lines (one LEFT JOIN, as `SqlCartRepository::load`), then its holds,
/// the catalog items and the stock levels, in one read transaction: one snapshot.
async fn read_in_snapshot(
    db: &DatabaseConnection,
    tenant: TenantId,
    id: CartId,
    also: &[Sku],
) -> Result<StoredRows, StoreError> {
    let txn = db.begin().await.map_err(db_err)?;
    let read = read_in(&txn, tenant, id, also).await;
    // Nothing was written: committing and rolling back end it alike.
    let ended = txn.commit().await.map_err(db_err);
    let read = read?;
    ended?;
    Ok(read)
}

async fn read_in<C: ConnectionTrait>(
    txn: &C,
    tenant: TenantId,
    id: CartId,
    also: &[Sku],
) -> Result<StoredRows, StoreError> {
    let joined = carts::Entity::find()
        .filter(carts::Column::Id.eq(id.0))
        .filter(carts::Column::TenantId.eq(tenant.0))
        .find_also_related(cart_lines::Entity)
        .order_by_asc(cart_lines::Column::Position)
        .all(txn)
        .await
        .map_err(db_err)?;
    let mut joined = joined.into_iter();
    let Some((cart, first)) = joined.next() else {
        return Ok(StoredRows {
            cart: None,
            lines: Vec::new(),
            items: Vec::new(),
            levels: Vec::new(),
            holds: Vec::new(),
        });
    };
    let lines: Vec<cart_lines::Model> = first
        .into_iter()
        .chain(joined.filter_map(|(_, line)| line))
        .collect();
    let skus: BTreeSet<&str> = lines
        .iter()
        .map(|l| l.sku.as_str())
        .chain(also.iter().map(Sku::as_str))
        .collect();
    let holds = stock_holds::Entity::find()
        .filter(stock_holds::Column::TenantId.eq(tenant.0))
        .filter(stock_holds::Column::CartId.eq(id.0))
        .order_by_asc(stock_holds::Column::Sku)
        .order_by_asc(stock_holds::Column::Id)
        .all(txn)
        .await
        .map_err(db_err)?;
    if skus.is_empty() {
        return Ok(StoredRows {
            cart: Some(cart),
            lines,
            items: Vec::new(),
            levels: Vec::new(),
            holds,
        });
    }
    let items = catalog_items::Entity::find()
        .filter(catalog_items::Column::TenantId.eq(tenant.0))
        .filter(catalog_items::Column::Sku.is_in(skus.iter().copied()))
        .order_by_asc(catalog_items::Column::Sku)
        .all(txn)
        .await
        .map_err(db_err)?;
    let levels = inventory::Entity::find()
        .filter(inventory::Column::TenantId.eq(tenant.0))
        .filter(inventory::Column::Sku.is_in(skus.iter().copied()))
        .order_by_asc(inventory::Column::Sku)
        .all(txn)
        .await
        .map_err(db_err)?;
    Ok(StoredRows {
        cart: Some(cart),
        lines,
        items,
        levels,
        holds,
    })
}
