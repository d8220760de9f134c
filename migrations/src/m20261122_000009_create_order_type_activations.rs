use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Plugins {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum OrderTypeActivations {
    Table,
    Id,
    TenantId,
    OrderType,
    PluginId,
    Config,
    State,
    ActiveOrderType,
    ActivatedAt,
    RetiredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OrderTypeActivations::Table)
                    // UUID v7: ids sort by creation time, which orders the history.
                    .col(
                        ColumnDef::new(OrderTypeActivations::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(OrderTypeActivations::TenantId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrderTypeActivations::OrderType)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrderTypeActivations::PluginId)
                            .uuid()
                            .not_null(),
                    )
                    // serde_json: the tenant's configuration for the plugin.
                    .col(
                        ColumnDef::new(OrderTypeActivations::Config)
                            .text()
                            .not_null(),
                    )
                    // 'active' | 'superseded' | 'rolled_back'
                    .col(
                        ColumnDef::new(OrderTypeActivations::State)
                            .text()
                            .not_null(),
                    )
                    // = order_type while the activation is active, else NULL: the unique
                    // index below then allows one active activation per order type.
                    .col(
                        ColumnDef::new(OrderTypeActivations::ActiveOrderType)
                            .text()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(OrderTypeActivations::ActivatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrderTypeActivations::RetiredAt)
                            .big_integer()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_order_type_activations_plugin_id")
                            .from(OrderTypeActivations::Table, OrderTypeActivations::PluginId)
                            .to(Plugins::Table, Plugins::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // NULLs are distinct in both SQLite and PostgreSQL, so only active rows take part
        // in this constraint.
        manager
            .create_index(
                Index::create()
                    .name("ux_order_type_activations_tenant_active")
                    .table(OrderTypeActivations::Table)
                    .col(OrderTypeActivations::TenantId)
                    .col(OrderTypeActivations::ActiveOrderType)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The history of one order type, newest first (rollback walks it).
        manager
            .create_index(
                Index::create()
                    .name("ix_order_type_activations_tenant_order_type_id")
                    .table(OrderTypeActivations::Table)
                    .col(OrderTypeActivations::TenantId)
                    .col(OrderTypeActivations::OrderType)
                    .col(OrderTypeActivations::Id)
                    .to_owned(),
            )
            .await?;
        // The foreign key's referencing side.
        manager
            .create_index(
                Index::create()
                    .name("ix_order_type_activations_plugin_id")
                    .table(OrderTypeActivations::Table)
                    .col(OrderTypeActivations::PluginId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OrderTypeActivations::Table).to_owned())
            .await
    }
}
