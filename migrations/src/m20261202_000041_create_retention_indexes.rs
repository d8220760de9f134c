use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Carts {
    Table,
    TenantId,
    Status,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Checkouts {
    Table,
    TenantId,
    Status,
    UpdatedAt,
}

/// For the retention sweep: ended carts and checkouts of some tenants, oldest first,
/// found without scanning the live ones.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("ix_carts_tenant_status_updated_at")
                    .table(Carts::Table)
                    .col(Carts::TenantId)
                    .col(Carts::Status)
                    .col(Carts::UpdatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_checkouts_tenant_status_updated_at")
                    .table(Checkouts::Table)
                    .col(Checkouts::TenantId)
                    .col(Checkouts::Status)
                    .col(Checkouts::UpdatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_checkouts_tenant_status_updated_at")
                    .table(Checkouts::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_carts_tenant_status_updated_at")
                    .table(Carts::Table)
                    .to_owned(),
            )
            .await
    }
}
