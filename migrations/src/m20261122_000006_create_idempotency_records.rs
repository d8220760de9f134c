use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdempotencyRecords {
    Table,
    Scope,
    IdemKey,
    TenantId,
    Fingerprint,
    State,
    StatusCode,
    ContentType,
    Etag,
    Location,
    Body,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyRecords::Table)
                    .col(ColumnDef::new(IdempotencyRecords::Scope).text().not_null())
                    .col(
                        ColumnDef::new(IdempotencyRecords::IdemKey)
                            .text()
                            .not_null(),
                    )
                    .col(ColumnDef::new(IdempotencyRecords::TenantId).uuid().null())
                    .col(
                        ColumnDef::new(IdempotencyRecords::Fingerprint)
                            .text()
                            .not_null(),
                    )
                    // 'in_progress' | 'completed'
                    .col(ColumnDef::new(IdempotencyRecords::State).text().not_null())
                    .col(
                        ColumnDef::new(IdempotencyRecords::StatusCode)
                            .integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(IdempotencyRecords::ContentType)
                            .text()
                            .null(),
                    )
                    .col(ColumnDef::new(IdempotencyRecords::Etag).text().null())
                    .col(ColumnDef::new(IdempotencyRecords::Location).text().null())
                    .col(ColumnDef::new(IdempotencyRecords::Body).blob().null())
                    .col(
                        ColumnDef::new(IdempotencyRecords::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdempotencyRecords::UpdatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .name("pk_idempotency_records")
                            .col(IdempotencyRecords::Scope)
                            .col(IdempotencyRecords::IdemKey),
                    )
                    .to_owned(),
            )
            .await?;
        // For purging records older than their retention window.
        manager
            .create_index(
                Index::create()
                    .name("ix_idempotency_records_created_at")
                    .table(IdempotencyRecords::Table)
                    .col(IdempotencyRecords::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdempotencyRecords::Table).to_owned())
            .await
    }
}
