//! [`CartRepository`] on the `carts` and `cart_lines` tables.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use trolley_core::StoreError;
use trolley_core::domain::MergePolicy;
use trolley_core::domain::lifecycle::Renewal;
use trolley_core::domain::{
    Attributes, Cart, CartId, CartOwner, CartStatus, Currency, Line, LineId, LineKey, NewEvent,
    Price, Quantity, ReviewSide, Seal, Shortage, Sku, TenantId, WantedHold,
};
use trolley_core::ports::{CartRepository, MergeRecord};

use crate::convert::{from_json, from_millis, to_json, to_millis};
use crate::entity::{cart_lines, cart_merges, carts};
use crate::error::{corrupt, db_err};
use crate::idempotency::seal_opt;
use crate::one_statement::CartSave;
use crate::outbox;
use crate::write_turns::{begin_write, write_turn};

#[derive(Debug, Clone)]
pub struct SqlCartRepository {
    db: DatabaseConnection,
}

impl SqlCartRepository {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// The cart matching `condition` with its lines, in ONE statement (a LEFT JOIN), so
    /// the cart row and its lines come from the same snapshot: two statements could pair
    /// version N's row with version N+1's lines when a save lands between them.
    async fn find_one(&self, condition: Condition) -> Result<Option<Cart>, StoreError> {
        let rows = carts::Entity::find()
            .filter(condition)
            .find_also_related(cart_lines::Entity)
            .order_by_asc(cart_lines::Column::Position)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        let mut rows = rows.into_iter();
        let Some((cart, first)) = rows.next() else {
            return Ok(None);
        };
        let lines = first
            .into_iter()
            .chain(rows.filter_map(|(_, line)| line))
            .collect();
        from_rows(cart, lines).map(Some)
    }
}

/// The one customer whose "one live cart" slot this cart occupies, if any.
fn active_customer_id(cart: &Cart) -> Option<String> {
    if cart.status.is_live() {
        cart.owner.customer_id().map(str::to_owned)
    } else {
        None
    }
}

fn owner_columns(owner: &CartOwner) -> (Option<String>, Option<String>) {
    match owner {
        CartOwner::Customer(id) => (Some(id.clone()), None),
        CartOwner::Guest { token_hash } => (None, Some(token_hash.clone())),
    }
}

fn cart_row(cart: &Cart) -> Result<carts::Model, StoreError> {
    let (customer_id, cart_token_hash) = owner_columns(&cart.owner);
    Ok(carts::Model {
        id: cart.id.0,
        tenant_id: cart.tenant_id.0,
        customer_id,
        active_customer_id: active_customer_id(cart),
        cart_token_hash,
        status: cart.status.as_str().to_owned(),
        order_type: cart.order_type.clone(),
        currency: cart.currency.code().to_owned(),
        version: cart.version,
        context: to_json(&cart.context, "cart context")?,
        merged_into: cart.merged_into.map(|id| id.0),
        created_at: to_millis(cart.created_at),
        updated_at: to_millis(cart.updated_at),
        expires_at: to_millis(cart.expires_at),
    })
}

fn line_rows(cart: &Cart) -> Result<Vec<cart_lines::Model>, StoreError> {
    cart.lines
        .iter()
        .enumerate()
        .map(|(position, line)| {
            let position = i32::try_from(position)
                .map_err(|_| StoreError::Internal("too many lines to store".into()))?;
            Ok(cart_lines::Model {
                id: line.id.0,
                cart_id: cart.id.0,
                tenant_id: cart.tenant_id.0,
                line_key: line.storage_key(),
                sku: line.key.sku.as_str().to_owned(),
                attributes: to_json(&line.key.attributes, "line attributes")?,
                seller: line.key.seller.clone(),
                fulfillment: line.key.fulfillment.clone(),
                quantity: i64::from(line.quantity.get()),
                line_version: line.line_version,
                unit_price_minor: line.unit_price.minor_units(),
                price_revision: line.price_revision,
                category: line.category.clone(),
                title: line.title.clone(),
                review: line.review.map(|side| side.as_str().to_owned()),
                position,
                created_at: to_millis(line.created_at),
                updated_at: to_millis(line.updated_at),
            })
        })
        .collect()
}

