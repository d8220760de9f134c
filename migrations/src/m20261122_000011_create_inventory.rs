use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Inventory {
    Table,
    TenantId,
    Sku,
    OnHand,
    Reserved,
    UpdatedAt,
}

/// Stock per tenant and sku. A sku without a row is untracked (always available, never
/// held). No CHECK constraints: every change is one conditional UPDATE
/// (`… WHERE on_hand - reserved >= q`, `… WHERE reserved >= q`, `… WHERE reserved <= ?`)
/// that keeps `0 <= reserved <= on_hand`.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Inventory::Table)
                    .col(ColumnDef::new(Inventory::TenantId).uuid().not_null())
                    .col(ColumnDef::new(Inventory::Sku).text().not_null())
                    .col(ColumnDef::new(Inventory::OnHand).big_integer().not_null())
                    // Held by reserve lines and pending checkouts (the sum of the sku's
                    // `stock_holds`).
                    .col(ColumnDef::new(Inventory::Reserved).big_integer().not_null())
                    .col(
                        ColumnDef::new(Inventory::UpdatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .name("pk_inventory")
                            .col(Inventory::TenantId)
                            .col(Inventory::Sku),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Inventory::Table).to_owned())
            .await
    }
}
