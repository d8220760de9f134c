use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    TenantId,
    CheckoutId,
    CartId,
    Body,
    CreatedAt,
}

/// Orders, at most one per checkout (the unique `checkout_id` is the last line of defence
/// against a duplicate order; the conditional status change of the checkout is the first).
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .col(ColumnDef::new(Orders::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Orders::TenantId).uuid().not_null())
                    .col(ColumnDef::new(Orders::CheckoutId).uuid().not_null())
                    .col(ColumnDef::new(Orders::CartId).uuid().not_null())
                    // serde_json of the `Order`.
                    .col(ColumnDef::new(Orders::Body).text().not_null())
                    .col(ColumnDef::new(Orders::CreatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_orders_checkout_id")
                    .table(Orders::Table)
                    .col(Orders::CheckoutId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_orders_tenant_cart")
                    .table(Orders::Table)
                    .col(Orders::TenantId)
                    .col(Orders::CartId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Orders::Table).to_owned())
            .await
    }
}