/// Who owns the cart of `row`.
pub(crate) fn owner_from_row(row: &carts::Model) -> Result<CartOwner, StoreError> {
    match (&row.customer_id, &row.cart_token_hash) {
        (Some(customer), _) => Ok(CartOwner::Customer(customer.clone())),
        (None, Some(token_hash)) => Ok(CartOwner::Guest {
            token_hash: token_hash.clone(),
        }),
        (None, None) => Err(corrupt(format!(
            "cart {} has neither customer nor token",
            row.id
        ))),
    }
}

pub(crate) fn from_rows(
    row: carts::Model,
    lines: Vec<cart_lines::Model>,
) -> Result<Cart, StoreError> {
    let id = row.id;
    let status = CartStatus::parse(&row.status)
        .ok_or_else(|| corrupt(format!("cart {id} has status `{}`", row.status)))?;
    let currency: Currency = row
        .currency
        .parse()
        .map_err(|_| corrupt(format!("cart {id} has currency `{}`", row.currency)))?;
    let owner = owner_from_row(&row)?;
    let lines = lines
        .into_iter()
        .map(|l| line_from_row(l, currency))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Cart {
        id: CartId(id),
        tenant_id: TenantId(row.tenant_id),
        owner,
        status,
        order_type: row.order_type,
        currency,
        version: row.version,
        lines,
        context: from_json(&row.context, "cart context")?,
        merged_into: row.merged_into.map(CartId),
        created_at: from_millis(row.created_at, "carts.created_at")?,
        updated_at: from_millis(row.updated_at, "carts.updated_at")?,
        expires_at: from_millis(row.expires_at, "carts.expires_at")?,
    })
}

fn line_from_row(row: cart_lines::Model, currency: Currency) -> Result<Line, StoreError> {
    let id = row.id;
    let sku = Sku::parse(&row.sku).map_err(|e| corrupt(format!("line {id} sku: {e}")))?;
    let attributes: Attributes = from_json(&row.attributes, "line attributes")?;
    let key = LineKey::parse(sku, attributes, row.seller, row.fulfillment)
        .map_err(|e| corrupt(format!("line {id} key: {e}")))?;
    let quantity = u32::try_from(row.quantity)
        .map_err(|_| corrupt(format!("line {id} has quantity {}", row.quantity)))?;
    Ok(Line {
        id: LineId(id),
        key,
        quantity: Quantity::from_stored(quantity),
        line_version: row.line_version,
        unit_price: Price::from_minor_units(row.unit_price_minor, currency),
        price_revision: row.price_revision,
        category: row.category,
        title: row.title,
        review: match row.review.as_deref() {
            None => None,
            Some(side) => Some(
                ReviewSide::parse(side)
                    .ok_or_else(|| corrupt(format!("line {id} has review `{side}`")))?,
            ),
        },
        created_at: from_millis(row.created_at, "cart_lines.created_at")?,
        updated_at: from_millis(row.updated_at, "cart_lines.updated_at")?,
    })
}

#[async_trait]
impl CartRepository for SqlCartRepository {
    #[tracing::instrument(name = "db.carts.insert", level = "debug", skip_all, fields(tenant_id = %cart.tenant_id, cart_id = %cart.id))]
    async fn insert_emitting(
        &self,
        cart: &Cart,
        seal: Option<Seal<'_>>,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        let row = cart_row(cart)?;
        let lines = line_rows(cart)?;
        if lines.is_empty() && seal.is_none() && events.is_empty() {
            // One statement: no transaction needed.
            let _turn = write_turn(&self.db).await?;
            carts::Entity::insert(row.into_active_model())
                .exec_without_returning(&self.db)
                .await
                .map_err(db_err)?;
            return Ok(());
        }
        let txn = begin_write(&self.db).await?;
        let written = async {
            seal_opt(&txn, seal).await?;
            outbox::append(&txn, cart.tenant_id, events, cart.updated_at).await?;
            carts::Entity::insert(row.into_active_model())
                .exec_without_returning(&txn)
                .await
                .map_err(db_err)?;
            if !lines.is_empty() {
                cart_lines::Entity::insert_many(lines.into_iter().map(|l| l.into_active_model()))
                    .exec_without_returning(&txn)
                    .await
                    .map_err(db_err)?;
            }
            Ok::<(), StoreError>(())
        }
        .await;
        match written {
            Ok(()) => txn.commit().await.map_err(db_err),
            Err(e) => {
                txn.rollback().await.map_err(db_err)?;
                Err(e)
            }
        }
    }

