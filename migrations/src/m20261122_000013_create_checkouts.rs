use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Checkouts {
    Table,
    Id,
    TenantId,
    CartId,
    CartVersion,
    Status,
    Snapshot,
    OrderId,
    ExpiresAt,
    CreatedAt,
    UpdatedAt,
}

/// Checkout snapshots and where they stand. The snapshot is written once and never
/// rewritten; only `status`, `order_id` and `updated_at` change.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Checkouts::Table)
                    .col(
                        ColumnDef::new(Checkouts::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Checkouts::TenantId).uuid().not_null())
                    .col(ColumnDef::new(Checkouts::CartId).uuid().not_null())
                    .col(
                        ColumnDef::new(Checkouts::CartVersion)
                            .big_integer()
                            .not_null(),
                    )
                    // `pending` | `completed` | `cancelled` | `expired`.
                    .col(ColumnDef::new(Checkouts::Status).text().not_null())
                    // serde_json of the `CheckoutSnapshot`.
                    .col(ColumnDef::new(Checkouts::Snapshot).text().not_null())
                    .col(ColumnDef::new(Checkouts::OrderId).uuid().null())
                    .col(
                        ColumnDef::new(Checkouts::ExpiresAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Checkouts::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Checkouts::UpdatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_checkouts_tenant_cart")
                    .table(Checkouts::Table)
                    .col(Checkouts::TenantId)
                    .col(Checkouts::CartId)
                    .to_owned(),
            )
            .await?;
        // For the expiry sweeper.
        manager
            .create_index(
                Index::create()
                    .name("ix_checkouts_status_expires_at")
                    .table(Checkouts::Table)
                    .col(Checkouts::Status)
                    .col(Checkouts::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Checkouts::Table).to_owned())
            .await
    }
}
