//! A cart's save as ONE PostgreSQL statement: the version-guarded `UPDATE` of the cart,
//! the idempotency seal, the line writes, the event sequence bumps and the outbox rows,
//! chained by data-modifying CTEs.
//!
//! Why: the same save as a transaction is `BEGIN`, four to six statements and `COMMIT`,
//! each a network round trip that the request waits for and PostgreSQL plans and answers
//! separately (issue 14: a write is at most three round trips). A single statement is
//! atomic on its own (it runs in its own implicit transaction), so nothing is lost:
//!
//! - every write after the `UPDATE` reads from its `RETURNING` (`WHERE EXISTS (SELECT 1
//!   FROM saved)`), so when the version moved nothing is written and the statement answers
//!   0 rows saved ([`StoreError::VersionConflict`]);
//! - a seal whose key is already bound violates the records' primary key, which aborts
//!   the whole statement, the cart update included ([`StoreError::IdempotencyKeyTaken`]);
//! - the outbox numbers come from the sequence upsert's `RETURNING`, as in
//!   [`outbox::append`](crate::outbox).
//!
//! One shape is left to the transaction: a change that both deletes and writes lines.
//! The CTEs of one statement run in no defined order, so a new line could meet the unique
//! `(cart_id, line_key)` entry of the line it replaces before that line is deleted.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, EntityName, EntityTrait, IdenStatic, Iterable,
    ModelTrait, Statement, Value,
};
use trolley_core::StoreError;
use trolley_core::domain::{NewEvent, Seal, TenantId};

use crate::convert::from_millis;
use crate::entity::{cart_lines, carts, event_sequences, idempotency_records, outbox_events};
use crate::error::{db_err, violated_constraint};
use crate::{idempotency, outbox};

/// The primary key of `idempotency_records` (migration 000006).
const SEAL_CONSTRAINT: &str = "pk_idempotency_records";

/// What one save writes, already turned into rows.
pub(crate) struct CartSave<'a> {
    pub cart: carts::Model,
    pub expected_version: i64,
    pub removed: &'a [uuid::Uuid],
    pub upserted: &'a [cart_lines::Model],
    pub upsert_columns: &'a [cart_lines::Column],
    pub seal: Option<Seal<'a>>,
    /// The change's events; they occurred when the cart was changed (its `updated_at`).
    pub events: &'a [NewEvent],
}

