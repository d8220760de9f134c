use sea_orm_migration::prelude::*;

/// Run records of plugin calls (SPEC §14): indexed columns to list a tenant's runs of an
/// order type newest first, and the whole record as one JSON document (it is only ever read
/// whole, and its shape follows the contract, not queries).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PluginRuns {
    Table,
    Id,
    TenantId,
    OrderType,
    Failed,
    CreatedAt,
    Record,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PluginRuns::Table)
                    .if_not_exists()
                    // UUID v7: sorts by creation time.
                    .col(
                        ColumnDef::new(PluginRuns::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PluginRuns::TenantId).uuid().not_null())
                    .col(ColumnDef::new(PluginRuns::OrderType).text().not_null())
                    .col(ColumnDef::new(PluginRuns::Failed).boolean().not_null())
                    .col(
                        ColumnDef::new(PluginRuns::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(PluginRuns::Record).text().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_plugin_runs_tenant_order_type_failed_id")
                    .table(PluginRuns::Table)
                    .col(PluginRuns::TenantId)
                    .col(PluginRuns::OrderType)
                    .col(PluginRuns::Failed)
                    .col(PluginRuns::Id)
                    .to_owned(),
            )
            .await?;
        // The per-tenant bound counts runs across order types.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_plugin_runs_tenant_failed_id")
                    .table(PluginRuns::Table)
                    .col(PluginRuns::TenantId)
                    .col(PluginRuns::Failed)
                    .col(PluginRuns::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PluginRuns::Table).to_owned())
            .await
    }
}
