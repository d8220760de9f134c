use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Carts {
    Table,
    Id,
    TenantId,
    CustomerId,
    ActiveCustomerId,
    CartTokenHash,
    Status,
    OrderType,
    Currency,
    Version,
    Context,
    MergedInto,
    CreatedAt,
    UpdatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Carts::Table)
                    .col(ColumnDef::new(Carts::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Carts::TenantId).uuid().not_null())
                    .col(ColumnDef::new(Carts::CustomerId).text().null())
                    // = customer_id while the cart is live ('active' | 'checking_out'), else
                    // NULL: the unique index below then allows one live cart per customer.
                    .col(ColumnDef::new(Carts::ActiveCustomerId).text().null())
                    // Guest carts: SHA-256 hex of the cart token.
                    .col(ColumnDef::new(Carts::CartTokenHash).text().null())
                    .col(ColumnDef::new(Carts::Status).text().not_null())
                    .col(ColumnDef::new(Carts::OrderType).text().null())
                    .col(ColumnDef::new(Carts::Currency).text().not_null())
                    .col(ColumnDef::new(Carts::Version).big_integer().not_null())
                    // serde_json object of string pairs.
                    .col(ColumnDef::new(Carts::Context).text().not_null())
                    .col(ColumnDef::new(Carts::MergedInto).uuid().null())
                    .col(ColumnDef::new(Carts::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Carts::UpdatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Carts::ExpiresAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_carts_tenant_id")
                    .table(Carts::Table)
                    .col(Carts::TenantId)
                    .to_owned(),
            )
            .await?;
        // NULLs are distinct in both SQLite and PostgreSQL, so only live customer carts
        // take part in this constraint.
        manager
            .create_index(
                Index::create()
                    .name("ux_carts_tenant_active_customer")
                    .table(Carts::Table)
                    .col(Carts::TenantId)
                    .col(Carts::ActiveCustomerId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // For the expiry sweeper.
        manager
            .create_index(
                Index::create()
                    .name("ix_carts_status_expires_at")
                    .table(Carts::Table)
                    .col(Carts::Status)
                    .col(Carts::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Carts::Table).to_owned())
            .await
    }
}
