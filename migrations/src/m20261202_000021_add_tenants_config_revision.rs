use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    ConfigRevision,
}

/// The revision of a tenant's config, which its `ETag` names: every config write is
/// `UPDATE … SET config_revision = config_revision + 1 WHERE config_revision = ?`, so of two
/// writers holding the same revision one wins and the other learns it lost. Existing
/// tenants start at 1, like new ones.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(
                        ColumnDef::new(Tenants::ConfigRevision)
                            .big_integer()
                            .not_null()
                            .default(1),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .drop_column(Tenants::ConfigRevision)
                    .to_owned(),
            )
            .await
    }
}