impl CartSave<'_> {
    /// Whether this save can be one statement (see the module's last paragraph).
    pub fn fits(&self) -> bool {
        self.removed.is_empty() || self.upserted.is_empty()
    }

    /// Runs the save; [`StoreError::VersionConflict`] when the stored version moved.
    pub async fn run(self, db: &DatabaseConnection) -> Result<(), StoreError> {
        debug_assert!(
            self.fits(),
            "a save that deletes and writes lines needs a transaction"
        );
        let sealed = self.seal.is_some();
        let statement = self.statement()?;
        let row = db.query_one_raw(statement).await.map_err(|e| {
            if sealed && violated_constraint(&e).as_deref() == Some(SEAL_CONSTRAINT) {
                StoreError::IdempotencyKeyTaken
            } else {
                db_err(e)
            }
        })?;
        let saved: i64 = row
            .ok_or_else(|| StoreError::Internal("the cart save answered no row".into()))?
            .try_get("", "saved")
            .map_err(db_err)?;
        if saved == 0 {
            Err(StoreError::VersionConflict)
        } else {
            Ok(())
        }
    }

    fn statement(&self) -> Result<Statement, StoreError> {
        let mut sql = Sql::default();
        let cart = &self.cart;

        // The guard: everything below reads from `saved`.
        let assignments: Vec<String> = [
            carts::Column::Version,
            carts::Column::Status,
            carts::Column::OrderType,
            carts::Column::Currency,
            carts::Column::Context,
            carts::Column::MergedInto,
            carts::Column::CustomerId,
            carts::Column::ActiveCustomerId,
            carts::Column::CartTokenHash,
            carts::Column::UpdatedAt,
            carts::Column::ExpiresAt,
        ]
        .into_iter()
        .map(|column| format!("{} = {}", column.as_str(), sql.bind(cart.get(column))))
        .collect();
        let mut ctes = vec![format!(
            "saved AS (UPDATE carts SET {} WHERE id = {} AND tenant_id = {} AND version = {} \
             RETURNING id)",
            assignments.join(", "),
            sql.bind(cart.id.into()),
            sql.bind(cart.tenant_id.into()),
            sql.bind(self.expected_version.into()),
        )];

        if let Some(seal) = self.seal {
            let row = idempotency::sealed_row(seal);
            ctes.push(format!(
                "sealed AS ({})",
                sql.insert_rows::<idempotency_records::Entity>(&[row], None)
            ));
        }

        if !self.removed.is_empty() {
            let ids: Vec<String> = self
                .removed
                .iter()
                .map(|id| sql.bind((*id).into()))
                .collect();
            ctes.push(format!(
                "removed AS (DELETE FROM cart_lines WHERE cart_id = {} AND id IN ({}) \
                 AND EXISTS (SELECT 1 FROM saved))",
                sql.bind(cart.id.into()),
                ids.join(", "),
            ));
        }

        if !self.upserted.is_empty() {
            let updates: Vec<String> = self
                .upsert_columns
                .iter()
                .map(|c| format!("{0} = EXCLUDED.{0}", c.as_str()))
                .collect();
            ctes.push(format!(
                "written AS ({} ON CONFLICT (id) DO UPDATE SET {})",
                sql.insert_rows::<cart_lines::Entity>(self.upserted, None),
                updates.join(", "),
            ));
        }

        let tenant_id = TenantId(self.cart.tenant_id);
        let occurred_at = from_millis(self.cart.updated_at, "carts.updated_at")?;
        for (k, batch) in outbox::batches(tenant_id, self.events, occurred_at)?
            .into_iter()
            .enumerate()
        {
            let n = i64::try_from(batch.rows.len())
                .map_err(|_| StoreError::Internal("too many events in one change".into()))?;
            let (tenant, subject, count) = (
                sql.bind(tenant_id.0.into()),
                sql.bind(batch.subject.into()),
                sql.bind(n.into()),
            );
            ctes.push(format!(
                "numbered{k} AS (INSERT INTO {table} (tenant_id, subject, last_sequence) \
                 SELECT {tenant}, {subject}, {count} WHERE EXISTS (SELECT 1 FROM saved) \
                 ON CONFLICT (tenant_id, subject) DO UPDATE \
                 SET last_sequence = {table}.last_sequence + EXCLUDED.last_sequence \
                 RETURNING last_sequence)",
                table = event_sequences::Entity.table_name(),
            ));
            // Each row's `sequence` is its place in the batch (1..=n): the numbers taken
            // end at `last_sequence`.
            let sequence = (
                outbox_events::Column::Sequence,
                format!("numbered{k}.last_sequence - {count} + v.sequence"),
            );
            ctes.push(format!(
                "events{k} AS ({})",
                sql.insert_rows::<outbox_events::Entity>(
                    &batch.rows,
                    Some((&format!("numbered{k}"), sequence))
                )
            ));
        }

        let text = format!(
            "WITH {} SELECT count(*) AS saved FROM saved",
            ctes.join(",\n")
        );
        Ok(Statement::from_sql_and_values(
            DbBackend::Postgres,
            text,
            sql.values,
        ))
    }
}

/// Statement text with its positional parameters.
#[derive(Default)]
struct Sql {
    values: Vec<Value>,
}

impl Sql {
    /// Adds a parameter; answers its placeholder.
    fn bind(&mut self, value: Value) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    /// `INSERT INTO <table> (<every column>) SELECT … FROM (VALUES …) AS v WHERE EXISTS
    /// (SELECT 1 FROM saved)`, every value a typed parameter. `computed` joins another CTE
    /// and replaces one column's value with an expression over it.
    fn insert_rows<E: EntityTrait>(
        &mut self,
        rows: &[E::Model],
        computed: Option<(&str, (E::Column, String))>,
    ) -> String {
        let columns: Vec<E::Column> = E::Column::iter().collect();
        let names: Vec<&str> = columns.iter().map(|c| c.as_str()).collect();
        let tuples: Vec<String> = rows
            .iter()
            .map(|row| {
                let values: Vec<String> = columns.iter().map(|c| self.bind(row.get(*c))).collect();
                format!("({})", values.join(", "))
            })
            .collect();
        let (from, picked): (String, Vec<String>) = match &computed {
            Some((cte, (column, expression))) => (
                format!("{cte}, "),
                names
                    .iter()
                    .map(|name| {
                        if *name == column.as_str() {
                            expression.clone()
                        } else {
                            format!("v.{name}")
                        }
                    })
                    .collect(),
            ),
            None => (
                String::new(),
                names.iter().map(|name| format!("v.{name}")).collect(),
            ),
        };
        format!(
            "INSERT INTO {table} ({names}) SELECT {picked} FROM {from}(VALUES {tuples}) \
             AS v ({names}) WHERE EXISTS (SELECT 1 FROM saved)",
            table = E::default().table_name(),
            names = names.join(", "),
            picked = picked.join(", "),
            tuples = tuples.join(", "),
        )
    }
}
