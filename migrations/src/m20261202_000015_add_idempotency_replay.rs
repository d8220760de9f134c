//! Idempotency records written by the change's own transaction (state `committed`) say how
//! a retry re-renders the answer if it was never stored: `replay` (`cart:<id>`,
//! `created_cart:<id>`, `checkout:<id>`) and `replay_secret` (a new guest cart's token,
//! shown only in that answer).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdempotencyRecords {
    Table,
    Replay,
    ReplaySecret,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for column in [IdempotencyRecords::Replay, IdempotencyRecords::ReplaySecret] {
            manager
                .alter_table(
                    Table::alter()
                        .table(IdempotencyRecords::Table)
                        .add_column(ColumnDef::new(column).text().null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [IdempotencyRecords::ReplaySecret, IdempotencyRecords::Replay] {
            manager
                .alter_table(
                    Table::alter()
                        .table(IdempotencyRecords::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
