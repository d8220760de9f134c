use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Name,
    Currency,
    Status,
    CustomerTokenSecret,
    Config,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .col(ColumnDef::new(Tenants::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Tenants::Name).text().not_null())
                    // ISO 4217 code.
                    .col(ColumnDef::new(Tenants::Currency).text().not_null())
                    // 'active' | 'suspended'
                    .col(ColumnDef::new(Tenants::Status).text().not_null())
                    .col(
                        ColumnDef::new(Tenants::CustomerTokenSecret)
                            .text()
                            .not_null(),
                    )
                    // serde_json of TenantConfig.
                    .col(ColumnDef::new(Tenants::Config).text().not_null())
                    .col(ColumnDef::new(Tenants::CreatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Tenants::Table).to_owned())
            .await
    }
}