    #[tracing::instrument(name = "db.carts.load", level = "debug", skip_all, fields(tenant_id = %tenant, cart_id = %id))]
    async fn load(&self, tenant: TenantId, id: CartId) -> Result<Option<Cart>, StoreError> {
        self.find_one(
            Condition::all()
                .add(carts::Column::Id.eq(id.0))
                .add(carts::Column::TenantId.eq(tenant.0)),
        )
        .await
    }

    #[tracing::instrument(name = "db.carts.recent_of_order_type", level = "debug", skip_all, fields(tenant_id = %tenant))]
    async fn recent_of_order_type(
        &self,
        tenant: TenantId,
        order_type: &str,
        limit: u32,
    ) -> Result<Vec<Cart>, StoreError> {
        let ids: Vec<uuid::Uuid> = carts::Entity::find()
            .select_only()
            .column(carts::Column::Id)
            .filter(carts::Column::TenantId.eq(tenant.0))
            .filter(carts::Column::OrderType.eq(order_type))
            .filter(carts::Column::Status.eq(CartStatus::Active.as_str()))
            .filter(
                carts::Column::Id.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(cart_lines::Column::CartId)
                        .from(cart_lines::Entity)
                        .to_owned(),
                ),
            )
            .order_by_desc(carts::Column::UpdatedAt)
            .limit(u64::from(limit))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(db_err)?;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(cart) = self.load(tenant, CartId(id)).await? {
                found.push(cart);
            }
        }
        Ok(found)
    }

    #[tracing::instrument(name = "db.carts.find_live_for_customer", level = "debug", skip_all, fields(tenant_id = %tenant))]
    async fn find_live_for_customer(
        &self,
        tenant: TenantId,
        customer_id: &str,
    ) -> Result<Option<Cart>, StoreError> {
        self.find_one(
            Condition::all()
                .add(carts::Column::TenantId.eq(tenant.0))
                .add(carts::Column::ActiveCustomerId.eq(customer_id)),
        )
        .await
    }

    #[tracing::instrument(name = "db.carts.save", level = "debug", skip_all, fields(tenant_id = %cart.tenant_id, cart_id = %cart.id, expected_version = stored.version))]
    async fn save_emitting(
        &self,
        cart: &Cart,
        stored: &Cart,
        seal: Option<Seal<'_>>,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        // PostgreSQL: one statement, one round trip (`one_statement.rs`), for every shape
        // but a change that both deletes and writes lines.
        if self.db.get_database_backend() == DbBackend::Postgres {
            let writes = LineWrites::between(line_rows(stored)?, line_rows(cart)?);
            let save = CartSave {
                cart: cart_row(cart)?,
                expected_version: stored.version,
                removed: &writes.removed,
                upserted: &writes.upserted,
                upsert_columns: &LineWrites::MUTABLE_COLUMNS,
                seal,
                events,
            };
            if save.fits() {
                return save.run(&self.db).await;
            }
        }
        let txn = begin_write(&self.db).await?;
        let written = async {
            seal_opt(&txn, seal).await?;
            save_in(&txn, cart, stored).await?;
            outbox::append(&txn, cart.tenant_id, events, cart.updated_at).await
        }
        .await;
        if let Err(e) = written {
            txn.rollback().await.map_err(db_err)?;
            return Err(e);
        }
        txn.commit().await.map_err(db_err)
    }

    #[tracing::instrument(name = "db.carts.save_holding", level = "debug", skip_all, fields(tenant_id = %cart.tenant_id, cart_id = %cart.id))]
    async fn save_holding(
        &self,
        cart: &Cart,
        stored: &Cart,
        seal: Option<Seal<'_>>,
        events: &[NewEvent],
        holds: &[WantedHold],
        hold_until: DateTime<Utc>,
    ) -> Result<Vec<Shortage>, StoreError> {
        crate::line_holds::save_holding(&self.db, cart, stored, seal, events, holds, hold_until)
            .await
    }

    #[tracing::instrument(name = "db.carts.save_merge", level = "debug", skip_all, fields(tenant_id = %target.tenant_id, cart_id = %target.id, source_cart_id = %source.id))]
    async fn save_merge_emitting(
        &self,
        target: &Cart,
        target_stored: &Cart,
        source: &Cart,
        source_stored: &Cart,
        record: &MergeRecord,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        let row = cart_merges::Model {
            source_cart_id: record.source_cart_id.0,
            tenant_id: record.tenant_id.0,
            target_cart_id: record.target_cart_id.0,
            policy: record.policy.as_str().to_owned(),
            outcomes: to_json(&record.outcomes, "merge outcomes")?,
            created_at: to_millis(record.created_at),
        };
        let txn = begin_write(&self.db).await?;
        let written = async {
            save_in(&txn, target, target_stored).await?;
            save_in(&txn, source, source_stored).await?;
            outbox::append(&txn, target.tenant_id, events, target.updated_at).await?;
            cart_merges::Entity::insert(row.into_active_model())
                .exec_without_returning(&txn)
                .await
                .map_err(db_err)?;
            Ok::<(), StoreError>(())
        }
        .await;
        match written {
            Ok(()) => txn.commit().await.map_err(db_err),
            Err(e) => {
                txn.rollback().await.map_err(db_err)?;
                // A concurrent merge of the same source got there first: its source version
                // moved, which is what a conflict means to the caller.
                Err(match e {
                    StoreError::UniqueViolation(_) => StoreError::VersionConflict,
                    other => other,
                })
            }
        }
    }

    #[tracing::instrument(name = "db.carts.merge_record", level = "debug", skip_all, fields(tenant_id = %tenant, source_cart_id = %source))]
    async fn merge_record(
        &self,
        tenant: TenantId,
        source: CartId,
    ) -> Result<Option<MergeRecord>, StoreError> {
        let row = cart_merges::Entity::find()
            .filter(cart_merges::Column::SourceCartId.eq(source.0))
            .filter(cart_merges::Column::TenantId.eq(tenant.0))
            .one(&self.db)
            .await
            .map_err(db_err)?;
        row.map(|r| {
            Ok(MergeRecord {
                tenant_id: TenantId(r.tenant_id),
                source_cart_id: CartId(r.source_cart_id),
                target_cart_id: CartId(r.target_cart_id),
                policy: MergePolicy::parse(&r.policy)
                    .ok_or_else(|| corrupt(format!("merge policy `{}`", r.policy)))?,
                outcomes: from_json(&r.outcomes, "merge outcomes")?,
                created_at: from_millis(r.created_at, "cart_merges.created_at")?,
            })
        })
        .transpose()
    }

    #[tracing::instrument(name = "db.carts.count_active", level = "debug", skip_all)]
    async fn count_active(&self) -> Result<u64, StoreError> {
        carts::Entity::find()
            .filter(carts::Column::Status.eq(CartStatus::Active.as_str()))
            .count(&self.db)
            .await
            .map_err(db_err)
    }

    /// One statement, no transaction: on SQLite it waits for the write lock like any
    /// write, on PostgreSQL it takes the row lock for an instant. A concurrent save simply
    /// wins or loses the row; neither can be corrupted by the other (this touches only
    /// `expires_at`, and only while it is still due).
    #[tracing::instrument(name = "db.carts.renew_expiry", level = "debug", skip_all, fields(tenant_id = %tenant, cart_id = %id))]
    async fn renew_expiry(
        &self,
        tenant: TenantId,
        id: CartId,
        renewal: &Renewal,
    ) -> Result<bool, StoreError> {
        let _turn = write_turn(&self.db).await?;
        let updated = carts::Entity::update_many()
            .col_expr(
                carts::Column::ExpiresAt,
                Expr::value(to_millis(renewal.until)),
            )
            .filter(carts::Column::Id.eq(id.0))
            .filter(carts::Column::TenantId.eq(tenant.0))
            .filter(carts::Column::Status.eq(CartStatus::Active.as_str()))
            .filter(carts::Column::ExpiresAt.lt(to_millis(renewal.due_before)))
            .filter(carts::Column::ExpiresAt.gt(to_millis(renewal.now)))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(updated.rows_affected == 1)
    }

    #[tracing::instrument(name = "db.carts.load_with_rows", level = "debug", skip_all, fields(tenant_id = %tenant, cart_id = %id))]
    async fn load_with_rows(
        &self,
        tenant: TenantId,
        id: CartId,
        also: &[Sku],
    ) -> Result<Option<trolley_core::ports::CartWithRows>, StoreError> {
        crate::write_reads::load_with_rows(&self.db, tenant, id, also).await
    }
}

