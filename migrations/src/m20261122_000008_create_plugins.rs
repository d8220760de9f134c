use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PluginModules {
    Table,
    Sha256,
}

#[derive(DeriveIden)]
enum Plugins {
    Table,
    Id,
    TenantId,
    Sha256,
    OrderType,
    Name,
    Version,
    ConfigSchema,
    SizeBytes,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Plugins::Table)
                    .col(ColumnDef::new(Plugins::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Plugins::TenantId).uuid().not_null())
                    .col(ColumnDef::new(Plugins::Sha256).text().not_null())
                    // What the module's `describe` answered.
                    .col(ColumnDef::new(Plugins::OrderType).text().not_null())
                    .col(ColumnDef::new(Plugins::Name).text().not_null())
                    .col(ColumnDef::new(Plugins::Version).text().not_null())
                    // serde_json: the JSON Schema of the tenant configuration.
                    .col(ColumnDef::new(Plugins::ConfigSchema).text().not_null())
                    .col(ColumnDef::new(Plugins::SizeBytes).big_integer().not_null())
                    .col(ColumnDef::new(Plugins::CreatedAt).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_plugins_sha256")
                            .from(Plugins::Table, Plugins::Sha256)
                            .to(PluginModules::Table, PluginModules::Sha256),
                    )
                    .to_owned(),
            )
            .await?;
        // One record per tenant and module: uploading the same bytes again is a no-op
        // (`INSERT … ON CONFLICT (tenant_id, sha256) DO NOTHING`).
        manager
            .create_index(
                Index::create()
                    .name("ux_plugins_tenant_sha256")
                    .table(Plugins::Table)
                    .col(Plugins::TenantId)
                    .col(Plugins::Sha256)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_plugins_tenant_order_type")
                    .table(Plugins::Table)
                    .col(Plugins::TenantId)
                    .col(Plugins::OrderType)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Plugins::Table).to_owned())
            .await
    }
}
