use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CartMerges {
    Table,
    SourceCartId,
    TenantId,
    TargetCartId,
    Policy,
    Outcomes,
    CreatedAt,
}

/// One row per absorbed guest cart: merging the same source again answers this record.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CartMerges::Table)
                    .col(
                        ColumnDef::new(CartMerges::SourceCartId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(CartMerges::TenantId).uuid().not_null())
                    .col(ColumnDef::new(CartMerges::TargetCartId).uuid().not_null())
                    .col(ColumnDef::new(CartMerges::Policy).text().not_null())
                    // serde_json array of per-line outcomes.
                    .col(ColumnDef::new(CartMerges::Outcomes).text().not_null())
                    .col(
                        ColumnDef::new(CartMerges::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_cart_merges_tenant_target")
                    .table(CartMerges::Table)
                    .col(CartMerges::TenantId)
                    .col(CartMerges::TargetCartId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CartMerges::Table).to_owned())
            .await
    }
}
