use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PluginModules {
    Table,
    Sha256,
    Wasm,
    SizeBytes,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PluginModules::Table)
                    // Hex SHA-256 of the bytes: the module's content address, so the same
                    // bytes uploaded by several tenants are stored once.
                    .col(
                        ColumnDef::new(PluginModules::Sha256)
                            .text()
                            .not_null()
                            .primary_key(),
                    )
                    // `.blob()` is `blob` on SQLite and `bytea` on PostgreSQL. (`.binary()`
                    // would be `blob(1)` on SQLite and fixed-length `binary(1)` elsewhere.)
                    .col(ColumnDef::new(PluginModules::Wasm).blob().not_null())
                    .col(
                        ColumnDef::new(PluginModules::SizeBytes)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PluginModules::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PluginModules::Table).to_owned())
            .await
    }
}