/// The conditional write of one cart inside `txn`: the version-guarded UPDATE first (it
/// takes the row lock on PostgreSQL, the write lock on SQLite), then the lines that differ
/// from `stored`'s written. A moved version is [`StoreError::VersionConflict`]; the caller
/// rolls back.
pub(crate) async fn save_in(
    txn: &DatabaseTransaction,
    cart: &Cart,
    stored: &Cart,
) -> Result<(), StoreError> {
    let expected_version = stored.version;
    let row = cart_row(cart)?;
    let lines = line_rows(cart)?;
    // First statement: the conditional update. It takes the row lock (PostgreSQL) or
    // the write lock (SQLite) before anything else is read or written.
    let updated = carts::Entity::update_many()
        .col_expr(carts::Column::Version, Expr::value(row.version))
        .col_expr(carts::Column::Status, Expr::value(row.status))
        .col_expr(carts::Column::OrderType, Expr::value(row.order_type))
        .col_expr(carts::Column::Currency, Expr::value(row.currency))
        .col_expr(carts::Column::Context, Expr::value(row.context))
        .col_expr(carts::Column::MergedInto, Expr::value(row.merged_into))
        .col_expr(carts::Column::CustomerId, Expr::value(row.customer_id))
        .col_expr(
            carts::Column::ActiveCustomerId,
            Expr::value(row.active_customer_id),
        )
        .col_expr(
            carts::Column::CartTokenHash,
            Expr::value(row.cart_token_hash),
        )
        .col_expr(carts::Column::UpdatedAt, Expr::value(row.updated_at))
        .col_expr(carts::Column::ExpiresAt, Expr::value(row.expires_at))
        .filter(carts::Column::Id.eq(row.id))
        .filter(carts::Column::TenantId.eq(row.tenant_id))
        .filter(carts::Column::Version.eq(expected_version))
        .exec(txn)
        .await
        .map_err(db_err)?;
    if updated.rows_affected == 0 {
        return Err(StoreError::VersionConflict);
    }

    // Only the lines that changed are written. Rewriting them all made an add O(lines) in
    // written rows and index entries (a 20-line cart wrote 21 rows to add one), most of an
    // add's database cost (BENCHMARKS.md). The UPDATE above matched `stored`'s version, and
    // a cart's lines only change with its version, so `stored`'s lines are exactly the rows
    // there: the difference needs no read.
    let writes = LineWrites::between(line_rows(stored)?, lines);
    if !writes.removed.is_empty() {
        cart_lines::Entity::delete_many()
            .filter(cart_lines::Column::CartId.eq(row.id))
            .filter(cart_lines::Column::Id.is_in(writes.removed))
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    if !writes.upserted.is_empty() {
        cart_lines::Entity::insert_many(writes.upserted.into_iter().map(|l| l.into_active_model()))
            .on_conflict(
                OnConflict::column(cart_lines::Column::Id)
                    .update_columns(LineWrites::MUTABLE_COLUMNS)
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// What turns a cart's stored lines into its new ones: the ids to delete, then the rows to
/// insert or update (one statement each).
#[derive(Debug, Default, PartialEq)]
struct LineWrites {
    removed: Vec<uuid::Uuid>,
    upserted: Vec<cart_lines::Model>,
}

impl LineWrites {
    /// Every column but the line's identity (`id`, `cart_id`, `tenant_id`, `created_at`).
    const MUTABLE_COLUMNS: [cart_lines::Column; 14] = [
        cart_lines::Column::LineKey,
        cart_lines::Column::Sku,
        cart_lines::Column::Attributes,
        cart_lines::Column::Seller,
        cart_lines::Column::Fulfillment,
        cart_lines::Column::Quantity,
        cart_lines::Column::LineVersion,
        cart_lines::Column::UnitPriceMinor,
        cart_lines::Column::PriceRevision,
        cart_lines::Column::Category,
        cart_lines::Column::Title,
        cart_lines::Column::Review,
        cart_lines::Column::Position,
        cart_lines::Column::UpdatedAt,
    ];

    fn between(stored: Vec<cart_lines::Model>, wanted: Vec<cart_lines::Model>) -> Self {
        let mut stored: std::collections::HashMap<uuid::Uuid, cart_lines::Model> =
            stored.into_iter().map(|l| (l.id, l)).collect();
        // A kept line whose key changed could collide, row by row, with another line's
        // old key inside one upsert (the key is unique per cart). That only happens when a
        // merge conflict is resolved; then every line is rewritten, as before.
        let rekeyed = wanted.iter().any(|l| {
            stored
                .get(&l.id)
                .is_some_and(|old| old.line_key != l.line_key)
        });
        if rekeyed {
            return Self {
                removed: stored.into_keys().collect(),
                upserted: wanted,
            };
        }
        let upserted = wanted
            .into_iter()
            .filter(|l| stored.remove(&l.id).as_ref() != Some(l))
            .collect();
        // Left in `stored`: lines the cart no longer has. A line removed and another added
        // under the same key get different ids, so the delete runs first.
        Self {
            removed: stored.into_keys().collect(),
            upserted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(key: &str, quantity: i64, position: i32) -> cart_lines::Model {
        cart_lines::Model {
            id: uuid::Uuid::now_v7(),
            cart_id: uuid::Uuid::nil(),
            tenant_id: uuid::Uuid::nil(),
            line_key: key.into(),
            sku: key.into(),
            attributes: "{}".into(),
            seller: None,
            fulfillment: None,
            quantity,
            line_version: 1,
            unit_price_minor: 100,
            price_revision: 1,
            category: "c".into(),
            title: None,
            review: None,
            position,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn only_changed_and_new_lines_are_written_and_gone_ones_deleted() {
        let (a, b, c) = (line("a", 1, 0), line("b", 1, 1), line("c", 1, 2));
        let stored = vec![a.clone(), b.clone(), c.clone()];
        let raised = cart_lines::Model {
            quantity: 2,
            line_version: 2,
            ..b.clone()
        };
        let added = line("d", 1, 3);
        let writes = LineWrites::between(
            stored.clone(),
            vec![a.clone(), raised.clone(), c.clone(), added.clone()],
        );
        assert_eq!(writes.removed, Vec::<uuid::Uuid>::new());
        assert_eq!(writes.upserted, vec![raised, added]);

        // Removing `a` shifts the others' positions: they are rewritten, `a` deleted.
        let shifted = vec![
            cart_lines::Model {
                position: 0,
                ..b.clone()
            },
            cart_lines::Model {
                position: 1,
                ..c.clone()
            },
        ];
        let writes = LineWrites::between(stored.clone(), shifted.clone());
        assert_eq!(writes.removed, vec![a.id]);
        assert_eq!(writes.upserted, shifted);

        // Nothing changed: nothing written.
        assert_eq!(
            LineWrites::between(stored.clone(), stored.clone()),
            LineWrites::default()
        );
    }

    #[test]
    fn a_changed_line_key_rewrites_every_line() {
        let (a, b) = (line("a", 1, 0), line("b#source", 1, 1));
        let resolved = cart_lines::Model {
            line_key: "b".into(),
            ..b.clone()
        };
        let writes = LineWrites::between(
            vec![a.clone(), b.clone()],
            vec![a.clone(), resolved.clone()],
        );
        let mut removed = writes.removed.clone();
        removed.sort();
        let mut all = vec![a.id, b.id];
        all.sort();
        assert_eq!(removed, all);
        assert_eq!(writes.upserted, vec![a, resolved]);
    }
}
