use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CatalogItems {
    Table,
    TenantId,
    Sku,
    PriceMinor,
    Currency,
    PriceRevision,
    Category,
    Seller,
    Attributes,
    ClaimPolicy,
    Title,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CatalogItems::Table)
                    .col(ColumnDef::new(CatalogItems::TenantId).uuid().not_null())
                    .col(ColumnDef::new(CatalogItems::Sku).text().not_null())
                    // Integer minor units of `currency`.
                    .col(
                        ColumnDef::new(CatalogItems::PriceMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(CatalogItems::Currency).text().not_null())
                    // 1 on first insert; +1 on every price change.
                    .col(
                        ColumnDef::new(CatalogItems::PriceRevision)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(CatalogItems::Category).text().not_null())
                    .col(ColumnDef::new(CatalogItems::Seller).text().null())
                    // serde_json object of string pairs.
                    .col(ColumnDef::new(CatalogItems::Attributes).text().not_null())
                    .col(ColumnDef::new(CatalogItems::ClaimPolicy).text().null())
                    .col(ColumnDef::new(CatalogItems::Title).text().null())
                    .col(
                        ColumnDef::new(CatalogItems::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CatalogItems::UpdatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .name("pk_catalog_items")
                            .col(CatalogItems::TenantId)
                            .col(CatalogItems::Sku),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CatalogItems::Table).to_owned())
            .await
    }
}
