use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StockHolds {
    Table,
    Id,
    TenantId,
    Sku,
    Quantity,
    Kind,
    CartId,
    LineId,
    CheckoutId,
    ExpiresAt,
    CreatedAt,
}

/// One row per unit of stock held: a reserve line's hold (`kind = 'line'`, `line_id` set)
/// or a pending checkout's reservation of one sku (`kind = 'checkout'`, `checkout_id` set).
/// `inventory.reserved` is the sum of a sku's rows; the row and the counter change in the
/// same transaction. "One line hold per (cart, line)" is kept by the store inside its
/// per-cart serialized transactions, not by a unique index (checkout rows have no line).
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(StockHolds::Table)
                    .col(
                        ColumnDef::new(StockHolds::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(StockHolds::TenantId).uuid().not_null())
                    .col(ColumnDef::new(StockHolds::Sku).text().not_null())
                    .col(
                        ColumnDef::new(StockHolds::Quantity)
                            .big_integer()
                            .not_null(),
                    )
                    // `line` | `checkout`.
                    .col(ColumnDef::new(StockHolds::Kind).text().not_null())
                    .col(ColumnDef::new(StockHolds::CartId).uuid().not_null())
                    .col(ColumnDef::new(StockHolds::LineId).uuid().null())
                    .col(ColumnDef::new(StockHolds::CheckoutId).uuid().null())
                    .col(
                        ColumnDef::new(StockHolds::ExpiresAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(StockHolds::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_stock_holds_tenant_cart")
                    .table(StockHolds::Table)
                    .col(StockHolds::TenantId)
                    .col(StockHolds::CartId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_stock_holds_checkout")
                    .table(StockHolds::Table)
                    .col(StockHolds::CheckoutId)
                    .to_owned(),
            )
            .await?;
        // For the expiry sweeper.
        manager
            .create_index(
                Index::create()
                    .name("ix_stock_holds_kind_expires_at")
                    .table(StockHolds::Table)
                    .col(StockHolds::Kind)
                    .col(StockHolds::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StockHolds::Table).to_owned())
            .await
    }
}
